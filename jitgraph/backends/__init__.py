"""Backends: reference (the NumPy interpreter and oracle); llvm and cuda come later."""
