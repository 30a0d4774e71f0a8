"""``jitgraph.numpy``: NumPy's interface on jitgraph, lazy and fused.

``import jitgraph.numpy as np`` in a NumPy script: operations build a graph that is
compiled (optimized, fused into native kernels, cached by structure) and run when a
value is needed. The namespace is the Python Array API standard (2024.12) plus the NumPy
functions scripts reach for. Inside ``@jitgraph.jit`` the same functions trace.
"""

from __future__ import annotations

from jitgraph.numpy import (
    _creation,
    _dtypes,
    _elementwise,
    _indexing,
    _linalg,
    _manipulation,
    _reductions,
    _sorting,
    linalg,
    random,
)
from jitgraph.numpy._core import TracerError, ndarray
from jitgraph.numpy._creation import *  # noqa: F403
from jitgraph.numpy._dtypes import *  # noqa: F403
from jitgraph.numpy._elementwise import *  # noqa: F403
from jitgraph.numpy._indexing import *  # noqa: F403
from jitgraph.numpy._linalg import *  # noqa: F403
from jitgraph.numpy._manipulation import *  # noqa: F403
from jitgraph.numpy._reductions import *  # noqa: F403
from jitgraph.numpy._sorting import *  # noqa: F403

__array_api_version__ = "2024.12"

__all__ = [
    "TracerError",
    "ndarray",
    "linalg",
    "random",
    *_creation.__all__,
    *_dtypes.__all__,
    *_elementwise.__all__,
    *_indexing.__all__,
    *_linalg.__all__,
    *_manipulation.__all__,
    *_reductions.__all__,
    *_sorting.__all__,
]
