"""Latency statistics and a per-stage, per-iteration time recorder.

Timing is data: every iteration keeps its own ``{stage: ms}`` dict, so both the per-stage
distributions and the distribution of the per-iteration total can be summarised afterwards.
Warm-up iterations are the caller's business: run them before recording, or call
:meth:`StageTimes.reset` after them.

Example::

    rec = StageTimes()
    for _ in range(iters):
        with rec.iteration():
            with rec.stage("preprocess"):
                feed = prepare(frames)
            out = runner.infer(feed)
            for name, ms in runner.last_timings.items():
                rec.add(name, ms)
    report = rec.summary(frames_per_iteration=243)
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Iterator, Sequence

import numpy as np

from htp_edge.bench.timer import HostTimer, Timer
from htp_edge.errors import HtpEdgeError

SUMMARY_KEYS = ("p50_ms", "p90_ms", "p99_ms", "mean_ms", "max_ms", "min_ms", "std_ms", "n")


def summarize(samples_ms: Sequence[float]) -> dict:
    """Percentiles (linear interpolation), mean, extremes and population std of ``samples_ms``.

    Returns a dict with the keys of :data:`SUMMARY_KEYS`; every value is a plain ``float``
    except ``n`` (an ``int``), so the result serialises to JSON as is.
    """
    values = np.asarray(samples_ms, dtype=np.float64).ravel()
    if values.size == 0:
        raise HtpEdgeError("latency summary: no samples. Expected at least 1 time, got 0. "
                           "Run at least one timed iteration (--iters >= 1).")
    if not np.all(np.isfinite(values)):
        raise HtpEdgeError("latency summary: samples contain NaN or infinity. Expected finite "
                           "milliseconds. Check the timer that produced them.")
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return {
        "p50_ms": float(p50), "p90_ms": float(p90), "p99_ms": float(p99),
        "mean_ms": float(values.mean()), "max_ms": float(values.max()),
        "min_ms": float(values.min()), "std_ms": float(values.std()), "n": int(values.size),
    }


class StageTimes:
    """Records named stage times, one dict per iteration.

    Stages within one iteration must not overlap (nesting is refused); a stage recorded twice in
    one iteration accumulates. The total of an iteration is the sum of its stages.
    """

    def __init__(self) -> None:
        self._iterations: list[dict[str, float]] = []
        self._open_stage: str | None = None

    # -- recording ---------------------------------------------------------------------------
    def begin(self) -> None:
        """Start a new iteration; later stages and :meth:`add` calls belong to it."""
        self._iterations.append({})

    @contextmanager
    def iteration(self) -> Iterator["StageTimes"]:
        """Context manager form of :meth:`begin` (the iteration ends when the next begins)."""
        self.begin()
        yield self

    @contextmanager
    def stage(self, name: str, timer: Timer | None = None) -> Iterator[None]:
        """Time the body as stage ``name`` with ``timer`` (default: a :class:`HostTimer`).

        Nothing is recorded when the body raises.
        """
        if self._open_stage is not None:
            raise RuntimeError(f"stage {name!r} opened inside stage {self._open_stage!r}; "
                               "stages of one iteration must not overlap")
        timer = timer if timer is not None else HostTimer()
        self._open_stage = name
        try:
            timer.start()
            yield
            elapsed_ms = timer.stop()
        finally:
            self._open_stage = None
        self.add(name, elapsed_ms)

    def add(self, name: str, ms: float) -> None:
        """Add ``ms`` measured elsewhere (e.g. CUDA events) to stage ``name`` of this iteration."""
        ms = float(ms)
        if not math.isfinite(ms) or ms < 0:
            raise HtpEdgeError(f"stage time {name!r}: not a duration. Expected finite ms >= 0, "
                               f"got {ms}. Check the timer that produced it.")
        if not self._iterations:
            self.begin()
        current = self._iterations[-1]
        current[name] = current.get(name, 0.0) + ms

    def reset(self) -> None:
        """Forget everything recorded so far (call it after the warm-up iterations)."""
        self._iterations.clear()

    # -- reading -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._iterations)

    @property
    def iterations(self) -> list[dict[str, float]]:
        """A copy of the per-iteration ``{stage: ms}`` dicts, oldest first."""
        return [dict(it) for it in self._iterations]

    def stage_names(self) -> list[str]:
        """Stage names in the order they were first recorded."""
        names: dict[str, None] = {}
        for it in self._iterations:
            names.update(dict.fromkeys(it))
        return list(names)

    def stage_samples(self, name: str) -> list[float]:
        """Times of stage ``name`` over the iterations in which it was recorded."""
        return [it[name] for it in self._iterations if name in it]

    def totals_ms(self) -> list[float]:
        """Sum of the stage times of each non-empty iteration."""
        return [sum(it.values()) for it in self._iterations if it]

    def summary(self, frames_per_iteration: int | None = None) -> dict:
        """``{"stages": {name: summary}, "total": summary, "iterations": n}`` plus
        ``frames_per_s`` (frames per iteration / mean total) when ``frames_per_iteration`` is given.
        """
        total = summarize(self.totals_ms())
        result = {
            "stages": {name: summarize(self.stage_samples(name)) for name in self.stage_names()},
            "total": total,
            "iterations": total["n"],
        }
        if frames_per_iteration is not None:
            result["frames_per_s"] = frames_per_second(frames_per_iteration, total["mean_ms"])
        return result


def frames_per_second(frames: int, ms_per_iteration: float) -> float | None:
    """Frames per second when ``frames`` are processed every ``ms_per_iteration`` ms.

    ``None`` when the time is zero (no finite rate; keeps the JSON output valid).
    """
    if ms_per_iteration <= 0:
        return None
    return 1000.0 * frames / ms_per_iteration
