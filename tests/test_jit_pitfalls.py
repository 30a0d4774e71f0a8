"""Tracing pitfalls of ``@jit``, and exactly what users are told.

- Python control flow on a traced value (if/while/and/or/not, bool/int/float, len and
  iteration of an unknown length) raises TracerError naming the user's line and pointing
  to jnp.where / jitgraph.ifelse.ifelse / jitgraph.scan or static arguments.
- Values read from outside the arguments (globals, closures) are constants frozen at
  trace time: changing them does nothing until the function traces again.
- The cache key is (dtype, rank, broadcast pattern) per array and the Python type of a
  Python scalar: a new dtype, rank or pattern traces again; a new size or a new scalar
  value does not.
- Python scalars are weakly typed (NEP 50), as in NumPy 2.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from numpy.testing import assert_allclose

import jitgraph
import jitgraph.numpy as jnp

HINT = (
    "Use jnp.where(condition, a, b) for an elementwise choice, jitgraph.ifelse.ifelse for "
    "a lazily evaluated branch, jitgraph.scan for a loop, or pass the value as a static "
    "argument (jit(f, static_argnums=...))."
)


def _line_of(fn, marker: str) -> str:
    """'file:line' of the line of ``fn``'s source containing ``marker``."""
    import inspect

    lines, first = inspect.getsourcelines(fn)
    for offset, line in enumerate(lines):
        if marker in line:
            return f"{inspect.getsourcefile(fn)}:{first + offset}"
    raise AssertionError(marker)


def _if_positive(x):
    if x > 0:  # MARK-if
        return x
    return -x


def _while_loop(x):
    while x < 10:  # MARK-while
        x = x * 2
    return x


def _and(x, y):
    return x and y  # MARK-and


def _float_of(x):
    return float(x) * 2  # MARK-float


def _int_of(x):
    return x * int(x)  # MARK-int


def _len_of(x):
    return x * len(x)  # MARK-len


def _iterate(x):
    total = 0
    for row in x:  # MARK-iter
        total = total + row
    return total


@pytest.mark.parametrize(
    "fn, marker, what",
    [
        (_if_positive, "MARK-if", "bool() of an array (an if/while condition, and, or, not)"),
        (_while_loop, "MARK-while", "bool() of an array (an if/while condition, and, or, not)"),
        (_float_of, "MARK-float", "float() of an array"),
        (_int_of, "MARK-int", "int() of an array"),
    ],
)
def test_control_flow_on_a_traced_value(fn, marker, what):
    f = jitgraph.jit(fn)
    with pytest.raises(jnp.TracerError) as info:
        f(np.array(1.5))
    expected = (
        f"{what} needs the value of a traced array, which exists only when the compiled "
        f"function runs (at {_line_of(fn, marker)}). {HINT}"
    )
    assert str(info.value) == expected
    assert isinstance(info.value, TypeError)
    # the user's frame is in the traceback (nothing re-raised it from elsewhere)
    assert any(entry.name == fn.__name__ for entry in info.traceback)


def test_and_of_traced_values():
    with pytest.raises(jnp.TracerError, match=re.escape(_line_of(_and, "MARK-and"))):
        jitgraph.jit(_and)(np.array(True), np.array(False))


def test_len_and_iteration_of_an_unknown_length():
    with pytest.raises(jnp.TracerError) as info:
        jitgraph.jit(_len_of)(np.ones(3))
    assert str(info.value) == (
        "len() of a traced array whose length is known only at run time "
        f"(at {_line_of(_len_of, 'MARK-len')}); use x.shape[0] in array expressions. {HINT}"
    )
    with pytest.raises(jnp.TracerError) as info:
        jitgraph.jit(_iterate)(np.ones((3, 2)))
    assert str(info.value) == (
        "iterating over a traced array whose length is known only at run time (at "
        f"{_line_of(_iterate, 'MARK-iter')}). {HINT}"
    )


def test_static_argument_allows_control_flow():
    f = jitgraph.jit(lambda x, positive: x if positive else -x, static_argnums=1)
    assert_allclose(f(np.ones(2), False), [-1.0, -1.0])


def test_where_instead_of_if():
    where = getattr(jnp, "where", None)
    if where is None:
        pytest.skip("jnp.where is not in the namespace yet")
    f = jitgraph.jit(lambda x: where(x > 0, x, -x))
    assert_allclose(f(np.array([-2.0, 3.0])), [2.0, 3.0])


OFFSET = 1.0


def _add_offset(x):
    return x + OFFSET


def test_globals_are_constants_frozen_at_trace_time():
    global OFFSET
    f = jitgraph.jit(_add_offset)
    try:
        assert_allclose(f(np.zeros(2)), [1.0, 1.0])
        OFFSET = 5.0
        assert_allclose(f(np.zeros(3)), [1.0, 1.0, 1.0])  # same key: the frozen value
        assert_allclose(f(np.zeros((1, 2))), [[5.0, 5.0]])  # a new rank traces: new value
        f.clear_cache()
        assert_allclose(f(np.zeros(2)), [5.0, 5.0])
    finally:
        OFFSET = 1.0


def test_closure_arrays_are_frozen_too():
    table = np.array([1.0, 2.0])
    f = jitgraph.jit(lambda x: x * table)
    assert_allclose(f(np.ones(2)), [1.0, 2.0])
    table[:] = 10.0  # the trace copied it (jnp leaves are read-only copies)
    assert_allclose(f(np.ones(2)), [1.0, 2.0])


def test_retrace_on_dtype_change_not_on_size_change():
    f = jitgraph.jit(lambda x: x * 2)
    f(np.ones(3))
    f(np.ones(1000))
    assert f.cache_info()["traces"] == 1
    out = f(np.ones(3, dtype=np.float32))
    assert out.dtype == np.float32
    assert f.cache_info()["traces"] == 2
    f(np.ones(3, dtype=np.int32))
    assert f.cache_info()["traces"] == 3


def test_retrace_on_rank_and_broadcast_pattern_change():
    f = jitgraph.jit(lambda x, y: x - y)
    f(np.ones((2, 3)), np.ones((2, 3)))
    f(np.ones((4, 5)), np.ones((4, 5)))
    assert f.cache_info()["traces"] == 1
    out = f(np.ones((4, 5)), np.full((1, 5), 3.0))  # y broadcasts along axis 0
    assert_allclose(out, np.full((4, 5), -2.0))
    assert f.cache_info()["traces"] == 2
    f(np.ones(5), np.ones(5))  # rank 1
    assert f.cache_info()["traces"] == 3


def test_python_scalars_are_weak():
    f = jitgraph.jit(lambda x, s: x * s)
    x32 = np.arange(3, dtype=np.float32)
    out = f(x32, 2.0)
    assert out.dtype == (x32 * 2.0).dtype == np.float32
    assert_allclose(f(x32, 3.5), x32 * 3.5)
    assert f.cache_info()["traces"] == 1  # a new value of the scalar: no trace
    i16 = np.arange(3, dtype=np.int16)
    assert f(i16, 3).dtype == (i16 * 3).dtype == np.int16
    assert f(i16, 2.5).dtype == (i16 * 2.5).dtype == np.float64
    assert f(2.0, 3).dtype == np.float64  # both weak: NumPy's defaults
    # a NumPy scalar is strong, as in NumPy 2
    assert f(x32, np.float64(2.0)).dtype == (x32 * np.float64(2.0)).dtype == np.float64
