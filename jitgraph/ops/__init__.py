"""The op tables: elementwise (scalar.py, THE table), reductions, shape and indexing,
linear algebra. See ops/base.py for what every op provides."""
