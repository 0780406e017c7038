"""The Pareto front and the recommendation, on hand-made points."""
from __future__ import annotations

import numpy as np
import pytest

from htp_edge.errors import HtpEdgeError
from htp_edge.plan.front import dominates, pareto_front, point_values, recommend


def _brute_front(values):
    """Non-dominated by the definition, checked pair by pair."""
    out = []
    for i, (e, t) in enumerate(values):
        if not any(e2 <= e and t2 <= t and (e2 < e or t2 < t) for j, (e2, t2) in enumerate(values) if j != i):
            out.append(i)
    return sorted(out)


def test_front_of_hand_made_points():
    # (MPJPE mm, p50 ms): 0 fast/bad, 1 dominated by 2, 2 middle, 3 slow/best, 4 dominated by 3
    values = [(60.0, 5.0), (58.0, 12.0), (55.0, 10.0), (50.0, 20.0), (52.0, 25.0)]
    assert pareto_front(values) == [0, 2, 3]  # by increasing latency


def test_identical_points_are_both_on_the_front_and_equal_latency_keeps_the_better():
    assert pareto_front([(50.0, 10.0), (50.0, 10.0)]) == [0, 1]
    assert pareto_front([(50.0, 10.0), (49.0, 10.0)]) == [1]
    assert pareto_front([(50.0, 10.0), (50.0, 9.0)]) == [1]
    assert not dominates((50.0, 10.0), (50.0, 10.0))


@pytest.mark.parametrize("seed", range(5))
def test_front_matches_the_definition_on_random_points(seed):
    rng = np.random.default_rng(seed)
    values = [tuple(v) for v in rng.integers(0, 8, size=(30, 2)).astype(float)]  # many ties
    front = pareto_front(values)
    assert sorted(front) == _brute_front(values)
    lat = [values[i][1] for i in front]
    assert lat == sorted(lat)


def test_recommend_is_the_most_accurate_under_the_budget():
    values = [(60.0, 5.0), (58.0, 12.0), (55.0, 10.0), (50.0, 20.0)]
    assert recommend(values, 10.0) == 2   # at most the budget: 10.0 fits
    assert recommend(values, 9.99) == 0
    assert recommend(values, 100.0) == 3
    assert recommend(values, 4.0) is None
    # equal error: the faster one
    assert recommend([(50.0, 9.0), (50.0, 8.0)], 10.0) == 1


@pytest.mark.parametrize("seed", range(5))
def test_recommendation_is_always_on_the_front(seed):
    rng = np.random.default_rng(100 + seed)
    values = [tuple(v) for v in rng.uniform(0, 10, size=(25, 2))]
    front = set(pareto_front(values))
    for budget in (2.0, 5.0, 8.0, 11.0):
        best = recommend(values, budget)
        fits = [i for i, v in enumerate(values) if v[1] <= budget]
        if not fits:
            assert best is None
            continue
        assert best in front and values[best][0] == min(values[i][0] for i in fits)


def test_point_values_and_bad_input():
    points = [{"mpjpe_mm": 50, "p50_ms": 3, "p99_ms": 9}]
    assert point_values(points) == [(50.0, 3.0)] and point_values(points, "p99") == [(50.0, 9.0)]
    with pytest.raises(HtpEdgeError, match="budget statistic"):
        point_values(points, "p90")
    with pytest.raises(HtpEdgeError, match="non-finite"):
        pareto_front([(float("nan"), 1.0)])
