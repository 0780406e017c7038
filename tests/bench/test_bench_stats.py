"""Latency summaries and the per-stage recorder."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

from htp_edge.bench.stats import SUMMARY_KEYS, StageTimes, frames_per_second, summarize
from htp_edge.errors import HtpEdgeError


class FixedTimer:
    """A timer that always measures the same duration."""

    def __init__(self, ms: float) -> None:
        self.ms = ms
        self.started = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> float:
        return self.ms


def test_summarize_known_values():
    s = summarize(list(range(1, 101)))
    assert tuple(s) == SUMMARY_KEYS
    assert s["p50_ms"] == pytest.approx(50.5)
    assert s["p90_ms"] == pytest.approx(90.1)
    assert s["p99_ms"] == pytest.approx(99.01)
    assert s["mean_ms"] == pytest.approx(50.5)
    assert (s["min_ms"], s["max_ms"], s["n"]) == (1.0, 100.0, 100)
    assert s["std_ms"] == pytest.approx(np.std(np.arange(1, 101)))


def test_summarize_is_json_ready_and_handles_one_sample():
    s = summarize(np.array([2.5], dtype=np.float32))
    assert json.loads(json.dumps(s)) == s
    assert s["p99_ms"] == s["min_ms"] == 2.5 and s["std_ms"] == 0.0


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [float("inf")]])
def test_summarize_rejects_empty_or_non_finite(bad):
    with pytest.raises(HtpEdgeError, match="Expected"):
        summarize(bad)


def test_stage_times_per_iteration_and_totals():
    rec = StageTimes()
    for i in range(4):
        with rec.iteration():
            with rec.stage("preprocess", timer=FixedTimer(1.0)):
                pass
            rec.add("compute", 10.0 + i)
            rec.add("compute", 0.5)  # a stage recorded twice accumulates
    assert len(rec) == 4
    assert rec.stage_names() == ["preprocess", "compute"]
    assert rec.iterations[0] == {"preprocess": 1.0, "compute": 10.5}
    assert rec.totals_ms() == [11.5, 12.5, 13.5, 14.5]
    report = rec.summary(frames_per_iteration=243)
    assert report["iterations"] == 4
    assert report["stages"]["compute"]["mean_ms"] == pytest.approx(12.0)
    assert report["total"]["p50_ms"] == pytest.approx(13.0)
    assert report["frames_per_s"] == pytest.approx(243 / 0.013)
    assert json.loads(json.dumps(report)) == report


def test_stage_times_host_timer_measures_sleep():
    rec = StageTimes()
    with rec.stage("sleep"):
        time.sleep(0.002)
    assert 1.9 <= rec.iterations[0]["sleep"] < 500


def test_add_without_begin_starts_an_iteration_and_reset_forgets():
    rec = StageTimes()
    rec.add("compute", 3.0)
    assert rec.iterations == [{"compute": 3.0}]
    rec.reset()
    assert len(rec) == 0 and rec.stage_names() == []


def test_stage_not_recorded_when_body_raises():
    rec = StageTimes()
    rec.begin()
    with pytest.raises(ValueError):
        with rec.stage("compute", timer=FixedTimer(5.0)):
            raise ValueError("boom")
    assert rec.iterations == [{}]
    with rec.stage("compute", timer=FixedTimer(5.0)):  # the recorder is usable afterwards
        pass
    assert rec.iterations == [{"compute": 5.0}]


def test_nested_stages_are_refused():
    rec = StageTimes()
    with pytest.raises(RuntimeError, match="overlap"):
        with rec.stage("outer"):
            with rec.stage("inner"):
                pass


@pytest.mark.parametrize("bad", [-1.0, float("nan")])
def test_add_rejects_bad_durations(bad):
    with pytest.raises(HtpEdgeError, match="stage time 'x'"):
        StageTimes().add("x", bad)


def test_stage_missing_in_some_iterations():
    rec = StageTimes()
    rec.begin()
    rec.add("compute", 2.0)
    rec.add("copy", 1.0)
    rec.begin()
    rec.add("compute", 4.0)
    report = rec.summary()
    assert report["stages"]["copy"]["n"] == 1
    assert report["total"]["n"] == 2 and "frames_per_s" not in report


def test_frames_per_second():
    assert frames_per_second(243, 100.0) == pytest.approx(2430.0)
    assert frames_per_second(1, 0.0) is None
