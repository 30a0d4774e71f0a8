"""Neural-network functions of the Theano front end: ``theano.tensor.nnet``.

Reachable as ``jitgraph.tensor.nnet`` (``from jitgraph.tensor import nnet``). Activations
live in ``activations.py``, losses in ``crossentropy.py``; all are compositions of the
scalar op table's primitives (``sigmoid`` and ``softplus`` are primitives themselves).

>>> import jitgraph.tensor as T
>>> from jitgraph.tensor import nnet
>>> nnet.sigmoid(T.bvector("x")).dtype, nnet.relu(T.fmatrix("m")).dtype
('float32', 'float32')
"""

from jitgraph.tensor.nnet import activations, crossentropy
from jitgraph.tensor.nnet.activations import *  # noqa: F403
from jitgraph.tensor.nnet.crossentropy import *  # noqa: F403

__all__ = [*activations.__all__, *crossentropy.__all__]
