"""A tiny sweep end to end (tiny random-weight HTP, one test sequence, a few bench iterations):
the report's keys, the front, the recommendation, and the cache (a second run measures nothing)."""
from __future__ import annotations

import dataclasses

import pytest

from htp_edge.errors import HtpEdgeError
from htp_edge.plan import measure
from htp_edge.plan.front import pareto_front, point_values
from htp_edge.plan.grid import Grid
from htp_edge.plan.measure import MeasureConfig
from htp_edge.plan.sweep import PlanConfig, attach_commands, combine_rounds, run_plan

GRID = Grid(n1=(4, 6), f=(3,), steps=(1, 2), hypotheses=(1,), flip=(False,), precision=("fp32",))
MEASURE = MeasureConfig(max_sequences=1, iters=3, warmup=1)


def _cfg(ckpt, folder, **kw) -> PlanConfig:
    return PlanConfig(checkpoint=str(ckpt), grid=GRID, measure=MEASURE, cache_dir=str(folder), rounds=2, **kw)


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("plan")


@pytest.fixture(scope="module")
def first(tiny_htp_ckpt, plan_dir):
    return run_plan(_cfg(tiny_htp_ckpt, plan_dir))


def _no_measuring(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("measured although cached")
    monkeypatch.setattr(measure, "accuracy", fail)
    monkeypatch.setattr(measure, "latency", fail)


def test_report_keys_and_points(first):
    assert set(first) >= {"points", "pareto", "recommended", "checkpoint", "backend", "host", "grid"}
    assert len(first["points"]) == 4 and first["measured"] == 4 and first["cached"] == 0
    for p in first["points"]:
        assert set(p["settings"]) == {"n1", "f", "steps", "hypotheses", "flip", "precision"}
        assert p["mpjpe_mm"] > 0 and 0 < p["p50_ms"] <= p["p99_ms"]
        assert p["sequences"] == 1 and p["rounds"] == 2
    combos = {(p["settings"]["n1"], p["settings"]["steps"]) for p in first["points"]}
    assert combos == {(4, 1), (4, 2), (6, 1), (6, 2)}
    assert first["recommended"] is None and "message" not in first  # no budget given


def test_pareto_indices_are_the_non_dominated_points(first):
    values = point_values(first["points"])
    assert first["pareto"] == pareto_front(values)
    front = set(first["pareto"])
    for i, (e, t) in enumerate(values):
        dominated = any(e2 <= e and t2 <= t and (e2 < e or t2 < t) for e2, t2 in values)
        assert (i in front) == (not dominated)


def test_second_run_measures_nothing_and_recommends_under_a_budget(tiny_htp_ckpt, plan_dir, first, monkeypatch):
    _no_measuring(monkeypatch)
    budget = sorted(p["p50_ms"] for p in first["points"])[1] + 1e-6  # the two fastest fit
    again = run_plan(_cfg(tiny_htp_ckpt, plan_dir, budget_ms=budget))
    assert again["measured"] == 0 and again["cached"] == 4
    assert [p["mpjpe_mm"] for p in again["points"]] == [p["mpjpe_mm"] for p in first["points"]]
    fits = [i for i, p in enumerate(again["points"]) if p["p50_ms"] <= budget]
    rec = again["recommended"]
    assert len(fits) >= 2 and rec["index"] in fits
    assert rec["mpjpe_mm"] == min(again["points"][i]["mpjpe_mm"] for i in fits)
    assert rec["index"] in again["pareto"]
    impossible = run_plan(_cfg(tiny_htp_ckpt, plan_dir, budget_ms=1e-3))
    assert impossible["recommended"] is None and "no setting fits the budget" in impossible["message"]


def test_p99_budget_bounds_the_tail(tiny_htp_ckpt, plan_dir, first, monkeypatch):
    _no_measuring(monkeypatch)
    budget = max(p["p99_ms"] for p in first["points"])
    r = run_plan(_cfg(tiny_htp_ckpt, plan_dir, budget_ms=budget, budget_stat="p99"))
    assert r["recommended"]["mpjpe_mm"] == min(p["mpjpe_mm"] for p in first["points"])


def test_another_data_selection_measures_accuracy_again_but_not_latency(tiny_htp_ckpt, plan_dir, first, monkeypatch):
    calls = []
    real = measure.accuracy
    monkeypatch.setattr(measure, "latency", lambda *a, **k: (_ for _ in ()).throw(AssertionError("latency")))
    monkeypatch.setattr(measure, "accuracy", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    one = dataclasses.replace(GRID, steps=(1,), n1=(6,))
    cfg = dataclasses.replace(_cfg(tiny_htp_ckpt, plan_dir), grid=one,
                              measure=dataclasses.replace(MEASURE, seed=1))
    r = run_plan(cfg)
    assert len(calls) == 1 and r["measured"] == 1


def test_commands_of_the_recommended_point(tiny_htp_ckpt, plan_dir, first, monkeypatch):
    _no_measuring(monkeypatch)
    cfg = _cfg(tiny_htp_ckpt, plan_dir, budget_ms=1e9)
    r = attach_commands(run_plan(cfg), cfg, None)
    rec = r["recommended"]
    argv = rec["command_argv"]
    assert argv["export"][:2] == ["htp-edge", "export"] and "--no-flip" in argv["export"]
    assert argv["quantize"] is None and argv["build"][:2] == ["htp-edge", "build"]
    assert argv["eval"][-2:] == ["--steps", str(rec["settings"]["steps"])]
    ckpt = argv["export"][argv["export"].index("--checkpoint") + 1]
    if rec["settings"]["n1"] == 6:
        assert ckpt == str(tiny_htp_ckpt)
    else:
        assert ckpt.endswith("_n4_f3.pt") and str(plan_dir) in ckpt


def test_combine_rounds_takes_medians():
    runs = [{"p50_ms": 1.0, "p99_ms": 5.0, "mean_ms": 2.0}, {"p50_ms": 3.0, "p99_ms": 4.0, "mean_ms": 4.0},
            {"p50_ms": 2.0, "p99_ms": 9.0, "mean_ms": 3.0}]
    assert combine_rounds(runs) == {"p50_ms": 2.0, "p99_ms": 5.0, "mean_ms": 3.0, "rounds": 3}


def test_knobs_a_model_lacks_are_refused(tmp_path):
    with pytest.raises(HtpEdgeError, match="no pruning knobs"):
        run_plan(PlanConfig(checkpoint="d3dp-small", overrides=(("n1", (9,)),), cache_dir=str(tmp_path)))
    with pytest.raises(HtpEdgeError, match="rounds"):
        PlanConfig(rounds=0)
    with pytest.raises(HtpEdgeError, match="budget"):
        PlanConfig(budget_ms=0)
