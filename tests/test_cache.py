"""Tests of jitgraph/cache.py (the compiled-code cache) and the `jitgraph cache` commands.

Every load here that must read the disk goes through a cache without its in-process layer
(``memory_limit=0``), so that a passing load proves the entry on disk is good.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pytest

import jitgraph
import jitgraph.cache as cache_module
from jitgraph.__main__ import main
from jitgraph.cache import (
    MAGIC,
    SCHEMA_VERSION,
    TEMPORARY_PREFIX,
    CacheKey,
    CacheWarning,
    CompiledCodeCache,
    cache_key,
    get_cache,
)
from jitgraph.config import config

REPOSITORY = Path(__file__).resolve().parents[1]
TARGET = "x86_64-unknown-linux-gnu/skylake-avx512/+avx,+avx2,+fma/llvm-20.1.0/llvmlite-0.47.0"
IS_ROOT = os.name == "posix" and os.geteuid() == 0
NOBODY = 65534


def make_key(**changes: str) -> CacheKey:
    ingredients = {
        "graph": "5d1e0c7a graph hash",
        "inputs": "float64[:], float64[:]",
        "backend": "llvm",
        "target": TARGET,
    }
    ingredients.update(changes)
    return cache_key(**ingredients)


def disk_only(directory: Path | str, **options: int) -> CompiledCodeCache:
    """A cache that reads the disk on every load (no in-process layer, no size cap)."""
    settings = {"size_cap": 0, "memory_limit": 0, **options}
    return CompiledCodeCache(str(directory), enabled=True, **settings)


def cache_warnings(record: list[warnings.WarningMessage]) -> list[str]:
    return [str(item.message) for item in record if issubclass(item.category, CacheWarning)]


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "cache"


# -- keys -----------------------------------------------------------------------------------------


def test_key_digest_covers_every_ingredient(monkeypatch: pytest.MonkeyPatch) -> None:
    base = make_key()
    assert make_key() == base and len(base.digest) == 64
    int(base.digest, 16)
    changed = {make_key(**{name: "other"}).digest for name in ("graph", "inputs", "backend")}
    changed |= {make_key(target="other").digest, make_key(extra="fastmath").digest}
    assert base.digest not in changed and len(changed) == 5
    assert base.ingredients["jitgraph_version"] == jitgraph.__version__
    assert base.ingredients["schema_version"] == str(SCHEMA_VERSION)
    monkeypatch.setattr(cache_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    assert make_key().digest != base.digest


def test_key_ingredients_must_be_text() -> None:
    with pytest.raises(TypeError, match="inputs must be a str; got tuple"):
        cache_key(graph="g", inputs=("float64",), backend="llvm", target="t")  # type: ignore[arg-type]


# -- storing and loading --------------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o277])
def test_directory_is_created_private_whatever_the_umask(directory: Path, umask: int) -> None:
    previous_umask = os.umask(umask)
    try:
        assert disk_only(directory / "nested").store(make_key(), b"code")
    finally:
        os.umask(previous_umask)
    assert stat.S_IMODE((directory / "nested").stat().st_mode) == 0o700
    assert disk_only(directory / "nested").load(make_key()) == b"code"


def test_round_trip_through_disk(directory: Path) -> None:
    key, payload = make_key(), os.urandom(5000) + b"\x00"
    assert disk_only(directory).store(key, payload)
    [entry] = os.listdir(directory)
    assert stat.S_IMODE((directory / entry).stat().st_mode) == 0o600
    reader = disk_only(directory)
    assert reader.load(key) == payload
    assert reader.load(make_key(inputs="float32[:], float32[:]")) is None
    assert reader.stats() == {
        "memory_hits": 0,
        "disk_hits": 1,
        "hits": 1,
        "misses": 1,
        "stores": 0,
        "failed_stores": 0,
        "evictions": 0,
    }


def test_memory_layer_answers_without_the_disk_and_is_bounded(directory: Path) -> None:
    cache = CompiledCodeCache(str(directory), size_cap=0, enabled=True)
    key = make_key()
    assert cache.store(key, b"object code")
    os.unlink(cache.path_of(key))
    assert cache.load(key) == b"object code"
    assert cache.stats()["memory_hits"] == 1 and cache.stats()["disk_hits"] == 0

    small = CompiledCodeCache(str(directory), size_cap=0, enabled=True, memory_limit=100)
    keys = [make_key(graph=f"graph {index}") for index in range(3)]
    for index, each in enumerate(keys):
        assert small.store(each, bytes([index]) * 60)
        os.unlink(small.path_of(each))
    assert small.load(keys[0]) is None  # dropped: 3 x 60 bytes do not fit in 100
    assert small.load(keys[2]) == bytes([2]) * 60
    assert small.info()["memory_bytes"] <= 100


def test_every_truncation_is_a_miss_and_the_entry_is_stored_again(directory: Path) -> None:
    cache, key, payload = disk_only(directory), make_key(), b"0123456789" * 4
    assert cache.store(key, payload)
    path = Path(cache.path_of(key))
    data = path.read_bytes()
    for length in range(len(data)):
        path.write_bytes(data[:length])
        assert cache.load(key) is None, length
        assert not path.exists()  # the bad entry is removed
    path.write_bytes(data[:-1])
    assert cache.load(key) is None
    assert "truncated (39 payload bytes, header says 40)" in cache.explain(key)
    assert cache.store(key, payload) and cache.load(key) == payload


def test_every_corrupted_byte_is_a_miss(directory: Path) -> None:
    cache, key, payload = disk_only(directory), make_key(), b"0123456789" * 4
    assert cache.store(key, payload)
    path = Path(cache.path_of(key))
    data = path.read_bytes()
    for position in range(len(data)):
        corrupt = bytearray(data)
        corrupt[position] ^= 0xFF
        path.write_bytes(bytes(corrupt))
        assert cache.load(key) is None, position
    path.write_bytes(data[:-1] + b"!")
    assert cache.load(key) is None
    assert "corrupt (payload SHA-256 checksum mismatch)" in cache.explain(key)
    # A header edit that stays valid JSON: the entry holds another key.
    path.write_bytes(data.replace(b'"backend":"llvm"', b'"backend":"cuda"'))
    assert cache.load(key) is None
    assert "holds another key (backend: 'llvm' now, 'cuda' in the entry)" in cache.explain(key)
    assert cache.store(key, payload) and cache.load(key) == payload


def rewrite_header(path: Path, **changes: object) -> None:
    data = path.read_bytes()
    size = int.from_bytes(data[8:12], "little")
    header = json.loads(data[12 : 12 + size]) | changes
    encoded = json.dumps(header).encode()
    path.write_bytes(MAGIC + len(encoded).to_bytes(4, "little") + encoded + data[12 + size :])


def test_entry_of_another_schema_at_the_same_path_is_a_miss(directory: Path) -> None:
    cache, key = disk_only(directory), make_key()
    assert cache.store(key, b"code")
    path = Path(cache.path_of(key))
    rewrite_header(path, payload_size=4)  # a faithful re-encoding still loads
    assert cache.load(key) == b"code"
    rewrite_header(path, schema=SCHEMA_VERSION + 1)
    assert cache.load(key) is None and not path.exists()
    expected = f"written with cache schema version {SCHEMA_VERSION + 1}; this jitgraph uses"
    assert expected in cache.explain(key)


def test_version_upgrade_changes_the_digest_and_explain_names_it(
    directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, old_key = disk_only(directory), make_key()
    assert cache.store(old_key, b"old code")
    monkeypatch.setattr(jitgraph, "__version__", "99.0.0")
    new_key = make_key()
    assert new_key.digest != old_key.digest
    assert cache.load(new_key) is None
    explanation = cache.explain(new_key)
    assert "the closest entry for the same graph differs in jitgraph version" in explanation
    assert f"'99.0.0' now, '{old_key.ingredients['jitgraph_version']}' in the entry" in explanation


def test_explain_names_the_ingredients_that_differ(directory: Path) -> None:
    cache = disk_only(directory)
    assert cache.store(make_key(), b"code")
    other = make_key(inputs="float32[:], float32[:]", target=TARGET.replace("20.1.0", "19.1.7"))
    assert cache.load(other) is None
    explanation = cache.explain(other)
    assert "target (CPU, features, LLVM version): 'llvm-19.1.7' now, 'llvm-20.1.0'" in explanation
    assert "input types: 'float32[:], float32[:]' now, 'float64[:], float64[:]'" in explanation
    assert "jitgraph version" not in explanation

    def json_target(cpu: str, features: str) -> str:
        return json.dumps({"cpu": cpu, "features": features, "llvm": "20.1"})

    assert cache.store(make_key(graph="g2", target=json_target("skylake", "+avx,+sse")), b"x")
    znver = make_key(graph="g2", target=json_target("znver4", "+avx,+avx512f"))
    assert cache.load(znver) is None
    explanation = cache.explain(znver)
    assert "cpu 'znver4' now, 'skylake' in the entry" in explanation
    assert "features +avx512f only now, +sse only in the entry" in explanation

    unknown = make_key(graph="never compiled")
    assert cache.load(unknown) is None
    assert "no entry for this graph in" in cache.explain(unknown)


def test_explain_reports_the_last_miss_after_the_store_that_follows_it(directory: Path) -> None:
    cache, key = disk_only(directory), make_key()
    assert "a lookup now would miss: no entry for this graph" in cache.explain(key)
    assert cache.load(key) is None
    assert cache.store(key, b"code")  # what a compiler does right after a miss
    assert cache.explain(key).startswith("the last lookup missed: no entry for this graph")
    assert cache.load(key) == b"code"
    assert cache.explain(key).startswith("a lookup now would hit (a valid entry:")


def test_disabled_cache_neither_loads_nor_stores(directory: Path) -> None:
    cache = CompiledCodeCache(str(directory), enabled=False)
    assert not cache.store(make_key(), b"code") and not directory.exists()
    assert cache.load(make_key()) is None
    assert "the cache is disabled (config.cache is False)" in cache.explain(make_key())
    with config.change_flags(cache_dir=str(directory), cache=False):
        assert get_cache().load(make_key()) is None
        assert "disabled" in get_cache().explain(make_key())
    with config.change_flags(cache_dir=str(directory)):
        assert get_cache().enabled and get_cache().store(make_key(), b"code")


def test_get_cache_follows_the_flags(tmp_path: Path) -> None:
    with config.change_flags(cache_dir=str(tmp_path / "a"), cache_size_cap=1234):
        first = get_cache()
        assert get_cache() is first and first.directory == str(tmp_path / "a")
        assert first.size_cap == 1234
        with config.change_flags(cache_dir=str(tmp_path / "b")):
            assert get_cache().directory == str(tmp_path / "b")
        assert get_cache().directory == str(tmp_path / "a")


# -- several processes at once --------------------------------------------------------------------

WORKER = """
import os, sys, time, warnings
from jitgraph.cache import CacheWarning, CompiledCodeCache, cache_key
warnings.simplefilter("error", CacheWarning)
directory, start_file = sys.argv[1], sys.argv[2]
keys = [cache_key(graph=f"shared {i}", inputs="f8", backend="llvm", target="t") for i in range(3)]
payloads = [bytes([i]) * (300_000 + i) for i in range(3)]  # the same code in every process
while not os.path.exists(start_file):
    time.sleep(0.002)
bad, hits = [], 0
for round_number in range(20):
    cache = CompiledCodeCache(directory, size_cap=0, enabled=True, memory_limit=0)
    mine = round_number % 3
    if not cache.store(keys[mine], payloads[mine]):
        bad.append(f"store {mine} failed")
    for index, key in enumerate(keys):
        loaded = cache.load(key)
        if loaded == payloads[index]:
            hits += 1
        elif loaded is not None or index == mine or "no entry" not in cache.explain(key):
            bad.append(f"round {round_number} key {index}: {cache.explain(key)}")
print(hits, bad)
"""


def test_processes_storing_and_loading_the_same_keys_at_once(tmp_path: Path) -> None:
    directory, start_file = tmp_path / "shared", tmp_path / "start"
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(directory), str(start_file)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        for _ in range(4)
    ]
    time.sleep(0.3)  # let them import, so that their rounds overlap
    start_file.touch()
    for worker in workers:
        output, errors = worker.communicate(timeout=120)
        assert worker.returncode == 0, errors
        hits, bad = output.split(" ", 1)
        assert bad.strip() == "[]", bad
        assert int(hits) >= 20
    assert not [name for name in os.listdir(directory) if name.startswith(TEMPORARY_PREFIX)]
    assert len(disk_only(directory).entries()) == 3


# -- directories that cannot be written -----------------------------------------------------------


def test_directory_that_cannot_be_created_warns_once(tmp_path: Path) -> None:
    (tmp_path / "a file").write_text("in the way")
    directory = tmp_path / "a file" / "cache"
    cache = disk_only(directory)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert [cache.store(make_key(graph=f"g{i}"), b"code") for i in range(3)] == [False] * 3
        assert cache.load(make_key()) is None
        assert not disk_only(directory).store(make_key(), b"code")  # a second instance too
    [message] = cache_warnings(record)
    assert f"cannot write to the cache directory {directory}" in message
    assert "compiled code is not cached (it still runs)" in message
    assert cache.stats()["failed_stores"] == 3


def store_as(user: int | None, directory: str) -> dict[str, object]:
    """Store and load in a forked child (running as ``user`` when given): what happened."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child reports through the pipe)
        try:
            os.close(read_end)
            if user is not None:
                os.setgid(user)
                os.setuid(user)
            with warnings.catch_warnings(record=True) as record:
                warnings.simplefilter("always")
                cache = disk_only(directory)
                stored = [cache.store(make_key(), b"code") for _ in range(3)]
                loaded = cache.load(make_key())
            result = {"stored": stored, "loaded": loaded is not None}
            result |= {"warnings": cache_warnings(record), "files": os.listdir(directory)}
            os.write(write_end, json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        output = pipe.read()
    os.waitpid(child, 0)
    return dict(json.loads(output))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_unwritable_directory_runs_warns_once_and_does_not_cache() -> None:
    # Root may write anywhere: then the check runs as 'nobody', who owns the directory (in a
    # base directory 'nobody' can traverse, which pytest's private tmp_path is not).
    user = NOBODY if IS_ROOT else None
    with tempfile.TemporaryDirectory(prefix="jitgraph-cache-test-") as base:
        os.chmod(base, 0o711)
        directory = os.path.join(base, "read-only")
        os.mkdir(directory, 0o700)
        if user is not None:
            os.chown(directory, user, user)
        os.chmod(directory, 0o500)
        try:
            outcome = store_as(user, directory)
        finally:
            os.chmod(directory, 0o700)
    assert outcome["stored"] == [False] * 3 and not outcome["loaded"] and outcome["files"] == []
    messages = outcome["warnings"]
    assert isinstance(messages, list) and len(messages) == 1
    assert f"cannot write to the cache directory {directory} (PermissionError" in messages[0]


def test_full_disk_warns_once_and_leaves_no_partial_file(
    directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, key = disk_only(directory), make_key()
    assert cache.store(key, b"good code")

    def write_until_full(descriptor: int, data: bytes) -> None:
        os.write(descriptor, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(cache_module, "_write_file", write_until_full)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert not cache.store(key, b"new code" * 1000)
        assert not cache.store(make_key(graph="other"), b"other code" * 1000)
    [message] = cache_warnings(record)
    assert f"the disk holding {directory} is full" in message
    assert os.listdir(directory) == [os.path.basename(cache.path_of(key))]
    assert disk_only(directory).load(key) == b"good code"  # the old entry is intact


# -- trust ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o777])
def test_directory_writable_by_others_is_refused(directory: Path, mode: int) -> None:
    key = make_key()
    assert disk_only(directory).store(key, b"code")
    os.chmod(directory, mode)
    cache = disk_only(directory)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert cache.load(key) is None
        assert not cache.store(key, b"code")
        assert cache.load(key) is None
    [message] = cache_warnings(record)
    assert f"the cache directory {directory} is writable by group or others" in message
    assert "not loaded from it or stored in it (it is compiled instead)" in message
    assert "writable by group or others" in cache.explain(key)
    assert cache.info()["trusted"] is False
    os.chmod(directory, 0o700)
    assert cache.load(key) == b"code"


def test_directory_owned_by_another_user_is_refused(
    directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = make_key()
    assert disk_only(directory).store(key, b"code")
    if IS_ROOT:
        os.chown(directory, NOBODY, NOBODY)
    else:  # only root can give a directory away: pretend to be someone else instead
        monkeypatch.setattr(cache_module, "_effective_uid", lambda: os.geteuid() + 1)
    cache = disk_only(directory)
    with pytest.warns(CacheWarning, match=r"is owned by uid \d+, not by this user"):
        assert cache.load(key) is None
    assert "not by this user" in cache.explain(key)


def make_entry_untrusted(path: Path, how: str) -> None:
    if how == "writable by others":
        os.chmod(path, 0o666)
    elif how == "another owner":
        if not IS_ROOT:
            pytest.skip("only root can give a file to another user")
        os.chown(path, NOBODY, NOBODY)
    else:  # a symbolic link planted in place of the entry, to a valid entry elsewhere
        os.replace(path, path.with_name("elsewhere"))
        path.symlink_to(path.with_name("elsewhere"))


@pytest.mark.parametrize("how", ["writable by others", "another owner", "symbolic link"])
def test_untrusted_entry_is_refused_then_replaced_by_the_next_store(
    directory: Path, how: str
) -> None:
    key = make_key()
    assert disk_only(directory).store(key, b"code")
    path = Path(disk_only(directory).path_of(key))
    make_entry_untrusted(path, how)
    cache = disk_only(directory)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert cache.load(key) is None
        assert cache.load(key) is None
    [message] = cache_warnings(record)
    assert str(path) in message and os.path.lexists(path)  # refused, not deleted
    assert f"the entry {path} was not loaded" in cache.explain(key)
    assert cache.store(key, b"recompiled")  # the compiler's store replaces it atomically
    assert not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert disk_only(directory).load(key) == b"recompiled"


# -- size cap -------------------------------------------------------------------------------------


def test_least_recently_used_entries_are_evicted_under_the_size_cap(directory: Path) -> None:
    keys = [make_key(graph=f"graph {index}") for index in range(4)]
    writer = disk_only(directory)
    for key in keys[:3]:
        assert writer.store(key, os.urandom(1000))
    now = time.time()
    for age, key in zip((300, 200, 100), keys[:3]):  # stored in this order, long ago
        os.utime(writer.path_of(key), (now - age, now - age))
    assert writer.load(keys[0]) is not None  # now the most recently used of the three
    entry_size = os.path.getsize(writer.path_of(keys[0]))
    capped = disk_only(directory, size_cap=3 * entry_size + entry_size // 2)
    assert capped.store(keys[3], os.urandom(1000))
    remaining = {entry.digest for entry in capped.entries()}
    assert remaining == {keys[0].digest, keys[2].digest, keys[3].digest}
    assert capped.stats()["evictions"] == 1
    assert capped.info()["total_bytes"] <= capped.size_cap
    assert capped.load(keys[1]) is None


def test_an_entry_larger_than_the_cap_is_not_kept(directory: Path) -> None:
    cache = disk_only(directory, size_cap=500)
    assert cache.store(make_key(graph="small"), b"s")
    assert not cache.store(make_key(graph="large"), b"L" * 1000)
    assert [entry.digest for entry in cache.entries()] == [make_key(graph="small").digest]


# -- management and the command line --------------------------------------------------------------


def test_info_entries_and_clear(directory: Path) -> None:
    cache = CompiledCodeCache(str(directory), size_cap=10**6, enabled=True)
    for index in range(3):
        assert cache.store(make_key(graph=f"graph {index}"), b"code" * 100)
    stale = directory / f"{TEMPORARY_PREFIX}crashed-writer.partial"
    stale.write_bytes(b"half an entry")
    (directory / "notes.txt").write_text("not an entry")
    info = cache.info()
    assert info["entries"] == 3 and info["size_cap"] == 10**6 and info["trusted"] is True
    assert info["total_bytes"] == sum(entry.size for entry in cache.entries())
    assert info["directory"] == str(directory) and info["memory_entries"] == 3
    assert cache.clear() == 3
    assert cache.entries() == [] and cache.load(make_key(graph="graph 0")) is None
    assert sorted(os.listdir(directory)) == ["notes.txt"]


def test_cli_cache_info_why_and_clear(directory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with config.change_flags(cache_dir=str(directory)):
        assert main(["cache", "info"]) == 0
        output = capsys.readouterr().out
        assert f"location    {directory}" in output and "entries     0" in output
        assert "it is created 0700 on first store" in output
        key = make_key()
        assert get_cache().store(key, b"x" * 2000)
        assert main(["cache", "info"]) == 0
        output = capsys.readouterr().out
        assert "entries     1" in output and "trusted     yes" in output
        assert "size cap    1.0 GiB (1073741824 bytes)" in output
        assert main(["cache", "why", key.digest[:12]]) == 0
        output = capsys.readouterr().out
        assert key.digest in output and "valid: a lookup of its key loads it" in output
        assert "input types: float64[:], float64[:]" in output
        path = Path(get_cache().path_of(key))
        path.write_bytes(path.read_bytes()[:-1] + b"?")
        assert main(["cache", "why", key.digest[:12]]) == 0
        assert "corrupt (payload SHA-256 checksum mismatch)" in capsys.readouterr().out
        missing = ("0" if key.digest[0] != "0" else "1") + key.digest[1:12]
        assert main(["cache", "why", missing]) == 1
        assert "no entry whose key digest starts with" in capsys.readouterr().out
        os.chmod(directory, 0o777)
        assert main(["cache", "info"]) == 0
        assert "trusted     no: the cache directory" in capsys.readouterr().out
        os.chmod(directory, 0o700)
        assert main(["cache", "clear"]) == 0
        assert f"removed 1 entry from {directory}" in capsys.readouterr().out
    assert main(["info"]) == 0 and "cache_size_cap" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["cache"])
