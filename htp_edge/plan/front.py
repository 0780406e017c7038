"""The Pareto front of (MPJPE, latency) and the recommendation under a latency budget.

Lower is better on both axes. A point is dominated when another point is at least as good on
both and strictly better on one; the front is every point that is not dominated (two identical
points are both on it). The recommendation is the most accurate point whose latency statistic
(p50 by default) is at most the budget, ties broken by the lower latency, then the lower index;
it is always on the front.
"""
from __future__ import annotations

import math
from typing import Sequence

from htp_edge.errors import HtpEdgeError

BUDGET_STATS = ("p50", "p99")


def _check(values: Sequence[tuple[float, float]]) -> None:
    for i, (err, ms) in enumerate(values):
        if not (math.isfinite(err) and math.isfinite(ms)):
            raise HtpEdgeError(f"plan: point {i} has a non-finite measurement. Expected finite MPJPE and latency, "
                               f"got {err}, {ms}.")


def dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """``a`` is at least as good as ``b`` on both axes and strictly better on one."""
    return a[0] <= b[0] and a[1] <= b[1] and (a[0] < b[0] or a[1] < b[1])


def pareto_front(values: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the non-dominated (error, latency) pairs, by increasing latency (then error)."""
    _check(values)
    front = [i for i, v in enumerate(values) if not any(dominates(w, v) for w in values)]
    return sorted(front, key=lambda i: (values[i][1], values[i][0], i))


def recommend(values: Sequence[tuple[float, float]], budget_ms: float) -> int | None:
    """The index of the most accurate pair with latency <= ``budget_ms``, or None."""
    _check(values)
    fits = [i for i, (_, ms) in enumerate(values) if ms <= budget_ms]
    if not fits:
        return None
    return min(fits, key=lambda i: (values[i][0], values[i][1], i))


def point_values(points: Sequence[dict], stat: str = "p50") -> list[tuple[float, float]]:
    """(mpjpe_mm, <stat>_ms) of each point."""
    if stat not in BUDGET_STATS:
        raise HtpEdgeError(f"plan: unknown budget statistic. Expected one of {', '.join(BUDGET_STATS)}, got {stat!r}.")
    return [(float(p["mpjpe_mm"]), float(p[f"{stat}_ms"])) for p in points]
