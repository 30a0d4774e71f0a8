"""Compilation modes: which rewrites run and which backend executes.

- ``FAST_RUN`` (default): every rewrite, then the LLVM backend (native code);
- ``FAST_COMPILE``: few rewrites (fusion included), then the LLVM backend;
- ``REFERENCE``: no rewrites, the NumPy interpreter (the oracle of every test).

A mode also has a device: 'cpu' (the default) or 'cuda', where FAST_RUN and FAST_COMPILE
compile for the CUDA backend instead (``Mode(..., device='cuda')``, or ``get_mode(mode,
device)``). ``Mode.backend`` names the backend a mode compiles for.

>>> get_mode("REFERENCE").backend, get_mode("FAST_RUN").backend
('reference', 'llvm')
>>> get_mode("FAST_RUN", "cuda").backend
'cuda'
"""

from __future__ import annotations

from typing import Any

from jitgraph.config import DEVICES, canonical_device, canonical_mode, config

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
        self,
        linker: Any = None,
        optimizer: Any = "default",
        name: str | None = None,
        device: str = "cpu",
    ) -> None:
        if name is None:
            key = optimizer if optimizer is None or isinstance(optimizer, str) else "default"
            name = _MODE_OF_OPTIMIZER.get(key, "FAST_RUN")
        self.name = canonical_mode(name)
        self.linker = linker
        self.optimizer = optimizer
        if device not in DEVICES:
            raise ValueError(
                f"device must be one of {', '.join(map(repr, DEVICES))}, got {device!r}"
            )
        self.device = device
        backend = _BACKENDS[self.name]
        if device == "cuda":
            if backend == "reference":
                raise ValueError(
                    "mode REFERENCE is the NumPy interpreter: it runs on the host, not on "
                    "device 'cuda' (use FAST_RUN or FAST_COMPILE)"
                )
            backend = "cuda"
        self.backend = backend

    def including(self, *tags: str) -> Mode:
        return self

    def excluding(self, *tags: str) -> Mode:
        return self

    def requiring(self, *tags: str) -> Mode:
        return self

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mode) and (other.name, other.device) == (self.name, self.device)

    def __hash__(self) -> int:
        return hash(("Mode", self.name, self.device))

    def __repr__(self) -> str:
        device = f", device={self.device!r}" if self.device != "cpu" else ""
        return f"Mode({self.name!r}{device})"

    def on(self, device: str) -> Mode:
        """This mode for ``device`` ('cpu' or 'cuda')."""
        if device == self.device:
            return self
        return Mode(self.linker, self.optimizer, self.name, device)


def get_mode(mode: Any, device: str | None = None) -> Mode:
    """The Mode for ``mode`` (a Mode, a mode name, or None for ``config.mode``) on
    ``device`` ('cpu', 'cuda'; aliases as the ``device`` flag's).

    Without ``device``, a Mode keeps its own and a name takes ``config.device``, except
    REFERENCE, the NumPy oracle, which always runs on the host.
    """
    if device is not None:
        device = _canonical_device(device)
    if mode is None:
        mode = config.mode
    if isinstance(mode, str):
        try:
            mode = Mode(name=mode)
        except ValueError as exc:
            raise ValueError(f"function(mode=...): {exc}") from None
    if not isinstance(mode, Mode):
        raise TypeError(f"mode must be a Mode, a mode name or None, got {type(mode).__name__}")
    if device is None:
        if mode.device != "cpu" or mode.backend == "reference":
            return mode
        device = config.device
    try:
        return mode.on(device)
    except ValueError as exc:
        raise ValueError(f"function(device={device!r}): {exc}") from None


def _canonical_device(device: Any) -> str:
    try:
        return str(canonical_device(device))
    except ValueError as exc:
        raise ValueError(f"function(device=...): {exc}") from None


FAST_RUN = Mode(name="FAST_RUN")
FAST_COMPILE = Mode(name="FAST_COMPILE")
REFERENCE = Mode(name="REFERENCE")
