"""The cache of compiled code: on disk, shared by processes, with an in-process layer.

A payload (opaque bytes: object code for the LLVM backend) is stored under a :class:`CacheKey`
whose digest covers everything that changes the code: the graph hash, the input types, the
backend, the target (triple, CPU, features, LLVM version), the jitgraph version and
:data:`SCHEMA_VERSION`. The cache lives in ``config.cache_dir`` (``$JITGRAPH_CACHE_DIR``, else
``~/.cache/jitgraph``); ``get_cache()`` returns the one for the current flag.

Contract of :class:`CompiledCodeCache`:

- ``load(key)`` returns the payload of a valid entry, else ``None``; ``store(key, payload)``
  returns whether the entry is now on disk. Neither raises for filesystem trouble or a bad
  entry; ``explain(key)`` says in the user's terms why a lookup missed.
- Entries are written atomically (a temporary file in the cache directory, then
  ``os.replace``), so concurrent writers and readers of one key never see a partial entry.
- An entry starts with a header (magic, schema version, every key ingredient, payload size and
  SHA-256) that is re-verified on every load: a truncated, corrupt or foreign entry is a miss
  and is removed (the caller compiles and stores it again).
- The cache holds native code, so it is used only while private: the directory is created
  0700; a directory or entry writable by group or others, or owned by another user, is refused
  (a miss, and a :class:`CacheWarning` once per process and problem).
- After a store, least recently used entries are evicted until the directory holds at most
  ``config.cache_size_cap`` bytes (0 = no cap); a load marks its entry used (its mtime).
- Keys loaded or stored in this process are answered from memory (bounded); ``stats()``
  counts hits and misses.

Example:
    >>> import tempfile
    >>> cache = CompiledCodeCache(tempfile.mkdtemp(), size_cap=0, enabled=True)
    >>> key = cache_key(graph="9f2c", inputs="float64[:]", backend="llvm", target="x86_64")
    >>> cache.load(key) is None
    True
    >>> cache.store(key, b"object code")
    True
    >>> cache.load(key)
    b'object code'
"""

from __future__ import annotations

import collections
import contextlib
import errno
import hashlib
import json
import os
import re
import stat
import struct
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypedDict

from jitgraph.config import config

SCHEMA_VERSION = 1
"""Version of the entry format and key recipe; bumping it makes every old entry a miss."""

MAGIC = b"JGCACHE\x00"
ENTRY_SUFFIX = ".jgc"
TEMPORARY_PREFIX = ".tmp-"
DEFAULT_MEMORY_LIMIT = 64 * 2**20
"""Bytes of payloads the in-process layer of one cache keeps (least recently used dropped)."""

# Entry file = MAGIC | header size (uint32, little-endian) | header (UTF-8 JSON) | payload.
_PREFIX = struct.Struct("<8sI")
_MAX_HEADER_BYTES = 16 * 2**20
_ENTRY_NAME = re.compile(r"^([0-9a-f]{16})-([0-9a-f]{64})" + re.escape(ENTRY_SUFFIX) + "$")
_STALE_TEMPORARY_SECONDS = 3600.0  # a writer that has not finished in an hour has died
_REMEMBERED_MISSES = 1024
_FEATURE_LIST = re.compile(r"^[+-][^,]*(,[+-][^,]*)+$")

# Ingredients in the order explanations list them, with the words a user knows them by.
INGREDIENT_LABELS = {
    "jitgraph_version": "jitgraph version",
    "schema_version": "cache schema version",
    "target": "target (CPU, features, LLVM version)",
    "backend": "backend",
    "inputs": "input types",
    "graph": "graph",
    "extra": "extra key data",
}

_DISABLED = "the cache is disabled (config.cache is False): nothing is loaded or stored"


class CacheWarning(UserWarning):
    """A cache directory or entry that cannot be used; the code is compiled instead."""


def jitgraph_version() -> str:
    """The running jitgraph's version (the package's ``__version__``, else its metadata)."""
    version = getattr(sys.modules.get("jitgraph"), "__version__", None)
    if isinstance(version, str):
        return version
    import importlib.metadata  # only here: importing it costs ~10 ms at start-up

    try:
        return importlib.metadata.version("jitgraph")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class CacheKey:
    """The identity of a compiled artefact: ``digest`` is the hex SHA-256 of the canonical
    serialization of ``ingredients`` (all strings). Keys compare by digest."""

    digest: str
    ingredients: dict[str, str] = field(compare=False)


def cache_key(*, graph: str, inputs: str, backend: str, target: str, extra: str = "") -> CacheKey:
    """The key of code compiled from ``graph`` (its structural hash) for ``inputs`` (their
    types), ``backend`` and ``target`` (triple, CPU, features, LLVM version); ``extra`` holds
    anything else that changes the code. The jitgraph version and :data:`SCHEMA_VERSION` are
    added. ``target``/``extra`` written as a JSON object or ``name=value`` words let
    ``explain`` name the field that differs.

    >>> a = cache_key(graph="9f2c", inputs="float64[:]", backend="llvm", target="x86_64")
    >>> b = cache_key(graph="9f2c", inputs="float32[:]", backend="llvm", target="x86_64")
    >>> a == b, a.ingredients["schema_version"] == str(SCHEMA_VERSION)
    (False, True)
    """
    given = {"graph": graph, "inputs": inputs, "backend": backend, "target": target}
    given["extra"] = extra
    for name, value in given.items():
        if not isinstance(value, str):
            raise TypeError(f"cache_key: {name} must be a str; got {type(value).__name__}")
    ingredients = {
        **given,
        "jitgraph_version": jitgraph_version(),
        "schema_version": str(SCHEMA_VERSION),
    }
    canonical = json.dumps(ingredients, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return CacheKey(hashlib.sha256(canonical.encode("utf-8")).hexdigest(), ingredients)


@dataclass(frozen=True)
class CacheEntry:
    """One entry file: ``last_used`` is its mtime (set on store and on every disk load)."""

    path: str
    digest: str
    graph_tag: str
    size: int
    last_used: float


@dataclass(frozen=True)
class EntryReport:
    """What a look at one entry found: its key ingredients (None when unreadable) and the
    reason it would not be loaded (None when valid and trusted)."""

    ingredients: dict[str, str] | None
    problem: str | None


class CacheInfo(TypedDict):
    """What ``CompiledCodeCache.info()`` reports."""

    directory: str
    exists: bool
    trusted: bool
    trust_problem: str | None
    enabled: bool
    entries: int
    total_bytes: int
    size_cap: int
    memory_entries: int
    memory_bytes: int


@dataclass(frozen=True)
class _Miss:
    """Why a lookup missed: kind 'disabled', 'absent', 'untrusted' or 'invalid'."""

    kind: str
    detail: str


class _EntryProblem(Exception):
    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def _graph_tag(graph: str) -> str:
    """The file name prefix shared by every entry of one graph (so explain can find them)."""
    return hashlib.sha256(graph.encode("utf-8")).hexdigest()[:16]


def _entry_name(key: CacheKey) -> str:
    return f"{_graph_tag(key.ingredients['graph'])}-{key.digest}{ENTRY_SUFFIX}"


def _effective_uid() -> int | None:
    """This process's user id, None where POSIX ownership does not apply."""
    return os.geteuid() if os.name == "posix" else None


def _ownership_problem(status: os.stat_result, what: str) -> str | None:
    """Why a file or directory with ``status`` may not hold code we run, or None."""
    uid = _effective_uid()
    if uid is None:
        return None
    if status.st_uid != uid:
        return f"{what} is owned by uid {status.st_uid}, not by this user (uid {uid})"
    if status.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        mode = oct(stat.S_IMODE(status.st_mode))
        return f"{what} is writable by group or others (mode {mode}; chmod go-w fixes it)"
    return None


def directory_problem(directory: str) -> str | None:
    """Why ``directory`` may not be used as a cache of native code, or None when it may (a
    directory that does not exist yet is fine: it is created private on the first store)."""
    try:
        status = os.stat(directory)
    except (FileNotFoundError, NotADirectoryError):
        return None  # nothing to load; store() reports what stands in the way
    except OSError as error:
        return f"cannot access the cache directory {directory} ({error.strerror})"
    if not stat.S_ISDIR(status.st_mode):
        return f"the cache directory {directory} is not a directory"
    return _ownership_problem(status, f"the cache directory {directory}")


_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()


def _warn_once(directory: str, kind: str, message: str) -> None:
    """Warn about problem ``kind`` of ``directory`` the first time this process meets it."""
    with _warned_lock:
        if (directory, kind) in _warned:
            return
        _warned.add((directory, kind))
    warnings.warn(f"jitgraph cache: {message}", CacheWarning, stacklevel=4)


def _remove_quietly(path: str) -> bool:
    """Remove ``path``; False when it was already gone or could not be removed."""
    try:
        os.unlink(path)
    except OSError:
        return False
    return True


def _write_file(descriptor: int, data: bytes) -> None:
    """Write all of ``data`` to ``descriptor`` (the one place entry bytes hit the disk)."""
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


def _encode_entry(key: CacheKey, payload: bytes) -> bytes:
    header = {
        "schema": SCHEMA_VERSION,
        "digest": key.digest,
        "ingredients": key.ingredients,
        "payload_size": len(payload),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
    }
    header_bytes = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return _PREFIX.pack(MAGIC, len(header_bytes)) + header_bytes + payload


def _decode_header(data: bytes) -> tuple[dict[str, object], int]:
    """The header of entry bytes ``data`` (at least its header) and where the payload starts."""
    if len(data) < _PREFIX.size:
        raise _EntryProblem("invalid", "it is truncated (shorter than its header)")
    magic, header_size = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise _EntryProblem("invalid", "it is not a jitgraph cache entry (bad magic number)")
    end = _PREFIX.size + header_size
    if header_size > _MAX_HEADER_BYTES or end > len(data):
        raise _EntryProblem("invalid", "it is truncated or corrupt (header size out of range)")
    try:
        header = json.loads(data[_PREFIX.size : end])
    except ValueError:
        header = None
    if not isinstance(header, dict):
        raise _EntryProblem("invalid", "it is corrupt (unreadable header)")
    if header.get("schema") != SCHEMA_VERSION:
        found = header.get("schema")
        raise _EntryProblem(
            "invalid",
            f"it was written with cache schema version {found!r}; this jitgraph uses "
            f"{SCHEMA_VERSION}",
        )
    return header, end


def _decode_entry(data: bytes) -> tuple[dict[str, object], bytes]:
    """Header and payload of entry bytes ``data``, the payload checked against the header."""
    header, start = _decode_header(data)
    payload = data[start:]
    expected_size = header.get("payload_size")
    if len(payload) != expected_size:
        shorter = isinstance(expected_size, int) and len(payload) < expected_size
        raise _EntryProblem(
            "invalid",
            f"it is {'truncated' if shorter else 'corrupt'} ({len(payload)} payload bytes, "
            f"header says {expected_size!r})",
        )
    if hashlib.sha256(payload).hexdigest() != header.get("payload_sha256"):
        raise _EntryProblem("invalid", "it is corrupt (payload SHA-256 checksum mismatch)")
    return header, payload


def _open_trusted(path: str) -> int:
    """A read descriptor of the entry file ``path`` after checking it may be trusted.

    Raises FileNotFoundError when absent, _EntryProblem when refused, OSError otherwise."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        if error.errno == errno.ELOOP:  # a symbolic link planted in place of an entry
            raise _EntryProblem("untrusted", f"the cache entry {path} is a symbolic link") from None
        raise
    status = os.fstat(descriptor)
    problem = _ownership_problem(status, f"the cache entry {path}")
    if problem is None and not stat.S_ISREG(status.st_mode):
        problem = f"the cache entry {path} is not a regular file"
    if problem is not None:
        os.close(descriptor)
        raise _EntryProblem("untrusted", problem)
    return descriptor


def _read_entry(path: str, header_only: bool = False) -> tuple[dict[str, object], bytes]:
    """Header and verified payload of the trusted entry file ``path`` (with ``header_only``:
    the header and no payload, unverified)."""
    with os.fdopen(_open_trusted(path), "rb") as file:
        if not header_only:
            return _decode_entry(file.read())
        start = file.read(_PREFIX.size)
        size = _PREFIX.unpack_from(start)[1] if len(start) == _PREFIX.size else 0
        header, _ = _decode_header(start + file.read(min(size, _MAX_HEADER_BYTES)))
        return header, b""


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fields(text: str) -> dict[str, str] | None:
    """``text`` as named fields when it is a JSON object or ``name=value`` words, else None."""
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return {str(name): str(value) for name, value in parsed.items()}
    words = text.split()
    if words and all("=" in word for word in words):
        return dict(word.split("=", 1) for word in words)
    return None


def _compare_words(here: str, there: str) -> str:
    """Two values told apart; LLVM feature lists ('+avx,-sse4a') by the items only one has."""
    if _FEATURE_LIST.match(here) and _FEATURE_LIST.match(there):
        only_here = sorted(set(here.split(",")) - set(there.split(",")))
        only_there = sorted(set(there.split(",")) - set(here.split(",")))
        return (
            f"{_shorten(' '.join(only_here)) or 'nothing'} only now, "
            f"{_shorten(' '.join(only_there)) or 'nothing'} only in the entry"
        )
    return f"{_shorten(here)!r} now, {_shorten(there)!r} in the entry"


def describe_difference(name: str, here: str, there: str) -> str:
    """``'input types: 'float64[:]' now, 'float32[:]' in the entry'``: ingredient ``name``
    differs; named fields (JSON or ``name=value``) and '/'/';'-separated parts that differ
    are shown one by one, so that a CPU or LLVM version change stands out."""
    label = INGREDIENT_LABELS.get(name, name)
    fields_here, fields_there = _fields(here), _fields(there)
    if fields_here is not None and fields_there is not None:
        parts = []
        for field_name in sorted(set(fields_here) | set(fields_there)):
            value_here = fields_here.get(field_name, "")
            value_there = fields_there.get(field_name, "")
            if value_here != value_there:
                parts.append(f"{field_name} {_compare_words(value_here, value_there)}")
        return f"{label}: " + "; ".join(parts)
    words_here, words_there = re.split(r"[/;]", here), re.split(r"[/;]", there)
    if len(words_here) == len(words_there) > 1:
        pairs = [(a, b) for a, b in zip(words_here, words_there) if a != b]
        return f"{label}: " + "; ".join(_compare_words(a, b) for a, b in pairs)
    return f"{label}: {_compare_words(here, there)}"


class CompiledCodeCache:
    """The compiled-code cache in ``directory`` (see the module docstring for the contract).

    ``size_cap`` (bytes, 0 = none) and ``enabled`` follow ``config.cache_size_cap`` and
    ``config.cache`` when left None; ``memory_limit`` bounds the in-process layer (0 = off).
    Methods are safe to call from several threads.
    """

    def __init__(
        self,
        directory: str,
        *,
        size_cap: int | None = None,
        enabled: bool | None = None,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
    ) -> None:
        self.directory = os.path.abspath(os.path.expanduser(directory))
        self._size_cap = size_cap
        self._enabled = enabled
        self._memory_limit = memory_limit
        self._memory: collections.OrderedDict[str, bytes] = collections.OrderedDict()
        self._memory_bytes = 0
        # digest -> why its last lookup missed (cleared by a hit), for explain().
        self._misses: collections.OrderedDict[str, _Miss] = collections.OrderedDict()
        self._counters = dict.fromkeys(
            ("memory_hits", "disk_hits", "misses", "stores", "failed_stores", "evictions"), 0
        )
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CompiledCodeCache({self.directory!r})"

    @property
    def size_cap(self) -> int:
        return config.cache_size_cap if self._size_cap is None else self._size_cap

    @property
    def enabled(self) -> bool:
        return config.cache if self._enabled is None else self._enabled

    def path_of(self, key: CacheKey) -> str:
        """Where the entry of ``key`` lives (whether or not it exists)."""
        return os.path.join(self.directory, _entry_name(key))

    # -- lookups ------------------------------------------------------------------------------

    def load(self, key: CacheKey) -> bytes | None:
        """The payload stored under ``key``, or None (and ``explain(key)`` says why).

        A key loaded or stored before in this process comes from memory. From disk, the entry
        is verified (header, ingredients, checksum) and marked used; a bad entry is removed,
        an untrusted one is left alone and warned about once."""
        if not self.enabled:
            self._missed(key, _Miss("disabled", _DISABLED))
            return None
        payload = self._memory_get(key.digest)
        if payload is not None:
            self._hit(key, "memory_hits")
            return payload
        found = self._inspect_disk(key)
        if isinstance(found, _Miss):
            if found.kind == "untrusted":
                _warn_once(self.directory, "untrusted", f"{found.detail}; {_REFUSED}")
            elif found.kind == "invalid":
                _remove_quietly(self.path_of(key))
            self._missed(key, found)
            return None
        payload = found
        try:
            os.utime(self.path_of(key))  # mark it recently used for LRU eviction
        except OSError:
            pass  # evicted meanwhile, or a read-only directory: the payload is still good
        self._memory_put(key.digest, payload)
        self._hit(key, "disk_hits")
        return payload

    def _inspect_disk(self, key: CacheKey) -> bytes | _Miss:
        """The verified on-disk payload of ``key`` or why there is none (no side effects)."""
        problem = directory_problem(self.directory)
        if problem is not None:
            return _Miss("untrusted", problem)
        path = self.path_of(key)
        try:
            header, payload = _read_entry(path)
        except (FileNotFoundError, NotADirectoryError):
            return _Miss("absent", f"there is no entry {path}")
        except _EntryProblem as problem_found:
            return _Miss(problem_found.kind, _entry_text(path, problem_found.detail))
        except OSError as error:
            return _Miss("invalid", _entry_text(path, f"it is unreadable ({error})"))
        if header.get("digest") != key.digest or header.get("ingredients") != key.ingredients:
            stored = header.get("ingredients")
            detail = self._differences(key, stored if isinstance(stored, dict) else {})
            return _Miss("invalid", _entry_text(path, f"it holds another key ({detail})"))
        return payload

    def _hit(self, key: CacheKey, counter: str) -> None:
        with self._lock:
            self._counters[counter] += 1
            self._misses.pop(key.digest, None)

    def _missed(self, key: CacheKey, miss: _Miss) -> None:
        with self._lock:
            self._counters["misses"] += 1
            self._misses.pop(key.digest, None)
            self._misses[key.digest] = miss
            while len(self._misses) > _REMEMBERED_MISSES:
                self._misses.popitem(last=False)

    def _memory_get(self, digest: str) -> bytes | None:
        with self._lock:
            payload = self._memory.get(digest)
            if payload is not None:
                self._memory.move_to_end(digest)
            return payload

    def _memory_put(self, digest: str, payload: bytes) -> None:
        if len(payload) > self._memory_limit:
            return
        with self._lock:
            previous = self._memory.pop(digest, None)
            self._memory_bytes += len(payload) - (len(previous) if previous is not None else 0)
            self._memory[digest] = payload
            while self._memory_bytes > self._memory_limit:
                self._memory_bytes -= len(self._memory.popitem(last=False)[1])

    # -- explaining misses --------------------------------------------------------------------

    def explain(self, key: CacheKey) -> str:
        """Why the last lookup of ``key`` in this process missed, in the user's terms; for a key
        whose last lookup hit (or that was never looked up), what a lookup now would find.

        Reasons: the cache is disabled; no entry (naming the ingredients in which the closest
        entry for the same graph differs: jitgraph version, target CPU or LLVM version, input
        types, ...); a corrupt or truncated entry; an untrusted directory or entry."""
        with self._lock:
            miss = self._misses.get(key.digest)
        if miss is not None:
            return f"the last lookup missed: {self._describe(key, miss)}"
        if not self.enabled:
            return f"a lookup now would miss: {_DISABLED}"
        if self._memory_get(key.digest) is not None:
            return "a lookup now would hit (in memory: loaded or stored earlier in this process)"
        found = self._inspect_disk(key)
        if isinstance(found, _Miss):
            return f"a lookup now would miss: {self._describe(key, found)}"
        return f"a lookup now would hit (a valid entry: {self.path_of(key)})"

    def _describe(self, key: CacheKey, miss: _Miss) -> str:
        return self._absent_reason(key) if miss.kind == "absent" else miss.detail

    def _absent_reason(self, key: CacheKey) -> str:
        """No entry for ``key``: name how the closest entry of the same graph differs."""
        tag = _graph_tag(key.ingredients["graph"])
        neighbours = [e for e in self.entries() if e.graph_tag == tag and e.digest != key.digest]
        closest: dict[str, str] | None = None
        for entry in neighbours:
            ingredients = self.inspect(entry, verify=False).ingredients
            if ingredients is not None and (
                closest is None or _distance(key, ingredients) < _distance(key, closest)
            ):
                closest = ingredients
        if closest is None:
            return (
                f"no entry for this graph in {self.directory} (never compiled with this cache "
                "directory, or evicted by the size cap, or cleared)"
            )
        others = f" (and {len(neighbours) - 1} more)" if len(neighbours) > 1 else ""
        return (
            f"no entry for this key in {self.directory}; the closest entry for the same "
            f"graph{others} differs in {self._differences(key, closest)}"
        )

    @staticmethod
    def _differences(key: CacheKey, stored: Mapping[str, object]) -> str:
        parts = [
            describe_difference(name, key.ingredients.get(name, ""), str(stored.get(name, "")))
            for name in _ordered_names(key.ingredients, stored)
            if key.ingredients.get(name) != stored.get(name)
        ]
        return "; ".join(parts) or "nothing (same ingredients, another digest)"

    # -- storing ------------------------------------------------------------------------------

    def store(self, key: CacheKey, payload: bytes) -> bool:
        """Keep ``payload`` under ``key``; True when the entry is on disk.

        False (never an exception) when the cache is disabled, the directory cannot be created,
        is untrusted or unwritable, the disk is full, or the entry alone exceeds the size cap;
        a problem is warned about once per process. The in-process layer keeps the payload
        in every case but the disabled one."""
        if not self.enabled:
            return False
        payload = bytes(payload)
        self._memory_put(key.digest, payload)
        path = self.path_of(key)
        stored = self._prepare_directory() and self._write_entry(path, _encode_entry(key, payload))
        stored = stored and self._evict(keep=path)
        with self._lock:
            self._counters["stores" if stored else "failed_stores"] += 1
        return stored

    def _prepare_directory(self) -> bool:
        """Create the directory private (0700) if missing; False (warned) if unusable."""
        try:
            os.makedirs(os.path.dirname(self.directory), exist_ok=True)
            os.mkdir(self.directory, 0o700)
            os.chmod(self.directory, 0o700)  # the umask may have dropped bits; never added any
        except FileExistsError:
            pass  # made by another process just now, or a file is in the way (checked next)
        except OSError as error:
            self._report_write_failure(error)
            return False
        if not os.path.isdir(self.directory):
            self._report_write_failure(NotADirectoryError(errno.ENOTDIR, "a file is in the way"))
            return False
        problem = directory_problem(self.directory)
        if problem is not None:
            _warn_once(self.directory, "untrusted", f"{problem}; {_REFUSED}")
            return False
        return True

    def _write_entry(self, path: str, data: bytes) -> bool:
        """Write ``data`` to ``path`` atomically: readers see the old file or all of the new."""
        try:
            descriptor, temporary = tempfile.mkstemp(
                prefix=TEMPORARY_PREFIX, suffix=".partial", dir=self.directory
            )
        except OSError as error:
            self._report_write_failure(error)
            return False
        try:
            try:
                _write_file(descriptor, data)
            finally:
                os.close(descriptor)
            os.replace(temporary, path)
        except OSError as error:
            _remove_quietly(temporary)
            self._report_write_failure(error)
            return False
        return True

    def _report_write_failure(self, error: OSError) -> None:
        reason = f"{type(error).__name__}: {error.strerror or error}"
        if error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            kind, what = "disk full", f"the disk holding {self.directory} is full ({reason})"
        elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR):
            kind, what = "unwritable", f"cannot write to the cache directory {self.directory}"
            what += f" ({reason}); set JITGRAPH_CACHE_DIR or config.cache_dir to a writable one"
        else:
            kind, what = "write error", f"cannot write to {self.directory} ({reason})"
        _warn_once(self.directory, kind, f"{what}; compiled code is not cached (it still runs)")

    def _evict(self, keep: str) -> bool:
        """Remove least recently used entries other than ``keep`` (just stored) until the
        directory is within the size cap; ``keep`` goes only when it alone exceeds the cap
        (then False). Also drops temporary files of writers that died."""
        self._remove_stale_temporaries()
        cap = self.size_cap
        entries = self.entries()
        total = sum(entry.size for entry in entries)
        if cap <= 0 or total <= cap:
            return True
        if any(entry.path == keep and entry.size > cap for entry in entries):
            _remove_quietly(keep)  # it could never fit: keep the others rather than it
            return False
        for entry in entries:  # least recently used first
            if total <= cap:
                break
            if entry.path == keep:
                continue
            total -= entry.size
            if _remove_quietly(entry.path):  # False: another process evicted it first
                with self._lock:
                    self._counters["evictions"] += 1
        return True

    def _remove_stale_temporaries(self, older_than: float = _STALE_TEMPORARY_SECONDS) -> None:
        deadline = time.time() - older_than
        try:
            with os.scandir(self.directory) as items:
                for item in items:
                    if item.name.startswith(TEMPORARY_PREFIX):
                        with contextlib.suppress(OSError):  # removed meanwhile
                            if item.stat(follow_symlinks=False).st_mtime <= deadline:
                                _remove_quietly(item.path)
        except OSError:
            pass

    # -- management ---------------------------------------------------------------------------

    def entries(self) -> list[CacheEntry]:
        """The entry files in the directory, least recently used first (no verification)."""
        found = []
        try:
            with os.scandir(self.directory) as items:
                for item in items:
                    match = _ENTRY_NAME.match(item.name)
                    if match is None:
                        continue
                    try:
                        status = item.stat(follow_symlinks=False)
                    except OSError:
                        continue  # removed by another process meanwhile
                    entry = CacheEntry(
                        item.path, match[2], match[1], status.st_size, status.st_mtime
                    )
                    found.append(entry)
        except OSError:
            return []
        return sorted(found, key=lambda entry: entry.last_used)

    def inspect(self, entry: CacheEntry, verify: bool = True) -> EntryReport:
        """Read ``entry``: its ingredients and why it would not be loaded (None when it would
        be, provided the key matches). ``verify=False`` reads the header only (no checksum)."""
        problem = directory_problem(self.directory)
        try:
            header, _ = _read_entry(entry.path, header_only=not verify)
        except FileNotFoundError:
            return EntryReport(None, f"{entry.path} no longer exists")
        except _EntryProblem as found:
            return EntryReport(None, _entry_text(entry.path, found.detail))
        except OSError as error:
            return EntryReport(None, _entry_text(entry.path, f"it is unreadable ({error})"))
        stored = header.get("ingredients")
        ingredients = {}
        if isinstance(stored, dict):
            ingredients = {str(name): str(value) for name, value in stored.items()}
        return EntryReport(ingredients, problem)

    def info(self) -> CacheInfo:
        """Location, entry count, total bytes, size cap, trust and in-process layer state."""
        entries = self.entries()
        problem = directory_problem(self.directory)
        with self._lock:
            memory_entries, memory_bytes = len(self._memory), self._memory_bytes
        return {
            "directory": self.directory,
            "exists": os.path.isdir(self.directory),
            "trusted": problem is None,
            "trust_problem": problem,
            "enabled": self.enabled,
            "entries": len(entries),
            "total_bytes": sum(entry.size for entry in entries),
            "size_cap": self.size_cap,
            "memory_entries": memory_entries,
            "memory_bytes": memory_bytes,
        }

    def stats(self) -> dict[str, int]:
        """Counters of this process: memory_hits, disk_hits, hits, misses, stores,
        failed_stores, evictions."""
        with self._lock:
            counters = dict(self._counters)
        counters["hits"] = counters["memory_hits"] + counters["disk_hits"]
        return counters

    def clear(self) -> int:
        """Remove every entry (and temporary files); returns the number of entries removed.
        The in-process layer and the remembered misses are emptied too."""
        with self._lock:
            self._memory.clear()
            self._memory_bytes = 0
            self._misses.clear()
        removed = sum(_remove_quietly(entry.path) for entry in self.entries())
        self._remove_stale_temporaries(older_than=0.0)
        return removed


_REFUSED = "compiled code is not loaded from it or stored in it (it is compiled instead)"


def _entry_text(path: str, detail: str) -> str:
    return f"the entry {path} was not loaded: {detail}"


def _ordered_names(*ingredient_sets: Mapping[str, object]) -> list[str]:
    names = [name for name in INGREDIENT_LABELS if any(name in s for s in ingredient_sets)]
    others = sorted({name for s in ingredient_sets for name in s} - set(INGREDIENT_LABELS))
    return names + others


def _distance(key: CacheKey, stored: dict[str, str]) -> int:
    """How many ingredients of ``stored`` differ from ``key``'s."""
    names = set(key.ingredients) | set(stored)
    return sum(key.ingredients.get(name) != stored.get(name) for name in names)


_shared: CompiledCodeCache | None = None
_shared_lock = threading.Lock()


def get_cache() -> CompiledCodeCache:
    """The cache of ``config.cache_dir`` (made anew when the flag changes).

    >>> get_cache().directory == os.path.abspath(config.cache_dir)
    True
    """
    global _shared
    directory = os.path.abspath(os.path.expanduser(config.cache_dir))
    with _shared_lock:
        if _shared is None or _shared.directory != directory:
            _shared = CompiledCodeCache(directory)
        return _shared
