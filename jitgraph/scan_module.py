"""Theano's ``theano.scan_module``: ``scan``, ``until`` and the loop helpers."""

from jitgraph.scan import foldl, foldr, map, reduce, scan, until

__all__ = ["foldl", "foldr", "map", "reduce", "scan", "until"]
