"""Theano's ``theano.sandbox`` module path: ``jitgraph.sandbox.rng_mrg.MRG_RandomStreams``."""

from jitgraph.sandbox import rng_mrg

__all__ = ["rng_mrg"]
