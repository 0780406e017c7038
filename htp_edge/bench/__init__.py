"""Measurement utilities for latency benchmarks.

* :mod:`~htp_edge.bench.stats`: :func:`summarize` and the per-stage recorder :class:`StageTimes`;
* :mod:`~htp_edge.bench.timer`: the host timer and the device-timer protocol;
* :mod:`~htp_edge.bench.platform`: versions, CUDA device, Jetson module and power mode;
* :mod:`~htp_edge.bench.power`: tegrastats / INA3221 / NVML power sampling and energy;
* :mod:`~htp_edge.bench.memory`: host RSS and GPU memory;
* :mod:`~htp_edge.bench.plot`: per-stage latency bars (matplotlib, imported lazily).

Importing this package needs numpy only.
"""
from __future__ import annotations

from htp_edge.bench.stats import StageTimes, summarize
from htp_edge.bench.timer import CallbackTimer, EventTimer, HostTimer, Timer, time_call

__all__ = ["StageTimes", "summarize", "Timer", "HostTimer", "CallbackTimer", "EventTimer",
           "time_call"]
