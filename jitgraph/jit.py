"""``@jit``: trace a Python function of ``jitgraph.numpy`` arrays once per argument
signature and run the compiled program afterwards (the disk side is
:mod:`jitgraph.jit_cache`; ``grad``/``value_and_grad`` of a Python function are in
:mod:`jitgraph.functional`).

>>> import numpy as np
>>> import jitgraph
>>> @jitgraph.jit
... def f(x, y):
...     return x * 2 + y
>>> f(np.arange(3.0), 1.0)
array([1., 3., 5.])

How a call runs
---------------
The arguments (nested tuples, lists and dicts of arrays, NumPy scalars, Python scalars and
None) are flattened into leaves and a tree structure. The cache key is the tree structure,
for each leaf its dtype, rank and broadcast pattern (which dimensions have size 1), and the
static arguments (``static_argnums``/``static_argnames``, by value). On a miss, the
function is *traced*: called once on symbolic arrays (``jitgraph.numpy`` functions build
the graph), then compiled with ``jitgraph.function``. A new size with the same key does not
trace again. Python scalars are traced as weakly typed 0-d inputs: ``f(float32_array,
2.0)`` computes in float32 as NumPy 2 would (NEP 50), and a new value of the scalar does
not trace again.

Results are NumPy arrays (0-d arrays for scalars), in the tree structure the function
returned, as ``jitgraph.function`` returns them. Values the function reads that are not
arguments (globals, closures, concrete arrays) are *constants frozen at trace time*:
changing them later changes nothing until the function traces again (a new key, or
``f.clear_cache()``). Python control flow on a traced value (``if x > 0``, ``while``,
``bool``/``int``/``float``, ``len`` of an unknown length) raises
``jitgraph.numpy.TracerError`` naming the line; use ``jnp.where``,
``jitgraph.ifelse.ifelse`` or ``jitgraph.scan``, or make the value a static argument.

A size-1 dimension is part of the key (its pattern broadcasts). The last program used
also serves, through ``Function``'s short call path, a call whose arrays have the same
dtypes and ranks when their sizes agree without broadcasting (the values are the same);
a call that needs broadcasting takes the keyed path and traces for its pattern.

Disk cache: when the function can be fingerprinted (its code, closure, defaults and the
globals it names are numbers, strings, tuples, arrays, modules or such functions), the
optimized graph is stored in ``jitgraph.cache`` under that fingerprint and the call key;
a new process loads it and skips tracing *and* optimization (the native code of the
kernels comes from the same cache).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from jitgraph import dtypes
from jitgraph.backends.cuda.runtime import is_device_array, to_device, to_host
from jitgraph.compile.fastcall import MISS
from jitgraph.ir.graph import Const, Var
from jitgraph.ir.types import TensorType

__all__ = ["JitFunction", "Lowered", "jit"]

# A jit function's mode: (compile mode name, device), or None for the configured ones.
_BACKEND_MODES: dict[str | None, tuple[str, str] | None] = {
    None: None,
    "llvm": ("FAST_RUN", "cpu"),
    "reference": ("REFERENCE", "cpu"),
    "cuda": ("FAST_RUN", "cuda"),
}
_PYTHON_SCALARS = dtypes.PYTHON_SCALARS
_DEFAULT_DTYPES = {kind: np.dtype(name) for kind, name in dtypes.NUMPY_DEFAULT_DTYPES.items()}


def _core() -> Any:
    from jitgraph.numpy import _core  # jitgraph.numpy imports jitgraph: import it late

    return _core


# ----------------------------------------------------------------------------- trees
# A tree structure is hashable: LEAF, None, ("S", i) for a static argument, (type,
# children) for a tuple, list or namedtuple, and (dict, keys, children) for a dict.
LEAF = "*"


class _Static:
    """Where a static argument sits in the argument tree (its value is in the key)."""

    __slots__ = ("position",)

    def __init__(self, position: Any) -> None:
        self.position = position


def flatten(tree: Any, leaves: list[Any]) -> Any:
    """The structure of ``tree``, appending its leaves in order."""
    kind = type(tree)
    if kind is tuple or kind is list or (isinstance(tree, tuple) and hasattr(kind, "_fields")):
        return (kind, tuple([flatten(c, leaves) for c in tree]))
    if kind is dict:
        keys = tuple(tree)
        return (dict, keys, tuple([flatten(tree[k], leaves) for k in keys]))
    if tree is None:
        return None
    if kind is _Static:
        return ("S", tree.position)
    leaves.append(tree)
    return LEAF


def leaf_paths(structure: Any, path: str = "") -> list[str]:
    """The path of each leaf of ``structure`` ('[0]', "['w'][1]", ...), in order."""
    if structure is LEAF:
        return [path]
    if structure is None or structure[0] == "S":
        return []
    if structure[0] is dict:
        _, keys, children = structure
        pairs = [(f"[{k!r}]", c) for k, c in zip(keys, children, strict=True)]
    else:
        pairs = [(f"[{i}]", c) for i, c in enumerate(structure[1])]
    return [p for label, child in pairs for p in leaf_paths(child, path + label)]


def unflatten(structure: Any, leaves: Iterator[Any], statics: dict[Any, Any] | None = None) -> Any:
    """The tree of ``structure`` holding the next values of ``leaves``."""
    if structure is LEAF:
        return next(leaves)
    if structure is None:
        return None
    kind = structure[0]
    if kind == "S":
        return statics[structure[1]]  # type: ignore[index]
    if kind is dict:
        _, keys, children = structure
        return {k: unflatten(c, leaves, statics) for k, c in zip(keys, children, strict=True)}
    items = [unflatten(c, leaves, statics) for c in structure[1]]
    if kind is tuple or kind is list:
        return kind(items)
    return kind(*items)  # a namedtuple


# ----------------------------------------------------------------------------- leaves
_DTYPES = frozenset(np.dtype(name) for name in dtypes.ALL)


def _leaf_value(leaf: Any) -> tuple[np.ndarray, Any] | None:
    """A call's leaf as the array passed to the program, and its part of the key:
    (dtype, ndim, broadcast pattern), or (Python type,) for a weak Python scalar. None
    for a leaf that is no array (or of a dtype jitgraph lacks)."""
    kind = type(leaf)
    if kind is np.ndarray:
        value = leaf
    elif kind in _PYTHON_SCALARS:
        return np.asarray(leaf, dtype=_DEFAULT_DTYPES[kind]), (kind,)
    elif isinstance(leaf, (np.ndarray, np.generic)):
        value = np.asarray(leaf)
    elif isinstance(leaf, _core().ndarray):
        value = leaf.value
    elif is_device_array(leaf):  # a CuPy array: stays on the GPU
        value = leaf
    else:
        return None
    if value.dtype not in _DTYPES:
        if not value.dtype.isnative and value.dtype.newbyteorder("=") in _DTYPES:
            value = value.astype(value.dtype.newbyteorder("="))  # compiled code reads native
        else:
            return None
    return value, (value.dtype, value.ndim, tuple([d == 1 for d in value.shape]))


def _bad_leaf(leaf: Any, name: str, where: str) -> TypeError:
    if isinstance(leaf, (np.ndarray, np.generic)) or type(leaf).__name__ == "ndarray":
        return TypeError(f"{where}: argument {name} has dtype {leaf.dtype}, which jitgraph lacks")
    return TypeError(
        f"{where}: argument {name} is a {type(leaf).__name__}, which is not an array; jit "
        "arguments are arrays, scalars, None and tuples/lists/dicts of them. Pass it as a "
        "static argument (static_argnums=/static_argnames=) or convert it to an array"
    )


def _traced_input(leaf_key: Any, name: str) -> Any:
    core = _core()
    if len(leaf_key) == 1:  # a Python scalar: a weak 0-d input of NumPy's default dtype
        return core.trace_input(TensorType(_DEFAULT_DTYPES[leaf_key[0]], ()), name, weak=True)
    dtype, _, pattern = leaf_key
    shape = tuple(1 if one else None for one in pattern)
    return core.trace_input(TensorType(dtype, shape), name)


# ----------------------------------------------------------------------------- entries
class _Entry:
    """One compiled signature: the ``Function``, how its results form the output tree,
    and (for a call of positional arrays only) its short call path."""

    __slots__ = ("function", "fast", "post", "from_disk", "record")

    def __init__(
        self,
        function: Any,
        out_structure: Any,
        sources: list[Any],
        plain: bool,
        from_disk: bool,
    ) -> None:
        self.function = function
        self.from_disk = from_disk
        self.record = (out_structure, sources)
        if getattr(function, "output_device", "cpu") == "cuda":  # constants join the results
            sources = [s if isinstance(s, int) else to_device(s) for s in sources]
        self.post = _post_processor(out_structure, sources, single=function._shape == "single")
        self.fast = function._fast_call if plain else None

    def run(self, values: Sequence[np.ndarray]) -> Any:
        results = self.function(*values)
        return results if self.post is None else self.post(results)


def _post_processor(structure: Any, sources: list[Any], single: bool) -> Any:
    """What turns the Function's results into the output tree: None (the Function returns
    the one array), ``tuple``, or a general rebuild. ``sources``: per output leaf, the
    position of its graph output or a constant (an array)."""
    if single and structure is LEAF:
        return None
    if single:
        return functools.partial(_rebuild_single, structure, sources)
    graph_only = all(isinstance(s, int) for s in sources)
    in_order = graph_only and sources == list(range(len(sources)))
    if in_order and structure == (tuple, (LEAF,) * len(sources)):
        return tuple
    if in_order and structure == (list, (LEAF,) * len(sources)):
        return None
    return functools.partial(_rebuild, structure, sources)


def _rebuild(structure: Any, sources: list[Any], results: list[np.ndarray]) -> Any:
    leaves = (results[s] if isinstance(s, int) else s.copy() for s in sources)
    return unflatten(structure, leaves)


def _rebuild_single(structure: Any, sources: list[Any], result: np.ndarray) -> Any:
    return _rebuild(structure, sources, [result])


# ----------------------------------------------------------------------------- jit
def jit(
    fn: Callable[..., Any] | None = None,
    static_argnums: int | Iterable[int] | None = None,
    static_argnames: str | Iterable[str] | None = None,
    backend: str | None = None,
) -> Any:
    """Compile ``fn`` by tracing it on abstract arrays (module docstring). Use as
    ``@jit``, ``@jit(static_argnums=...)`` or ``jit(fn, ...)``.

    ``backend``: None (the configured mode and device; on 'cuda' when an argument is a
    CuPy or 'cuda' jnp array), 'llvm' (FAST_RUN), 'reference'
    (the NumPy interpreter) or 'cuda' (FAST_RUN on the GPU: arguments NumPy or CuPy
    arrays, results CuPy arrays; ``CudaUnavailableError`` without CuPy or a GPU).

    >>> import numpy as np, jitgraph
    >>> f = jitgraph.jit(lambda x, n: x**n, static_argnums=1)
    >>> f(np.array([1.0, 2.0]), 3), f.cache_info()["entries"]
    (array([1., 8.]), 1)
    """
    if fn is None:
        return functools.partial(
            jit, static_argnums=static_argnums, static_argnames=static_argnames, backend=backend
        )
    return JitFunction(fn, static_argnums, static_argnames, backend)


def _mode_of_backend(backend: str | None) -> tuple[str, str] | None:
    if backend not in _BACKEND_MODES:
        raise ValueError(
            f"jit: backend must be None, 'llvm', 'reference' or 'cuda', got {backend!r}"
        )
    if backend == "cuda":
        from jitgraph.backends.cuda.runtime import cupy_module

        cupy_module()  # CudaUnavailableError now, naming what is missing
    return _BACKEND_MODES[backend]


class JitFunction:
    """A function compiled per argument signature (see :func:`jit`).

    ``f(*args, **kwargs)`` runs it; ``f.lower(*args)`` shows every stage;
    ``f.cache_info()`` counts traces, entries and disk-cache hits; ``f.clear_cache()``
    drops the compiled entries (the next call traces again).
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        static_argnums: int | Iterable[int] | None,
        static_argnames: str | Iterable[str] | None,
        backend: str | None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"jit() takes a callable, got {type(fn).__name__}")
        self._fn = fn
        self._mode = _mode_of_backend(backend)
        self._options = (static_argnums, static_argnames, backend)
        functools.update_wrapper(self, fn, updated=())  # not fn.__dict__: it may be a JitFunction
        self._parameters = _positional_parameters(fn)
        self._static_positions, self._static_names = _static_sets(
            fn, self._parameters, static_argnums, static_argnames
        )
        # What the disk key fingerprints (grad's compiled function: the grad object).
        self._fingerprinted: Any = fn
        self._where = f"jit({getattr(fn, '__name__', 'function')})"  # how errors name it
        self._entries: dict[Any, _Entry] = {}
        self._last: _Entry | None = None
        self._counts = {"traces": 0, "disk_hits": 0, "disk_misses": 0, "disk_stores": 0}

    def __repr__(self) -> str:
        return f"<jit {getattr(self._fn, '__qualname__', self._fn)!r}>"

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        return self if instance is None else functools.partial(self, instance)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        entry = self._last
        if entry is not None and not kwargs:
            fast = entry.fast
            if fast is not None:
                result = fast(args)
                if result is not MISS:
                    post = entry.post
                    return result if post is None else post(result)
        return self._call(args, kwargs)

    def _call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if _core().is_tracing():  # inside another trace (jit of jit, grad of jit): inline
            return self._fn(*args, **kwargs)
        signature = self._signature(args, kwargs)
        entry = self._entries.get(signature.key)
        if entry is None:
            entry = self._load(signature)
            if entry is None:
                entry = self._trace(signature)
            self._entries[signature.key] = entry
        if entry.fast is not None:
            self._last = entry
        return entry.run(signature.values)

    # ---- the key of a call
    def _signature(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Signature:
        statics: dict[Any, Any] = {}
        dynamic_args: list[Any] = []
        for i, a in enumerate(args):
            if i in self._static_positions:
                statics[i] = a
                dynamic_args.append(_Static(i))
            else:
                dynamic_args.append(a)
        dynamic_kwargs: dict[str, Any] = {}
        for name in sorted(kwargs):
            if name in self._static_names:
                statics[name] = kwargs[name]
                dynamic_kwargs[name] = _Static(name)
            else:
                dynamic_kwargs[name] = kwargs[name]
        static_key = tuple(
            (where, type(value), self._hashable(where, value)) for where, value in statics.items()
        )
        leaves: list[Any] = []
        structure = (flatten(tuple(dynamic_args), leaves), flatten(dynamic_kwargs, leaves))
        values: list[np.ndarray] = []
        leaf_keys: list[Any] = []
        for i, leaf in enumerate(leaves):
            found = _leaf_value(leaf)
            if found is None:
                raise _bad_leaf(leaf, self._leaf_names(structure)[i], self._where)
            values.append(found[0])
            leaf_keys.append(found[1])
        mode = self._mode or _config_mode()
        if self._mode is None and mode[0] != "REFERENCE" and any(map(is_device_array, values)):
            mode = (mode[0], "cuda")  # GPU arguments (CuPy, 'cuda' jnp arrays): run there
        key = (mode, structure, tuple(leaf_keys), static_key)
        plain = not kwargs and not statics and all(s is LEAF for s in structure[0][1])
        return _Signature(key, values, structure, statics, plain, mode)

    def _hashable(self, where: Any, value: Any) -> Any:
        try:
            hash(value)
        except TypeError:
            label = f"argument {where}" if isinstance(where, int) else f"argument {where!r}"
            if isinstance(where, int) and where < len(self._parameters):
                label += f" ({self._parameters[where]!r})"
            raise TypeError(
                f"{self._where}: static {label} must be hashable (its value is part of the "
                f"cache key), got an unhashable {type(value).__name__}: {value!r:.80}. Pass "
                "a tuple instead of a list, or make it a traced (non-static) argument"
            ) from None
        return value

    def _leaf_names(self, structure: Any) -> list[str]:
        """The user's name of each leaf: 'x', "params['w']", 'args[2]', 'scale'."""
        args_structure, kwargs_structure = structure
        names = [self._path_name(p) for p in leaf_paths(args_structure)]
        return names + [self._path_name(p) for p in leaf_paths(kwargs_structure)]

    def _path_name(self, path: str) -> str:
        """'x', "params['w']" or 'args[2]' for a leaf's path ('[0][1]' or "['w']")."""
        if path.startswith("[") and path[1:2].isdigit():
            end = path.index("]")
            position = int(path[1:end])
            head = (
                self._parameters[position]
                if position < len(self._parameters)
                else f"args[{position}]"
            )
            return head + path[end + 1 :]
        if path.startswith("['"):
            end = path.index("']")
            return path[2:end] + path[end + 2 :]
        return path

    # ---- tracing and compiling
    def _trace(self, signature: _Signature) -> _Entry:
        """Trace the function for ``signature`` and compile it (and store it on disk)."""
        traced = self._traced_graph(signature)
        inputs, outputs, out_structure, sources = traced
        function = _compile(inputs, outputs, signature.mode, self._fn)
        entry = _Entry(function, out_structure, sources, signature.plain, from_disk=False)
        self._store(signature, entry)
        return entry

    def _traced_graph(self, signature: _Signature) -> tuple[list[Var], list[Var], Any, list[Any]]:
        core = _core()
        self._counts["traces"] += 1
        leaf_keys = signature.key[2]
        names = self._leaf_names(signature.structure)
        arrays = [_traced_input(k, n) for k, n in zip(leaf_keys, names, strict=True)]
        # Recorded before the call: an in-place operation on an argument rebinds its array.
        inputs = [a._variable for a in arrays]
        args_structure, kwargs_structure = signature.structure
        with core.tracing():
            leaves = iter(arrays)
            args = unflatten(args_structure, leaves, signature.statics)
            kwargs = unflatten(kwargs_structure, leaves, signature.statics)
            result = self._fn(*args, **kwargs)
            out_structure, outputs, sources = _output_tree(result, self._where)
        return inputs, _freeze_captured(outputs, inputs), out_structure, sources

    # ---- the disk cache
    def _disk_key(self, signature: _Signature) -> Any:
        from jitgraph import cache
        from jitgraph.jit_cache import _stable_text, function_fingerprint

        if not cache.get_cache().enabled:
            return None
        fingerprint = function_fingerprint(self._fingerprinted)
        key_text = _stable_text(signature.key)
        if fingerprint is None or key_text is None:
            return None
        return cache.cache_key(
            graph=fingerprint, inputs=key_text, backend="jit", target="any", extra="jit-graph"
        )

    def _load(self, signature: _Signature) -> _Entry | None:
        from jitgraph import cache
        from jitgraph.jit_cache import _decode_entry

        key = self._disk_key(signature)
        if key is None:
            return None
        payload = cache.get_cache().load(key)
        if payload is None:
            self._counts["disk_misses"] += 1
            return None
        try:
            entry = _decode_entry(payload, signature)
        except (ValueError, TypeError, KeyError):  # a stale or foreign payload: trace
            self._counts["disk_misses"] += 1
            return None
        self._counts["disk_hits"] += 1
        return entry

    def _store(self, signature: _Signature, entry: _Entry) -> None:
        from jitgraph import cache
        from jitgraph.jit_cache import _encode_entry

        key = self._disk_key(signature)
        if key is None:
            return
        payload = _encode_entry(entry)
        if payload is not None and cache.get_cache().store(key, payload):
            self._counts["disk_stores"] += 1

    # ---- introspection
    def lower(self, *args: Any, **kwargs: Any) -> Lowered:
        """Every stage of the program for these arguments: ``.as_text()`` shows the traced
        graph, the optimized graph, the fused kernels and the LLVM IR; ``.compile()`` is
        the callable."""
        signature = self._signature(args, kwargs)
        entry = self._entries.get(signature.key)
        if entry is None:
            entry = self._load(signature) or self._trace(signature)
            self._entries[signature.key] = entry
        return Lowered(self, entry, signature.key)

    def cache_info(self) -> dict[str, int]:
        """{'traces', 'entries', 'disk_hits', 'disk_misses', 'disk_stores'}: traces since
        creation, compiled entries held now, and disk-cache use."""
        return {**self._counts, "entries": len(self._entries)}

    def clear_cache(self) -> None:
        """Drop the compiled entries: the next call traces again (counters are kept)."""
        self._entries.clear()
        self._last = None


class _Signature:
    __slots__ = ("key", "values", "structure", "statics", "plain", "mode")

    def __init__(
        self,
        key: Any,
        values: list[np.ndarray],
        structure: Any,
        statics: dict[Any, Any],
        plain: bool,
        mode: tuple[str, str],
    ) -> None:
        self.key = key
        self.values = values
        self.structure = structure
        self.statics = statics
        self.plain = plain
        self.mode = mode


_MODE_NAMES: dict[tuple[str, str], tuple[str, str]] = {}


def _config_mode() -> tuple[str, str]:
    """The canonical names of ``config.mode`` and ``config.device`` (remembered per
    spelling); REFERENCE, the NumPy interpreter, runs on the host whatever the device."""
    from jitgraph.config import canonical_device, canonical_mode, config

    raw = (config.mode, config.device)
    names = _MODE_NAMES.get(raw)
    if names is None:
        name = canonical_mode(raw[0])
        device = "cpu" if name == "REFERENCE" else canonical_device(raw[1])
        names = _MODE_NAMES[raw] = (name, device)
    return names


def _positional_parameters(fn: Any) -> list[str]:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in parameters if p.kind in kinds]


def _static_sets(
    fn: Any,
    parameters: list[str],
    static_argnums: int | Iterable[int] | None,
    static_argnames: str | Iterable[str] | None,
) -> tuple[frozenset[int], frozenset[str]]:
    """The static argument positions and names, each completed from the other through
    the signature (a static argument may be passed either way)."""
    nums = [static_argnums] if isinstance(static_argnums, int) else list(static_argnums or ())
    names = [static_argnames] if isinstance(static_argnames, str) else list(static_argnames or ())
    positions: set[int] = set()
    for n in nums:
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"jit: static_argnums must be ints, got {n!r}")
        if n < 0:
            if not parameters:
                raise ValueError(f"jit: static_argnums={n} needs a function with a signature")
            n += len(parameters)
        positions.add(n)
        if n < len(parameters):
            names.append(parameters[n])
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"jit: static_argnames must be strings, got {name!r}")
        if name in parameters:
            positions.add(parameters.index(name))
    return frozenset(positions), frozenset(names)


def _output_tree(result: Any, where: str) -> tuple[Any, list[Var], list[Any]]:
    """The structure of the function's result, its graph outputs, and per output leaf the
    position of its graph output or its constant value."""
    core = _core()
    leaves: list[Any] = []
    structure = flatten(result, leaves)
    paths = leaf_paths(structure)
    outputs: list[Var] = []
    sources: list[Any] = []
    for leaf, path in zip(leaves, paths, strict=True):
        if isinstance(leaf, core.ndarray):
            if leaf._value is None and core.is_traced(leaf):
                sources.append(len(outputs))
                outputs.append(leaf._variable)
                continue
            leaf = to_host(leaf.value)  # a constant output; a 'cuda' one is copied
        elif not isinstance(leaf, (np.ndarray, np.generic, *_PYTHON_SCALARS)):
            raise TypeError(
                f"{where}: the function returned a {type(leaf).__name__} at output"
                f"{path or ''}; outputs must be arrays, scalars, None and tuples/lists/dicts "
                "of them"
            )
        value = np.array(leaf)
        value.flags.writeable = False
        sources.append(value)
    return structure, outputs, sources


def _freeze_captured(outputs: list[Var], inputs: list[Var]) -> list[Var]:
    """``outputs`` with every captured concrete value (a global, a closure, a concrete
    array the function used) replaced by a constant holding its value at trace time."""
    from jitgraph.ir.graph import make_constant
    from jitgraph.ir.rebuild import replace

    own = {id(v) for v in inputs}
    mapping: dict[Var, Var] = {}
    seen: set[int] = set()
    stack = list(outputs)
    while stack:
        var = stack.pop()
        if id(var) in seen or id(var) in own or isinstance(var, Const):
            continue
        seen.add(id(var))
        value = var.tag.get("value")
        if value is not None:
            value = to_host(value)  # a 'cuda' jnp array's value: constants are host data
            mapping[var] = make_constant(value, TensorType(value.dtype, value.shape))
        elif var.owner is not None:
            stack.extend(var.owner.inputs)
        elif var.tag.get("traced"):
            raise ValueError(
                "jit: the function used an array traced by another call (a leaked traced "
                f"value, {var.describe()}); pass it as an argument instead"
            )
    return replace(outputs, mapping)


def _compile(inputs: list[Var], outputs: list[Var], mode: tuple[str, str], fn: Any) -> Any:
    from jitgraph.compile.function import function

    name = getattr(fn, "__qualname__", None)
    spec: Any = outputs[0] if len(outputs) == 1 else outputs
    return function(inputs, spec, mode=mode[0], device=mode[1], on_unused_input="ignore", name=name)


# ----------------------------------------------------------------------------- lower
class Lowered:
    """The stages of one compiled signature of a ``@jit`` function (``f.lower(...)``)."""

    def __init__(self, owner: JitFunction, entry: _Entry, key: Any) -> None:
        self._owner = owner
        self._entry = entry
        self._key = key

    @property
    def function(self) -> Any:
        """The ``jitgraph.Function`` that runs."""
        return self._entry.function

    def compile(self) -> Callable[..., Any]:
        """The callable running this program (the ``@jit`` function itself: calls with
        this signature reuse this entry)."""
        return self._owner

    def as_text(self) -> str:
        from jitgraph.printing import debugprint

        function = self._entry.function
        traced = function.unoptimized_graph
        note = (
            "  (loaded from the disk cache: tracing was skipped; this is the optimized graph)\n"
            if self._entry.from_disk
            else ""
        )
        kernels = function.kernels
        kernel_text = "\n\n".join(k.as_text() for k in kernels) or "(no fused kernels)"
        sections = [
            f"== {self._owner._where}, mode {function.mode.name}",
            "== traced graph\n" + note + debugprint(traced, file="str"),
            "== optimized graph\n" + debugprint(function.graph, file="str", print_inner=False),
            f"== kernels ({len(kernels)})\n" + kernel_text,
            native_code(function),
        ]
        return "\n\n".join(s.rstrip() for s in sections) + "\n"


def native_code(function: Any) -> str:
    """The section of ``as_text`` showing the code the backend compiled: LLVM IR, or the
    CUDA C of the kernels on the GPU."""
    if function.mode.backend == "cuda":
        return "== CUDA C\n" + cuda_source(function)
    return "== LLVM IR\n" + llvm_ir(function)


def cuda_source(function: Any) -> str:
    """The CUDA C of ``function``'s kernels (generated again: the source compiled)."""
    from jitgraph.backends.cuda.codegen import kernel_source
    from jitgraph.backends.llvm.program import node_kernel

    kernels = [k for node in function.graph.nodes if (k := node_kernel(node)) is not None]
    if not kernels:
        return "(none: the program has no kernel)"
    unique = {"k" + k.key()[:16]: k for k in kernels}
    return "\n\n".join(kernel_source(k, name) for name, k in unique.items())


def llvm_ir(function: Any) -> str:
    """The LLVM IR text of ``function``'s native kernels (generated again from the
    kernels: the same text the backend compiled, whose object code is cached)."""
    if function.mode.backend != "llvm":
        return f"(none: mode {function.mode.name} runs the reference interpreter)"
    from jitgraph.backends.llvm.codegen import kernel_module
    from jitgraph.backends.llvm.launch import kernel_names
    from jitgraph.backends.llvm.program import node_kernel

    kernels = [k for node in function.graph.nodes if (k := node_kernel(node)) is not None]
    if not kernels:
        return "(none: the program has no native kernel)"
    unique = dict(zip(kernel_names(kernels), kernels, strict=True))
    return kernel_module([(k, n) for n, k in unique.items()])
