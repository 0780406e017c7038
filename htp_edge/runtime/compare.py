"""The one comparator of htp-edge: outputs of a candidate against a reference, per output,
with the shared tolerance table (:mod:`htp_edge.tolerances`); numpy only.

- :func:`compare_outputs(reference, candidate, tolerances)`: two ``{name: array}`` dicts
  (reference first, as in Polygraphy's comparisons).
- :func:`compare_runners(reference, candidate, feeds, tolerances)`: run two
  :class:`~htp_edge.runtime.backends.base.Runner` s (any backends: torch vs ONNX Runtime, FP32
  vs INT8, workstation ONNX Runtime vs a TensorRT engine) on the same feeds and compare.

Tolerances are a precision name (per output from the table; integer outputs it does not name
get its exact "index" row), a mapping ``{output name: Tol}`` (``"*index"`` for other index
outputs, ``"*"`` for the rest) or one :class:`~htp_edge.tolerances.Tol` for all. Index outputs
are judged by their agreement (fraction of equal elements); pose outputs also report the MPJPE
between candidate and reference in millimetres.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Union

import numpy as np

from htp_edge.artifacts import names
from htp_edge.errors import HtpEdgeError
from htp_edge.tolerances import Tol, agreement, tolerance

Tolerances = Union[str, Tol, Mapping[str, Tol]]
POSE_OUTPUTS = (names.POSE_3D, "poses_3d")


@dataclass(frozen=True)
class OutputDiff:
    """Worst differences of one output over every compared feed."""

    name: str
    max_abs: float
    max_rel: float
    agreement: float | None      # smallest fraction of equal elements (index outputs only)
    passed: bool
    tol: Tol
    mean_abs: float = 0.0
    finite: bool = True
    mpjpe_delta_mm: float | None = None  # pose outputs: mean joint distance to the reference

    def to_json(self) -> dict:
        row = {"passed": self.passed, "max_abs_diff": self.max_abs, "max_rel_diff": self.max_rel,
               "mean_abs_diff": self.mean_abs, "finite": self.finite, "atol": self.tol.atol, "rtol": self.tol.rtol}
        if self.agreement is not None:
            row.update(agreement=self.agreement, min_agreement=self.tol.min_agreement)
        if self.mpjpe_delta_mm is not None:
            row["mpjpe_delta_mm"] = self.mpjpe_delta_mm
        return row


@dataclass(frozen=True)
class CompareReport:
    """Per-output differences; ``ok`` when every output passed its tolerance."""

    ok: bool
    outputs: tuple[OutputDiff, ...]
    feeds: int
    tool: str
    polygraphy_passed: bool | None = None

    @property
    def max_abs(self) -> dict[str, float]:
        return {o.name: o.max_abs for o in self.outputs}

    @property
    def max_rel(self) -> dict[str, float]:
        return {o.name: o.max_rel for o in self.outputs}

    def output(self, name: str) -> OutputDiff:
        return next(o for o in self.outputs if o.name == name)

    def failures(self) -> list[str]:
        return [f"{o.name} (max abs {o.max_abs:.3g}"
                + (f", agreement {o.agreement:.3f})" if o.agreement is not None else ")")
                for o in self.outputs if not o.passed]

    def to_json(self) -> dict:
        return {"passed": self.ok, "tool": self.tool, "feeds": self.feeds,
                "outputs": {o.name: o.to_json() for o in self.outputs}}


def is_index(array: np.ndarray) -> bool:
    return not np.issubdtype(np.asarray(array).dtype, np.floating)


def is_pose(name: str, array: np.ndarray) -> bool:
    return name in POSE_OUTPUTS or (array.ndim >= 2 and array.shape[-2:] == (17, 3))


def resolve_tolerance(tolerances: Tolerances, output: str, index: bool = False) -> Tol:
    """The :class:`Tol` of ``output`` from a precision name, a mapping or a single Tol."""
    if isinstance(tolerances, Tol):
        return tolerances
    if isinstance(tolerances, str):
        return tolerance(tolerances, output, is_index=index)
    for key in (output, "*index" if index else None, "*"):
        if key is not None and key in tolerances:
            return tolerances[key]
    raise HtpEdgeError(f"compare: no tolerance for output '{output}'. Expected a key "
                       f"'{output}' or '*', got keys {sorted(tolerances)}.")


def _one(name: str, reference: np.ndarray, candidate: np.ndarray) -> dict:
    """Statistics of one pair of arrays of the same shape."""
    r, c = reference.astype(np.float64), candidate.astype(np.float64)
    diff = np.abs(c - r)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        rel = diff / np.maximum(np.abs(r), np.finfo(np.float64).tiny)
    finite = bool(np.all(np.isfinite(c))) if not is_index(candidate) else True
    stats = {"finite": finite,
             "max_abs": float(np.nan_to_num(diff, nan=np.inf).max(initial=0.0)),
             "max_rel": float(np.nan_to_num(rel, nan=np.inf).max(initial=0.0)),
             "mean_abs": float(diff.mean()) if diff.size else 0.0,
             "agreement": agreement(candidate, reference) if is_index(reference) else None,
             "mpjpe": None}
    if not is_index(reference) and is_pose(name, reference):
        stats["mpjpe"] = float(np.linalg.norm(c - r, axis=-1).mean() * 1000.0) if diff.size else 0.0
    return stats


def compare_pairs(pairs: Mapping[str, list], tolerances: Tolerances, tool: str) -> CompareReport:
    """Fold per-feed ``(reference, candidate)`` pairs of each output into one report."""
    outputs = []
    for name, items in pairs.items():
        for ref, cand in items:
            if ref.shape != cand.shape:
                raise HtpEdgeError(f"compare: output '{name}' shape differs. Expected {ref.shape}, "
                                   f"got {cand.shape}.")
        tol = resolve_tolerance(tolerances, name, is_index(items[0][0]))
        stats = [_one(name, r, c) for r, c in items]
        mpjpe = [s["mpjpe"] for s in stats if s["mpjpe"] is not None]
        outputs.append(OutputDiff(
            name=name, max_abs=max(s["max_abs"] for s in stats), max_rel=max(s["max_rel"] for s in stats),
            agreement=None if stats[0]["agreement"] is None else min(s["agreement"] for s in stats),
            passed=all(s["finite"] for s in stats) and all(tol.passes(c, r) for r, c in items), tol=tol,
            mean_abs=float(np.mean([s["mean_abs"] for s in stats])), finite=all(s["finite"] for s in stats),
            mpjpe_delta_mm=max(mpjpe) if mpjpe else None))
    feeds = max((len(v) for v in pairs.values()), default=0)
    return CompareReport(ok=all(o.passed for o in outputs), outputs=tuple(outputs), feeds=feeds, tool=tool)


def compare_outputs(reference: Mapping[str, np.ndarray], candidate: Mapping[str, np.ndarray],
                    tolerances: Tolerances, tool: str = "numpy") -> CompareReport:
    """Compare every output of ``reference`` with the same-named output of ``candidate``."""
    missing = sorted(set(reference) - set(candidate))
    if missing:
        raise HtpEdgeError(f"compare: outputs missing. Expected {sorted(reference)}, got "
                           f"{sorted(candidate)} (missing {missing}).")
    pairs = {name: [(np.asarray(ref), np.asarray(candidate[name]))] for name, ref in reference.items()}
    return compare_pairs(pairs, tolerances, tool)


def compare_runners(reference, candidate, feeds: Iterable[Mapping[str, np.ndarray]],
                    tolerances: Tolerances) -> CompareReport:
    """Run two active runners on the same feeds and compare every output of the reference."""
    pairs: dict[str, list] = {}
    count = 0
    for feed in feeds:
        ref, cand = reference.infer(feed), candidate.infer(feed)
        missing = sorted(set(ref) - set(cand))
        if missing:
            raise HtpEdgeError(f"compare: {candidate.backend} outputs {sorted(cand)} lack {missing}. Expected the "
                               f"reference's outputs {sorted(ref)}. Were both made from the same graph?")
        for name, value in ref.items():
            pairs.setdefault(name, []).append((np.asarray(value), np.asarray(cand[name])))
        count += 1
    if not count:
        raise HtpEdgeError("compare: no feeds. Expected at least one feed, got 0.")
    return compare_pairs(pairs, tolerances, f"{reference.backend} vs {candidate.backend}")
