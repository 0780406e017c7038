"""Host timer and the adapters for device timers."""
from __future__ import annotations

import time

import pytest

from htp_edge.bench.timer import CallbackTimer, EventTimer, HostTimer, Timer, time_call


class FakeEvent:
    """Records the order of calls like a CUDA event with enable_timing=True."""

    log: list[str] = []

    def __init__(self, t_ms: list[float]) -> None:
        self._clock = t_ms
        self.t = None

    def record(self) -> None:
        self.t = self._clock.pop(0)
        FakeEvent.log.append("record")

    def synchronize(self) -> None:
        FakeEvent.log.append("synchronize")

    def elapsed_time(self, end: "FakeEvent") -> float:
        return end.t - self.t


def test_host_timer_measures_and_requires_start():
    timer = HostTimer()
    with pytest.raises(RuntimeError):
        timer.stop()
    timer.start()
    time.sleep(0.001)
    assert timer.stop() >= 0.9


def test_callback_timer_delegates():
    calls = []
    timer = CallbackTimer(lambda: calls.append("start"), lambda: 4.25)
    timer.start()
    assert timer.stop() == 4.25 and calls == ["start"]


def test_event_timer_records_synchronises_and_subtracts():
    clock = [10.0, 17.5]
    FakeEvent.log = []
    timer = EventTimer(lambda: FakeEvent(clock))
    timer.start()
    assert timer.stop() == pytest.approx(7.5)
    assert FakeEvent.log == ["record", "record", "synchronize"]


def test_timers_follow_the_protocol_and_time_call():
    for timer in (HostTimer(), CallbackTimer(lambda: None, lambda: 1.0)):
        assert isinstance(timer, Timer)
    result, ms = time_call(lambda: 42, CallbackTimer(lambda: None, lambda: 3.0))
    assert (result, ms) == (42, 3.0)
    assert time_call(lambda: "x")[1] >= 0.0
