"""The dtype lattice and promotion rules.

One promotion function serves both front ends: Theano's rules (every operand is
"strong": the result is NumPy's ``promote_types`` of all operands) and NumPy 2's
rules (NEP 50: Python scalars are "weak" and take the dtype of the arrays they
meet, within their kind).

>>> upcast("int8", "float32")
'float32'
>>> result_dtype([("int8", False), ("int64", False)])
'int64'
>>> result_dtype([("float32", False), ("float64", True)])  # weak python float
'float32'
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

BOOL = ("bool",)
SIGNED = ("int8", "int16", "int32", "int64")
UNSIGNED = ("uint8", "uint16", "uint32", "uint64")
INTEGER = SIGNED + UNSIGNED
FLOAT = ("float16", "float32", "float64")
COMPLEX = ("complex64", "complex128")
ALL = BOOL + INTEGER + FLOAT + COMPLEX
REAL = BOOL + INTEGER + FLOAT
NUMERIC = INTEGER + FLOAT + COMPLEX

# Theano's one-letter prefixes of the constructor table (T.dmatrix, T.ivector, ...).
PREFIX = {
    "b": "int8",
    "w": "int16",
    "i": "int32",
    "l": "int64",
    "f": "float32",
    "d": "float64",
    "c": "complex64",
    "z": "complex128",
}

# What each NumPy dtype kind is called in error messages.
KIND_NAMES = {
    "b": "bool",
    "i": "signed integer",
    "u": "unsigned integer",
    "f": "float",
    "c": "complex",
}

_KIND_ORDER = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
# Lookups on the graph-building path (NumPy's dtype.name is slow): name -> kind, and
# NumPy dtypes and scalar types -> canonical name.
_KINDS = {name: np.dtype(name).kind for name in ALL}
_NAMES: dict[object, str] = {np.dtype(name): name for name in ALL}
_NAMES.update({np.dtype(name).type: name for name in ALL})


def canonical(dtype: object) -> str:
    """The canonical name of anything NumPy accepts as a dtype ('float64', not 'f8').

    >>> canonical(float), canonical("f4"), canonical(np.int16)
    ('float64', 'float32', 'int16')
    """
    if type(dtype) is str and dtype in _KINDS:  # already canonical: the common case
        return dtype
    if isinstance(getattr(dtype, "dtype", None), str):  # a type object: T.int32, T.dscalar
        dtype = dtype.dtype  # type: ignore[attr-defined]
    name = _NAMES.get(dtype)
    if name is not None:
        return name
    try:
        name = np.dtype(dtype).name  # type: ignore[call-overload]
    except TypeError as exc:
        raise TypeError(f"{dtype!r} is not a dtype (expected one of {', '.join(ALL)})") from exc
    if name not in ALL:
        raise TypeError(f"dtype {name!r} is not supported (expected one of {', '.join(ALL)})")
    return name


def kind(dtype: str) -> str:
    """'b' bool, 'i' signed, 'u' unsigned, 'f' float, 'c' complex."""
    found = _KINDS.get(dtype)
    return found if found is not None else np.dtype(dtype).kind


def is_integer(dtype: str) -> bool:
    return dtype in INTEGER


def is_float(dtype: str) -> bool:
    return dtype in FLOAT


def is_complex(dtype: str) -> bool:
    return dtype in COMPLEX


def upcast(*dtypes: str) -> str:
    """Theano's upcast: NumPy's ``promote_types`` folded left to right, every operand strong.

    Folded as Theano did (``z = z + zeros(dt)`` per operand): promotion is not
    associative, and ``np.result_type`` of all at once can differ.

    >>> upcast("int8", "uint8", "float16")  # int16, then with float16
    'float32'
    """
    if not dtypes:
        raise ValueError("upcast needs at least one dtype")
    if len(dtypes) == 2 and dtypes[0] == dtypes[1]:
        return canonical(dtypes[0])
    result = np.dtype(dtypes[0])
    for dtype in dtypes[1:]:
        result = np.promote_types(result, dtype)
    return canonical(result)


def result_dtype(operands: Iterable[tuple[str, bool]]) -> str:
    """Promotion with weak operands (NEP 50).

    ``operands`` are ``(dtype, weak)`` pairs. A weak operand (a Python scalar) only
    raises the result's *kind* (bool < int < float < complex); its width comes from
    the strong operands. With no strong operand, the weak ones decide alone.
    """
    items = list(operands)
    strong = [d for d, weak in items if not weak]
    weak = [d for d, w in items if w]
    if not strong:
        return upcast(*weak)
    # NumPy promotes all strong operands at once (not a pairwise fold, as Theano did).
    result = np.result_type(*[np.dtype(d) for d in strong]).name
    for w in weak:
        if _KIND_ORDER[kind(w)] > _KIND_ORDER[kind(result)]:
            result = _widen_kind(result, kind(w))
    return result


def _widen_kind(dtype: str, target_kind: str) -> str:
    """The smallest dtype of ``target_kind`` that a weak scalar meeting ``dtype`` gives."""
    if target_kind == "c":
        return "complex128" if dtype in ("float64",) or kind(dtype) in "iub" else "complex64"
    if target_kind == "f":
        return "float64" if kind(dtype) in "iub" else dtype
    return "int64"


def upgrade_to_float(dtype: str) -> str:
    """Theano's rule for math on integers: small ints give float32, wide ones float64."""
    if dtype in FLOAT or dtype in COMPLEX:
        return dtype
    if dtype in ("bool", "int8", "int16", "uint8", "uint16"):
        return "float32"
    return "float64"


def complex_to_real(dtype: str) -> str:
    return {"complex64": "float32", "complex128": "float64"}.get(dtype, dtype)


def can_cast_losslessly(src: str, dst: str) -> bool:
    """True when every value of ``src`` is exactly representable in ``dst``."""
    return bool(np.can_cast(src, dst, casting="safe"))


# Python's scalar types, and the dtype NumPy gives each when it meets no array
# (``np.asarray(1.0).dtype``): the NumPy front end's and ``@jit``'s default.
PYTHON_SCALARS: tuple[type, ...] = (bool, int, float, complex)
NUMPY_DEFAULT_DTYPES: dict[type, str] = {
    bool: "bool",
    int: "int64",
    float: "float64",
    complex: "complex128",
}


def autocast_python_scalar(value: object, floatX: str) -> str:
    """The dtype Theano gives a Python scalar constant (its 'custom' cast policy).

    bool -> bool; int -> the smallest of int8..int64 holding it; float -> floatX when
    floatX is not float64, else the smallest of float32/float64 holding it exactly;
    complex -> complex128 unless complex64 holds it exactly.
    """
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, int):
        for dtype in SIGNED:
            info = np.iinfo(dtype)
            if info.min <= value <= info.max:
                return dtype
        if 0 <= value <= np.iinfo("uint64").max:
            return "uint64"
        raise OverflowError(f"integer constant {value} does not fit in int64 or uint64")
    if isinstance(value, float):
        if floatX != "float64":
            return floatX
        # Compare as Python numbers: NumPy 2 compares a float32 with a Python float in
        # float32 (NEP 50), which would call every float exact. NaN is never exact.
        with np.errstate(over="ignore"):
            exact = float(np.float32(value)) == value
        return "float32" if exact else "float64"
    if isinstance(value, complex):
        with np.errstate(over="ignore"):
            exact = complex(np.complex64(value)) == value
        return "complex64" if exact else "complex128"
    raise TypeError(f"not a Python scalar: {value!r}")
