"""Aggregating H hypotheses into one pose: mean, or D3DP's joint-wise JPMA (numpy).

JPMA reprojects each hypothesis and keeps, per frame and joint, the one closest to the 2D
input. D3DP uses the ground-truth root to reproject; a deployed system has none, so each
hypothesis's root is estimated from the 2D keypoints by least squares (see
:func:`htp_edge.pose.geometry.estimate_root`) unless a root is given.
"""
from __future__ import annotations

import numpy as np

from htp_edge.errors import HtpEdgeError
from htp_edge.pose.geometry import Intrinsics, estimate_root, project_points

AGGREGATIONS = ("mean", "jpma")


def aggregate_mean(hyps: np.ndarray) -> np.ndarray:
    """(B, H, F, J, 3) -> (B, F, J, 3)."""
    return hyps.mean(axis=1)


def aggregate_jpma(hyps: np.ndarray, kp_px: np.ndarray, intr: Intrinsics,
                   root: np.ndarray | None = None, confidence: np.ndarray | None = None) -> np.ndarray:
    """Joint-wise reprojection-based selection.

    hyps (B, H, F, J, 3) root-relative metres; kp_px (B, F, J, 2) pixels; root (B, F, 3)
    camera-frame root (ground truth) or None to estimate one per hypothesis; confidence
    (B, F, J) weights the root fit. Returns (B, F, J, 3).
    """
    h = hyps.shape[1]
    if h == 1:
        return hyps[:, 0]
    kp = np.repeat(kp_px[:, None], h, axis=1)  # (B, H, F, J, 2)
    if root is None:
        w = None if confidence is None else np.repeat(confidence[:, None], h, axis=1)
        trans = estimate_root(hyps, kp, intr, w)  # (B, H, F, 3)
    else:
        trans = np.broadcast_to(root[:, None], hyps.shape[:3] + (3,))
    err = np.linalg.norm(project_points(hyps + trans[..., None, :], intr) - kp, axis=-1)  # (B, H, F, J)
    best = np.argmin(err, axis=1)  # (B, F, J)
    return np.take_along_axis(hyps, best[:, None, ..., None], axis=1)[:, 0]


def aggregate(hyps: np.ndarray, method: str, kp_px=None, intr=None, root=None, confidence=None) -> np.ndarray:
    """Dispatch on ``method`` (``mean`` or ``jpma``)."""
    if method == "mean":
        return aggregate_mean(hyps)
    if method == "jpma":
        if kp_px is None or intr is None:
            raise HtpEdgeError("aggregation: jpma needs the 2D keypoints in pixels and camera intrinsics.")
        return aggregate_jpma(hyps, kp_px, intr, root, confidence)
    raise HtpEdgeError(f"aggregation: unknown method. Expected one of {', '.join(AGGREGATIONS)}, got {method!r}.")
