"""Pose errors as reported by VideoPose3D, D3DP and HTP (numpy only).

All functions take predictions and ground truth of shape (..., J, 3) in the same units and
return the mean error in those units (multiply metres by 1000 for the usual millimetres).
``joints`` selects the joints to score, e.g. :data:`BODY_JOINTS` to leave out the approximate
head points 9 and 10 of the real-motion data.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from htp_edge.errors import HtpEdgeError
from htp_edge.pose.skeleton import HEAD_JOINTS, NUM_JOINTS


def joints_without(excluded: Sequence[int] = HEAD_JOINTS, num_joints: int = NUM_JOINTS) -> tuple[int, ...]:
    """All joint indices except ``excluded`` (default: the head joints 9 and 10)."""
    return tuple(j for j in range(num_joints) if j not in set(excluded))


BODY_JOINTS = joints_without()


def _pair(pred: np.ndarray, gt: np.ndarray, joints: Sequence[int] | None) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape or pred.ndim < 2 or pred.shape[-1] != 3:
        raise HtpEdgeError(f"pose metric: shapes differ or are not poses. Expected pred and gt of one shape "
                           f"(..., J, 3), got {pred.shape} and {gt.shape}. Align frames and joints first.")
    if joints is not None:
        index = list(joints)
        if not index or min(index) < 0 or max(index) >= pred.shape[-2]:
            raise HtpEdgeError(f"pose metric: bad joints. Expected indices in [0, {pred.shape[-2]}), got "
                               f"{index}. Pass e.g. BODY_JOINTS.")
        pred, gt = pred[..., index, :], gt[..., index, :]
    return pred, gt


def mpjpe(pred: np.ndarray, gt: np.ndarray, joints: Sequence[int] | None = None) -> float:
    """Mean per-joint position error: mean Euclidean distance over frames and joints."""
    pred, gt = _pair(pred, gt, joints)
    return float(np.mean(np.linalg.norm(pred - gt, axis=-1)))


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Pred (..., J, 3) moved onto gt per pose by the best similarity transform (rotation, scale,
    translation; reflections excluded), as in VideoPose3D's P-MPJPE."""
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    mu_p = pred.mean(axis=-2, keepdims=True)  # (..., 1, 3)
    mu_g = gt.mean(axis=-2, keepdims=True)
    p0, g0 = pred - mu_p, gt - mu_g
    norm_p = np.sqrt(np.sum(p0**2, axis=(-2, -1), keepdims=True))  # (..., 1, 1)
    norm_g = np.sqrt(np.sum(g0**2, axis=(-2, -1), keepdims=True))
    norm_p = np.where(norm_p > 0, norm_p, 1.0)
    norm_g = np.where(norm_g > 0, norm_g, 1.0)
    p0, g0 = p0 / norm_p, g0 / norm_g
    u, s, vt = np.linalg.svd(np.swapaxes(p0, -1, -2) @ g0)  # (..., 3, 3) cross-covariance
    sign = np.sign(np.linalg.det(u @ vt))  # (...,): -1 where the best orthogonal map is a reflection
    sign = np.where(sign == 0, 1.0, sign)
    s[..., -1] *= sign
    vt[..., -1, :] *= sign[..., None]
    rot = u @ vt  # (..., 3, 3): p0 @ rot ~ g0
    scale = np.sum(s, axis=-1)[..., None, None] * norm_g / norm_p  # (..., 1, 1)
    return scale * (pred - mu_p) @ rot + mu_g


def p_mpjpe(pred: np.ndarray, gt: np.ndarray, joints: Sequence[int] | None = None) -> float:
    """MPJPE after per-pose Procrustes alignment with scale; ``joints`` are both aligned and scored."""
    pred, gt = _pair(pred, gt, joints)
    return float(np.mean(np.linalg.norm(procrustes_align(pred, gt) - gt, axis=-1)))


def mpjpe_without_head(pred: np.ndarray, gt: np.ndarray) -> float:
    """MPJPE over :data:`BODY_JOINTS` (joints 9 and 10 left out)."""
    return mpjpe(pred, gt, BODY_JOINTS)


def p_mpjpe_without_head(pred: np.ndarray, gt: np.ndarray) -> float:
    """P-MPJPE over :data:`BODY_JOINTS` (joints 9 and 10 left out)."""
    return p_mpjpe(pred, gt, BODY_JOINTS)


# MPI-INF-3DHP's PCK/AUC joints (mpii_get_pck_auc_joint_groups: head top, neck, shoulders, elbows,
# wrists, hips, knees, ankles) in H36M-17 order: all but the pelvis (0), spine (7) and head (9)
PCK_JOINTS = (1, 2, 3, 4, 5, 6, 8, 10, 11, 12, 13, 14, 15, 16)
PCK_THRESHOLD_MM = 150.0
AUC_THRESHOLDS_MM = tuple(float(t) for t in range(0, 151, 5))  # 0:5:150


def pck(errors_mm: np.ndarray, threshold_mm: float = PCK_THRESHOLD_MM, joints: Sequence[int] = PCK_JOINTS) -> float:
    """Percentage of the ``joints`` of per-joint errors (..., J) below ``threshold_mm`` (strictly, as
    MPI-INF-3DHP's ``mpii_compute_3d_pck``)."""
    errors = np.asarray(errors_mm, dtype=np.float64)[..., list(joints)]
    return float(100.0 * np.mean(errors < threshold_mm))


def auc(errors_mm: np.ndarray, thresholds_mm: Sequence[float] = AUC_THRESHOLDS_MM,
        joints: Sequence[int] = PCK_JOINTS) -> float:
    """Area under the PCK curve: the mean PCK (%) over ``thresholds_mm`` (0, 5, ..., 150 mm)."""
    return float(np.mean([pck(errors_mm, t, joints) for t in thresholds_mm]))
