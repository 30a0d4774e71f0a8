"""Tests of jitgraph/config.py: defaults, JITGRAPH_FLAGS parsing, validation, change_flags."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from jitgraph.config import (
    CACHE_DIR_ENV_VAR,
    FLAGS,
    Config,
    ConfigWarning,
    canonical_mode,
    change_flags,
    config,
    parse_flags,
)


def test_defaults() -> None:
    fresh = Config()
    assert fresh.floatX == "float64"
    assert fresh.device == "cpu"
    assert fresh.mode == "FAST_RUN"
    assert fresh.dump == ""
    assert fresh.threads == 0
    assert fresh.optimizer == "fast_run"
    assert fresh.print_global_stats is False
    assert fresh.traceback__limit == 8


def test_cache_dir_default_follows_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV_VAR, "/somewhere/cache")
    assert Config().cache_dir == "/somewhere/cache"
    monkeypatch.delenv(CACHE_DIR_ENV_VAR)
    expected = os.path.join(os.path.expanduser("~"), ".cache", "jitgraph")
    assert Config().cache_dir == expected


def test_session_cache_dir_is_private() -> None:
    # Set by the session fixture in conftest.py.
    assert config.cache_dir == os.environ[CACHE_DIR_ENV_VAR]
    assert os.path.isdir(config.cache_dir)


def test_parse_flags() -> None:
    assert parse_flags("") == []
    assert parse_flags(" floatX = float32 ,, device=cuda, ") == [
        ("floatX", "float32"),
        ("device", "cuda"),
    ]
    assert parse_flags("dump=") == [("dump", "")]
    with pytest.raises(ValueError, match="'floatX' is not of the form name=value"):
        parse_flags("floatX")


def test_flags_string_sets_and_converts() -> None:
    fresh = Config(
        "floatX=float32,device=gpu,mode=DebugMode,threads=4,print_global_stats=True,"
        "traceback.limit=-1,cache_dir=~/jg,warn.round=False"
    )
    assert fresh.floatX == "float32"
    assert fresh.device == "cuda"  # alias
    assert fresh.mode == "REFERENCE"  # Theano's DebugMode is the reference interpreter
    assert fresh.threads == 4
    assert fresh.print_global_stats is True
    assert fresh.traceback__limit == -1
    assert fresh.traceback.limit == -1
    assert fresh.cache_dir == os.path.expanduser("~/jg")
    assert fresh.warn.round == "False"  # legacy section values are kept as given


def test_later_entries_win() -> None:
    assert Config("floatX=float32,floatX=float16").floatX == "float16"


def test_unknown_flag_in_environment_warns_and_is_ignored() -> None:
    with pytest.warns(ConfigWarning, match=r"'floatx'.*did you mean 'floatX'"):
        fresh = Config("floatx=float32,device=cuda")
    assert fresh.floatX == "float64"
    assert fresh.device == "cuda"


def test_bad_value_in_environment_names_flag_allowed_values_and_value() -> None:
    with pytest.raises(ValueError) as error:
        Config("floatX=float8")
    message = str(error.value)
    assert "JITGRAPH_FLAGS" in message
    assert "floatX" in message
    assert "'float64', 'float32', 'float16'" in message
    assert "'float8'" in message


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("floatX", "float128", "one of 'float64', 'float32', 'float16'"),
        ("device", "tpu", "one of 'cpu', 'cuda'"),
        ("mode", "FAST", "one of 'FAST_RUN', 'FAST_COMPILE', 'REFERENCE'"),
        ("threads", -2, "an integer >= 0"),
        ("threads", "many", "an integer >= 0"),
        ("threads", True, "an integer >= 0"),
        ("print_global_stats", "maybe", "a boolean"),
        ("cache_dir", "", "a non-empty directory path"),
        ("dump", 3, "a string"),
    ],
)
def test_assignment_is_validated(name: str, value: object, expected: str) -> None:
    fresh = Config()
    before = getattr(fresh, name)
    with pytest.raises(ValueError) as error:
        setattr(fresh, name, value)
    message = str(error.value)
    assert message.startswith(f"config.{name} must be {expected}")
    assert message.endswith(f"; got {value!r}")
    assert getattr(fresh, name) == before


def test_assignment_converts() -> None:
    fresh = Config()
    fresh.floatX = "float32"
    fresh.threads = "2"  # type: ignore[assignment]
    fresh.print_global_stats = "yes"  # type: ignore[assignment]
    fresh.optimizer = None  # type: ignore[assignment]
    assert (fresh.floatX, fresh.threads, fresh.print_global_stats) == ("float32", 2, True)
    assert fresh.optimizer == "None"


def test_unknown_flag_assignment_suggests_close_matches() -> None:
    fresh = Config()
    with pytest.raises(AttributeError, match=r"no flag 'floatx'; did you mean 'floatX'"):
        fresh.floatx = "float32"
    with pytest.raises(AttributeError, match=r"no flag 'devise'; did you mean 'device'"):
        _ = fresh.devise
    with pytest.raises(AttributeError, match=r"no flag 'zzz' \("):
        fresh.zzz = 1


def test_warn_and_legacy_sections_accept_anything() -> None:
    fresh = Config()
    assert fresh.warn.sum_div_dimshuffle_bug is None
    fresh.warn.sum_div_dimshuffle_bug = False
    fresh.gcc.cxxflags = "-O3"
    fresh.scan.allow_gc = True
    assert fresh.warn.sum_div_dimshuffle_bug is False
    assert (fresh.gcc.cxxflags, fresh.scan.allow_gc, fresh.dnn.enabled) == ("-O3", True, None)
    for section in ("compile", "tensor", "lib"):
        getattr(fresh, section).anything = 1
        assert getattr(fresh, section).anything == 1
    assert fresh.as_dict()["warn.sum_div_dimshuffle_bug"] is False
    with pytest.raises(AttributeError, match="config.warn is a section"):
        fresh.warn = None  # type: ignore[assignment]


def test_section_attribute_naming_a_flag_goes_to_the_flag() -> None:
    fresh = Config()
    fresh.traceback.limit = 3
    assert fresh.traceback__limit == 3
    with pytest.raises(ValueError, match="traceback__limit"):
        fresh.traceback.limit = -5


def test_change_flags_restores_on_exception() -> None:
    with pytest.raises(RuntimeError):
        with config.change_flags(floatX="float32", mode="DebugMode", warn__round=False):
            assert (config.floatX, config.mode, config.warn.round) == (
                "float32",
                "REFERENCE",
                False,
            )
            raise RuntimeError("boom")
    assert (config.floatX, config.mode, config.warn.round) == ("float64", "FAST_RUN", None)
    assert "warn.round" not in config.as_dict()


def test_change_flags_as_decorator() -> None:
    @change_flags(floatX="float16")
    def inside() -> str:
        return config.floatX

    assert inside() == "float16"
    assert inside() == "float16"  # usable more than once
    assert config.floatX == "float64"


def test_change_flags_nested_and_dotted_names() -> None:
    with config.change_flags(floatX="float32"):
        with config.change_flags(**{"floatX": "float16", "gcc.cxxflags": "-g"}):
            assert (config.floatX, config.gcc.cxxflags) == ("float16", "-g")
        assert (config.floatX, config.gcc.cxxflags) == ("float32", None)
    assert config.floatX == "float64"


def test_change_flags_validates_everything_before_changing_anything() -> None:
    with pytest.raises(ValueError, match="config.device must be one of"):
        with config.change_flags(floatX="float32", device="tpu"):
            pass  # pragma: no cover
    assert config.floatX == "float64"
    with pytest.raises(AttributeError, match="did you mean 'floatX'"):
        with config.change_flags(floatx="float32"):
            pass  # pragma: no cover


def test_as_dict_and_str_list_every_flag() -> None:
    values = Config().as_dict()
    assert list(values)[: len(FLAGS)] == [flag.name for flag in FLAGS]
    text = str(Config())
    assert "floatX = 'float64'" in text
    assert len(text.splitlines()) == len(FLAGS)


def test_canonical_mode() -> None:
    assert canonical_mode("FAST_COMPILE") == "FAST_COMPILE"
    assert canonical_mode("DebugMode") == "REFERENCE"
    with pytest.raises(ValueError, match="mode must be one of"):
        canonical_mode("fast")


def _import_config_with(flags: str) -> subprocess.CompletedProcess[str]:
    code = "from jitgraph.config import config; print(config.floatX, config.mode, config.threads)"
    environment = {**os.environ, "JITGRAPH_FLAGS": flags}
    return subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=120
    )


def test_environment_is_read_at_import() -> None:
    result = _import_config_with("floatX=float32,mode=FAST_COMPILE,threads=2,nonsense=1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["float32", "FAST_COMPILE", "2"]
    assert "ConfigWarning" in result.stderr and "'nonsense'" in result.stderr


def test_bad_environment_value_fails_at_import() -> None:
    result = _import_config_with("threads=lots")
    assert result.returncode != 0
    assert "threads must be an integer >= 0; got 'lots'" in result.stderr
