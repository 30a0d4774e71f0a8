"""Configuration flags: ``from jitgraph.config import config``.

A flag's value comes from, later winning:

1. its default in :data:`FLAGS` (``cache_dir`` defaults to ``$JITGRAPH_CACHE_DIR``, else
   ``~/.cache/jitgraph``);
2. the environment variable ``JITGRAPH_FLAGS="name=value,name=value"``, read once at import
   (an unknown name there is warned about and ignored; a bad value raises ``ValueError``);
3. assignment, ``config.floatX = "float32"``, or temporarily ``config.change_flags(...)``.

Every value is validated when it is set, so a typo fails where it is made, naming the flag,
what it accepts and what came. Aliases are stored under their canonical value: ``mode``
``'DebugMode'`` (Theano's name for its checking mode) is stored as ``'REFERENCE'``, the NumPy
interpreter that is jitgraph's oracle; ``device`` ``'gpu'``/``'cuda0'`` is stored as ``'cuda'``.

Theano's legacy sections (``config.warn``, ``config.gcc``, ``config.dnn``, ...) accept any
attribute, so old programs that set e.g. ``config.warn.sum_div_dimshuffle_bug = False`` keep
running; reading an attribute never set gives ``None``. In ``JITGRAPH_FLAGS`` they are written
with a dot: ``warn.round=False``. ``traceback.limit`` is the flag ``traceback__limit``.

Example:
    >>> from jitgraph.config import config
    >>> with config.change_flags(floatX="float32"):
    ...     config.floatX
    'float32'
    >>> config.floatX
    'float64'
"""

from __future__ import annotations

import contextlib
import difflib
import os
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

ENV_VAR = "JITGRAPH_FLAGS"
CACHE_DIR_ENV_VAR = "JITGRAPH_CACHE_DIR"

MODES = ("FAST_RUN", "FAST_COMPILE", "REFERENCE")
MODE_ALIASES = {"DebugMode": "REFERENCE", "DEBUG_MODE": "REFERENCE"}
DEVICES = ("cpu", "cuda")
DEVICE_ALIASES = {"gpu": "cuda", "gpu0": "cuda", "cuda0": "cuda"}

# Theano's flag sections that jitgraph has no use for but old programs still assign to.
LEGACY_SECTIONS = (
    "warn",
    "gcc",
    "compile",
    "dnn",
    "tensor",
    "scan",
    "lib",
    "blas",
    "nvcc",
    "cuda",
    "gpuarray",
    "profiling",
    "traceback",
    "DebugMode",
)


class ConfigWarning(UserWarning):
    """An entry of ``JITGRAPH_FLAGS`` that was ignored (a flag this version does not know)."""


class _BadValue(Exception):
    """Raised by a converter; ``expected`` says in words what the flag accepts."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


Converter = Callable[[object], object]


def _choice(*allowed: str, aliases: Mapping[str, str] | None = None) -> Converter:
    """A converter accepting one of ``allowed`` (or an alias, stored as its target)."""
    alias_table = dict(aliases or {})
    expected = "one of " + ", ".join(repr(value) for value in allowed)
    if alias_table:
        expected += " (or alias " + ", ".join(f"{a!r}->{b!r}" for a, b in alias_table.items())
        expected += ")"

    def convert(value: object) -> object:
        # None is accepted as its text so that Theano's ``optimizer=None`` works.
        if isinstance(value, str) or value is None:
            text = str(value).strip()
            text = alias_table.get(text, text)
            if text in allowed:
                return text
        raise _BadValue(expected)

    return convert


_TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
_FALSE_WORDS = frozenset({"false", "0", "no", "off"})


def _boolean(value: object) -> object:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS or word in _FALSE_WORDS:
            return word in _TRUE_WORDS
    raise _BadValue("a boolean (True/False, 1/0, yes/no, on/off)")


def _integer(minimum: int) -> Converter:
    """A converter accepting an int (or its decimal text) that is at least ``minimum``."""
    expected = f"an integer >= {minimum}"

    def convert(value: object) -> object:
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str):
            with contextlib.suppress(ValueError):
                number = int(value.strip())
        if number is None or number < minimum:
            raise _BadValue(expected)
        return number

    return convert


def _text(value: object) -> object:
    if isinstance(value, str):
        return value.strip()
    raise _BadValue("a string")


def _directory(value: object) -> object:
    if isinstance(value, str | os.PathLike):
        path = os.fspath(value)
        if isinstance(path, str) and path.strip():
            return os.path.expanduser(path.strip())
    raise _BadValue("a non-empty directory path")


def _default_cache_dir() -> str:
    from_env = os.environ.get(CACHE_DIR_ENV_VAR, "").strip()
    return os.path.expanduser(from_env or os.path.join("~", ".cache", "jitgraph"))


@dataclass(frozen=True)
class Flag:
    """One configuration flag: its name, default, converter (validation) and meaning."""

    name: str
    default: object
    convert: Converter
    doc: str
    default_factory: Callable[[], object] | None = None

    def initial_value(self) -> object:
        return self.default_factory() if self.default_factory else self.default


# fmt: off
FLAGS: tuple[Flag, ...] = (
    Flag("floatX", "float64", _choice("float64", "float32", "float16"),
         "dtype of T.matrix(), T.scalar(), ... and of Python floats in graphs"),
    Flag("device", "cpu", _choice(*DEVICES, aliases=DEVICE_ALIASES),
         "where shared variables live and compiled functions run"),
    Flag("mode", "FAST_RUN", _choice(*MODES, aliases=MODE_ALIASES),
         "default compile mode: FAST_RUN, FAST_COMPILE or REFERENCE (NumPy oracle)"),
    Flag("cache_dir", None, _directory, "on-disk cache of compiled code",
         default_factory=_default_cache_dir),
    Flag("cache", True, _boolean, "load and store compiled code in cache_dir (False: compile)"),
    Flag("cache_size_cap", 2**30, _integer(0),
         "bytes the on-disk cache may hold; least recently used entries go first (0 = no cap)"),
    Flag("dump", "", _text, "name of a pass around which to print the IR ('' = none)"),
    Flag("check_passes", False, _boolean, "verify the IR after every optimizer pass (tests)"),
    Flag("threads", 0, _integer(0), "worker threads for compiled kernels (0 = all cores)"),
    Flag("compute_test_value", "off", _choice("off", "ignore", "warn", "raise", "pdb"),
         "Theano's eager test values (accepted; not evaluated yet)"),
    Flag("cast_policy", "custom", _choice("custom", "numpy+floatX"),
         "dtype rules of the Theano front end"),
    Flag("optimizer", "fast_run", _choice("fast_run", "fast_compile", "merge", "None"),
         "rewrite set used by a mode (Theano's flag)"),
    Flag("exception_verbosity", "low", _choice("low", "high"),
         "'high' appends compiler internals to error messages"),
    Flag("print_global_stats", False, _boolean, "print compile statistics at exit"),
    Flag("deterministic", "default", _choice("default", "more"),
         "'more' avoids non-deterministic (parallel-reduction) kernels"),
    Flag("on_opt_error", "warn", _choice("warn", "raise", "pdb", "ignore"),
         "what to do when a rewrite raises"),
    Flag("traceback__limit", 8, _integer(-1),
         "frames of user code recorded where a variable is made (-1 = all)"),
    Flag("profile", False, _boolean, "collect per-function profiles (Theano's flag)"),
    Flag("allow_gc", True, _boolean, "free intermediates during a call (Theano's flag)"),
    Flag("openmp", False, _boolean, "Theano's flag; see `threads`"),
    Flag("cxx", "", _text, "Theano's C++ compiler path (unused)"),
    Flag("optimizer_verbose", False, _boolean, "print each rewrite applied"),
    Flag("optimizer_including", "", _text, "extra rewrite tags (Theano's flag)"),
    Flag("optimizer_excluding", "", _text, "rewrite tags to skip (Theano's flag)"),
    Flag("print_test_value", False, _boolean, "Theano's flag (accepted; unused)"),
)
# fmt: on

FLAGS_BY_NAME: dict[str, Flag] = {flag.name: flag for flag in FLAGS}


def canonical_mode(name: str) -> str:
    """The canonical name of compile mode ``name`` ('DebugMode' -> 'REFERENCE').

    Raises ValueError naming the accepted modes.

    >>> canonical_mode("DebugMode")
    'REFERENCE'
    """
    return str(_convert(FLAGS_BY_NAME["mode"], name, "mode"))


def canonical_device(name: object) -> str:
    """The canonical name of device ``name`` ('gpu' -> 'cuda').

    Raises ValueError naming the accepted devices.

    >>> canonical_device("gpu0")
    'cuda'
    """
    return str(_convert(FLAGS_BY_NAME["device"], name, "device"))


def _convert(flag: Flag, value: object, where: str) -> object:
    try:
        return flag.convert(value)
    except _BadValue as error:
        raise ValueError(f"{where} must be {error.expected}; got {value!r}") from None


def parse_flags(text: str) -> list[tuple[str, str]]:
    """Split a ``JITGRAPH_FLAGS`` string into (name, value) pairs, in order.

    Blank entries are skipped; an entry without ``=`` raises ValueError. Values cannot
    contain commas.

    >>> parse_flags("floatX=float32, device=cuda,")
    [('floatX', 'float32'), ('device', 'cuda')]
    """
    pairs = []
    for entry in text.split(","):
        if not entry.strip():
            continue
        name, sep, value = entry.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"{ENV_VAR}: entry {entry.strip()!r} is not of the form name=value")
        pairs.append((name.strip(), value.strip()))
    return pairs


def _resolve(name: str) -> tuple[str | None, str]:
    """Map a flag name as a user writes it to (section, attribute); section None = top level.

    'traceback.limit' -> (None, 'traceback__limit'); 'warn.round' and 'warn__round' ->
    ('warn', 'round'); an unknown name comes back as (None, name) for the caller to reject.
    """
    flat = name.replace(".", "__")
    if flat in FLAGS_BY_NAME:
        return None, flat
    for separator in (".", "__"):
        head, sep, rest = name.partition(separator)
        if sep and rest and head in LEGACY_SECTIONS:
            return head, rest
    return None, name


def _unknown_flag_message(name: str, owner: str = "config") -> str:
    """'config has no flag 'floatx'; did you mean 'floatX'?' (close matches by difflib)."""
    known = [*FLAGS_BY_NAME, *LEGACY_SECTIONS]
    by_lower = {candidate.lower(): candidate for candidate in known}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(by_lower[c]) for c in close)}?" if close else ""
    return f"{owner} has no flag {name!r}{hint} (jitgraph.config.FLAGS lists them)"


class _Section:
    """A legacy Theano flag section (``config.warn``, ``config.gcc``, ...).

    Any attribute may be set and read back; one never set reads as ``None``. An attribute that
    names a real flag (``config.traceback.limit`` is ``traceback__limit``) goes to that flag.
    """

    __slots__ = ("_name", "_config", "_values")
    _name: str
    _config: Config
    _values: dict[str, object]

    def __init__(self, config: Config, name: str) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_config", config)
        object.__setattr__(self, "_values", {})

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):  # never a legacy flag; keeps copy/pickle probes sane
            raise AttributeError(attr)
        flat = f"{self._name}__{attr}"
        if flat in FLAGS_BY_NAME:
            return getattr(self._config, flat)
        return self._values.get(attr)

    def __setattr__(self, attr: str, value: object) -> None:
        if attr.startswith("_"):  # the slots themselves (copy and pickle set them)
            object.__setattr__(self, attr, value)
        elif f"{self._name}__{attr}" in FLAGS_BY_NAME:
            setattr(self._config, f"{self._name}__{attr}", value)
        else:
            self._values[attr] = value

    def __delattr__(self, attr: str) -> None:
        self._values.pop(attr, None)

    def as_dict(self) -> dict[str, object]:
        """The attributes set in this section."""
        return dict(self._values)

    def __repr__(self) -> str:
        return f"<config.{self._name} {self._values!r}>"


_UNSET = object()  # a legacy section attribute that had no value before change_flags


class Config:
    """The configuration flags; the one instance is ``jitgraph.config.config``.

    ``Config(flags)`` builds an independent instance from a ``JITGRAPH_FLAGS``-style string
    (useful in tests). See the module docstring for where values come from.
    """

    # One annotation per entry of FLAGS (checked at import), so that mypy knows the types.
    floatX: str
    device: str
    mode: str
    cache_dir: str
    cache: bool
    cache_size_cap: int
    dump: str
    check_passes: bool
    threads: int
    compute_test_value: str
    cast_policy: str
    optimizer: str
    exception_verbosity: str
    print_global_stats: bool
    deterministic: str
    on_opt_error: str
    traceback__limit: int
    profile: bool
    allow_gc: bool
    openmp: bool
    cxx: str
    optimizer_verbose: bool
    optimizer_including: str
    optimizer_excluding: str
    print_test_value: bool

    # Legacy sections: any attribute may be set on them.
    warn: _Section
    gcc: _Section
    compile: _Section
    dnn: _Section
    tensor: _Section
    scan: _Section
    lib: _Section
    blas: _Section
    nvcc: _Section
    cuda: _Section
    gpuarray: _Section
    profiling: _Section
    traceback: _Section
    DebugMode: _Section

    def __init__(self, flags: str = "", *, source: str = ENV_VAR) -> None:
        for flag in FLAGS:
            object.__setattr__(self, flag.name, flag.initial_value())
        for section in LEGACY_SECTIONS:
            object.__setattr__(self, section, _Section(self, section))
        self.load_flags(flags, source=source)

    def load_flags(self, text: str, *, source: str = ENV_VAR) -> None:
        """Apply a ``"name=value,name=value"`` string.

        An unknown name is warned about (:class:`ConfigWarning`) and skipped, so that one
        environment can serve several versions; a bad value raises ValueError.
        """
        for name, value in parse_flags(text):
            section, attr = _resolve(name)
            if section is None and attr not in FLAGS_BY_NAME:
                message = _unknown_flag_message(name, owner=f"{source}: jitgraph")
                warnings.warn(f"{message}; ignored", ConfigWarning, stacklevel=2)
                continue
            self._assign(section, attr, self._checked(section, attr, value, f"{source}: "))

    def __setattr__(self, name: str, value: object) -> None:
        if name in LEGACY_SECTIONS:
            raise AttributeError(
                f"config.{name} is a section of legacy flags: set its attributes instead, "
                f"e.g. config.{name}.some_flag = False"
            )
        if name not in FLAGS_BY_NAME:
            raise AttributeError(_unknown_flag_message(name))
        self._assign(None, name, self._checked(None, name, value, "config."))

    if not TYPE_CHECKING:  # hidden from mypy so that misspelt flags stay type errors

        def __getattr__(self, name: str) -> object:
            if name.startswith("_"):
                raise AttributeError(name)
            raise AttributeError(_unknown_flag_message(name))

    def _checked(self, section: str | None, attr: str, value: object, where: str) -> object:
        """``value`` converted for the flag; legacy section attributes take any value."""
        if section is not None:
            return value
        return _convert(FLAGS_BY_NAME[attr], value, f"{where}{attr}")

    def _current(self, section: str | None, attr: str) -> object:
        if section is None:
            return getattr(self, attr)
        values: dict[str, object] = getattr(self, section).as_dict()
        return values.get(attr, _UNSET)

    def _assign(self, section: str | None, attr: str, value: object) -> None:
        if section is None:
            object.__setattr__(self, attr, value)
        elif value is _UNSET:
            delattr(getattr(self, section), attr)
        else:
            setattr(getattr(self, section), attr, value)

    @contextlib.contextmanager
    def change_flags(self, **flags: object) -> Iterator[None]:
        """Set flags for the duration of a ``with`` block (or a decorated function).

        All values are validated before any is set; the previous values come back on exit,
        also when the block raises. Legacy section flags are written with ``__`` or, through
        ``**{}``, with a dot: ``change_flags(warn__round=False)``.

        >>> with config.change_flags(floatX="float32", mode="REFERENCE"):
        ...     (config.floatX, config.mode)
        ('float32', 'REFERENCE')
        """
        changes = []
        for name, value in flags.items():
            section, attr = _resolve(name)
            if section is None and attr not in FLAGS_BY_NAME:
                raise AttributeError(_unknown_flag_message(name))
            changes.append((section, attr, self._checked(section, attr, value, "config.")))
        previous = [(section, attr, self._current(section, attr)) for section, attr, _ in changes]
        try:
            for section, attr, value in changes:
                self._assign(section, attr, value)
            yield
        finally:
            for section, attr, value in reversed(previous):
                self._assign(section, attr, value)

    def as_dict(self) -> dict[str, object]:
        """Every flag's value, then the legacy section attributes set (as 'section.name')."""
        values = {flag.name: getattr(self, flag.name) for flag in FLAGS}
        for section in LEGACY_SECTIONS:
            for attr, value in getattr(self, section).as_dict().items():
                values[f"{section}.{attr}"] = value
        return values

    def __str__(self) -> str:
        return "\n".join(f"{name} = {value!r}" for name, value in self.as_dict().items())

    def __repr__(self) -> str:
        return f"<jitgraph Config: {len(FLAGS)} flags>"


def _check_flag_table() -> None:
    """Import-time check that Config's annotations and FLAGS name the same flags."""
    annotated = {name for name, kind in Config.__annotations__.items() if kind != "_Section"}
    sections = {name for name, kind in Config.__annotations__.items() if kind == "_Section"}
    if annotated != set(FLAGS_BY_NAME) or sections != set(LEGACY_SECTIONS):
        raise AssertionError(
            f"Config annotations and FLAGS/LEGACY_SECTIONS disagree: "
            f"{sorted(annotated ^ set(FLAGS_BY_NAME))} {sorted(sections ^ set(LEGACY_SECTIONS))}"
        )
    for flag in FLAGS:
        if flag.default_factory is None:
            flag.convert(flag.default)  # every default must pass its own validation


_check_flag_table()

config = Config(os.environ.get(ENV_VAR, ""))
change_flags = config.change_flags
