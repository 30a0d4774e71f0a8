"""``cupy.cuda`` of the simulated GPU: one device (compute capability 9.0), a stream and
events that only keep time (``time.perf_counter``), and no CUDA code (``function.Module``
raises ``NotImplementedError`` unless the fixture ``emulated_gpu`` emulates it)."""

from __future__ import annotations

import time
from typing import Any

from . import function, runtime  # noqa: F401 - submodules, as CuPy's

__all__ = ["Device", "Event", "Stream", "get_current_stream", "get_elapsed_time"]


class Device:
    """The simulated device (``id`` 0)."""

    compute_capability = "90"

    def __init__(self, device: Any = None) -> None:
        self.id = 0 if device is None else int(device)
        if self.id != 0:
            raise runtime.CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")

    def synchronize(self) -> None:
        return None

    def use(self) -> None:
        return None

    @property
    def mem_info(self) -> tuple[int, int]:
        return runtime.memGetInfo()

    def __enter__(self) -> Device:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __repr__(self) -> str:
        return f"<CUDA Device {self.id}>"


class Stream:
    """A stream: work "on" it is done at once, so synchronizing does nothing."""

    null: Stream

    def __init__(self, null: bool = False, non_blocking: bool = False, ptds: bool = False):
        self.ptr = 0 if null else id(self)

    def synchronize(self) -> None:
        return None

    def use(self) -> Stream:
        return self

    @property
    def done(self) -> bool:
        return True

    def record(self, event: Event | None = None) -> Event:
        event = event or Event()
        event.record(self)
        return event

    def wait_event(self, event: Event) -> None:
        return None

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


Stream.null = Stream(null=True)


def get_current_stream(device_id: int = -1) -> Stream:
    return Stream.null


class Event:
    """An event records the host clock (the simulated device has finished by then)."""

    def __init__(
        self, block: bool = False, disable_timing: bool = False, interprocess: bool = False
    ):
        self.disable_timing = disable_timing
        self.time: float | None = None

    def record(self, stream: Stream | None = None) -> None:
        self.time = time.perf_counter()

    def synchronize(self) -> None:
        return None

    @property
    def done(self) -> bool:
        return True


def get_elapsed_time(start_event: Event, end_event: Event) -> float:
    """Milliseconds between two recorded events."""
    if start_event.time is None or end_event.time is None:
        raise runtime.CUDARuntimeError("cudaErrorInvalidResourceHandle: event not recorded")
    if start_event.disable_timing or end_event.disable_timing:
        raise runtime.CUDARuntimeError("cudaErrorInvalidResourceHandle: timing disabled")
    return (end_event.time - start_event.time) * 1000.0


def is_available() -> bool:
    return True
