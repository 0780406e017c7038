"""Timers: a host clock and the small protocol that device timers (CUDA events) follow.

A timer is anything with ``start()`` and ``stop() -> float`` (milliseconds since ``start``). The
host timer reads :func:`time.perf_counter_ns`. Device timers are supplied by the backends that own
the CUDA bindings, either as two callables (:class:`CallbackTimer`) or as an event factory in the
``record()`` / ``synchronize()`` / ``elapsed_time(end)`` shape of ``torch.cuda.Event``
(:class:`EventTimer`); this module imports no CUDA library itself.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Protocol, runtime_checkable

NS_PER_MS = 1_000_000


@runtime_checkable
class Timer(Protocol):
    """What :meth:`htp_edge.bench.stats.StageTimes.stage` needs from a timer."""

    def start(self) -> None:
        """Mark the beginning of the timed region."""

    def stop(self) -> float:
        """Mark its end and return the elapsed milliseconds (a device timer synchronises here)."""


class HostTimer:
    """Wall-clock timer on :func:`time.perf_counter_ns` (no synchronisation with any device)."""

    def __init__(self) -> None:
        self._t0: int | None = None

    def start(self) -> None:
        self._t0 = time.perf_counter_ns()

    def stop(self) -> float:
        if self._t0 is None:
            raise RuntimeError("HostTimer.stop() called before start()")
        elapsed_ns = time.perf_counter_ns() - self._t0
        self._t0 = None
        return elapsed_ns / NS_PER_MS


class CallbackTimer:
    """A device timer given as two callables, e.g. closures over a CUDA stream and two events.

    ``start_fn()`` records the start; ``stop_fn()`` records the end, waits for it and returns the
    elapsed milliseconds.
    """

    def __init__(self, start_fn: Callable[[], None], stop_fn: Callable[[], float]) -> None:
        self._start_fn = start_fn
        self._stop_fn = stop_fn

    def start(self) -> None:
        self._start_fn()

    def stop(self) -> float:
        return float(self._stop_fn())


class EventTimer:
    """A device timer over event objects with ``record()``, ``synchronize()`` and
    ``elapsed_time(end) -> ms`` (the ``torch.cuda.Event(enable_timing=True)`` shape).

    ``make_event`` is called twice, once for the start and once for the end event.
    """

    def __init__(self, make_event: Callable[[], Any]) -> None:
        self._begin = make_event()
        self._end = make_event()

    def start(self) -> None:
        self._begin.record()

    def stop(self) -> float:
        self._end.record()
        self._end.synchronize()
        return float(self._begin.elapsed_time(self._end))


def time_call(fn: Callable[[], Any], timer: Timer | None = None) -> tuple[Any, float]:
    """Call ``fn()`` once between ``timer.start()`` and ``timer.stop()``; return (result, ms)."""
    timer = timer if timer is not None else HostTimer()
    timer.start()
    result = fn()
    return result, timer.stop()
