"""Compilation modes: which rewrites run and which backend executes.

- ``FAST_RUN`` (default): every rewrite, then the LLVM backend (native code);
- ``FAST_COMPILE``: few rewrites (fusion included), then the LLVM backend;
- ``REFERENCE``: no rewrites, the NumPy interpreter (the oracle of every test).

``Mode.backend`` names the backend a mode compiles for.

>>> get_mode("REFERENCE").backend, get_mode("FAST_RUN").backend
('reference', 'llvm')
"""

from __future__ import annotations

from typing import Any

from jitgraph.config import canonical_mode, config

# Theano's optimizer names, for ``Mode(linker, optimizer)`` given without a mode name.
_MODE_OF_OPTIMIZER = {"fast_compile": "FAST_COMPILE", None: "REFERENCE", "None": "REFERENCE"}


_BACKENDS = {"FAST_RUN": "llvm", "FAST_COMPILE": "llvm", "REFERENCE": "reference"}


class Mode:
    """A named compilation mode (Theano's ``Mode``; ``linker``/``optimizer`` accepted).

    Without ``name``, Theano's ``optimizer`` picks it: 'fast_compile' gives FAST_COMPILE,
    None (no rewrites) REFERENCE, anything else FAST_RUN.

    >>> Mode(optimizer="fast_compile").name, Mode(optimizer=None).name
    ('FAST_COMPILE', 'REFERENCE')
    """

    def __init__(
        self, linker: Any = None, optimizer: Any = "default", name: str | None = None
    ) -> None:
        if name is None:
            key = optimizer if optimizer is None or isinstance(optimizer, str) else "default"
            name = _MODE_OF_OPTIMIZER.get(key, "FAST_RUN")
        self.name = canonical_mode(name)
        self.linker = linker
        self.optimizer = optimizer
        self.backend = _BACKENDS[self.name]

    def including(self, *tags: str) -> Mode:
        return self

    def excluding(self, *tags: str) -> Mode:
        return self

    def requiring(self, *tags: str) -> Mode:
        return self

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mode) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("Mode", self.name))

    def __repr__(self) -> str:
        return f"Mode({self.name!r})"


def get_mode(mode: Any) -> Mode:
    """The Mode for ``mode``: a Mode, a mode name, or None for ``config.mode``."""
    if mode is None:
        return Mode(name=config.mode)
    if isinstance(mode, Mode):
        return mode
    if isinstance(mode, str):
        try:
            return Mode(name=mode)
        except ValueError as exc:
            raise ValueError(f"function(mode=...): {exc}") from None
    raise TypeError(f"mode must be a Mode, a mode name or None, got {type(mode).__name__}")


FAST_RUN = Mode(name="FAST_RUN")
FAST_COMPILE = Mode(name="FAST_COMPILE")
REFERENCE = Mode(name="REFERENCE")
