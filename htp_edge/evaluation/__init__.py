"""Evaluation of 3D pose lifters: the pose metrics (numpy only)."""
from __future__ import annotations

from htp_edge.evaluation.metrics import (
    BODY_JOINTS,
    joints_without,
    mpjpe,
    mpjpe_without_head,
    p_mpjpe,
    p_mpjpe_without_head,
    procrustes_align,
)

__all__ = ["BODY_JOINTS", "joints_without", "mpjpe", "mpjpe_without_head", "p_mpjpe", "p_mpjpe_without_head",
           "procrustes_align"]
