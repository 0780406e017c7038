"""Pinhole cameras with radial/tangential distortion, and root estimation from 2D (numpy only)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from htp_edge.errors import HtpEdgeError

H36M_FOCAL_PER_PIXEL = 1.145  # Human3.6M: ~1145 px focal length for ~1000 px wide images


@dataclass(frozen=True)
class Intrinsics:
    """Focal lengths and principal point in pixels; VideoPose3D distortion k (3,), p (2,)."""

    fx: float
    fy: float
    cx: float
    cy: float
    k: tuple[float, float, float] = (0.0, 0.0, 0.0)
    p: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        if not (self.fx > 0 and self.fy > 0):
            raise HtpEdgeError(f"intrinsics: focal lengths must be positive, got fx={self.fx}, fy={self.fy}.")

    @classmethod
    def default(cls, width: float, height: float) -> "Intrinsics":
        """Human3.6M-like intrinsics for an image of this size (centred principal point)."""
        focal = H36M_FOCAL_PER_PIXEL * max(width, height)
        return cls(focal, focal, width / 2.0, height / 2.0)


def distort(xy: np.ndarray, k, p) -> np.ndarray:
    """VideoPose3D lens model on normalised image-plane points (..., 2): radial k (3,), tangential p (2,)."""
    k, p = np.asarray(k, dtype=np.float64), np.asarray(p, dtype=np.float64)
    r2 = np.sum(xy * xy, axis=-1, keepdims=True)  # (..., 1)
    radial = 1 + k[0] * r2 + k[1] * r2 ** 2 + k[2] * r2 ** 3
    tangential = np.sum(p * xy, axis=-1, keepdims=True)  # p1 x + p2 y
    return xy * (radial + tangential) + p * r2


def project_points(points: np.ndarray, intr: Intrinsics) -> np.ndarray:
    """Camera-frame points (..., 3) in metres -> pixels (..., 2), with distortion."""
    z = np.clip(points[..., 2:3], 1e-6, None)
    xd = distort(points[..., :2] / z, intr.k, intr.p)  # (..., 2)
    return xd * np.array([intr.fx, intr.fy]) + np.array([intr.cx, intr.cy])


def estimate_root(pose_rel: np.ndarray, kp_px: np.ndarray, intr: Intrinsics,
                  weights: np.ndarray | None = None) -> np.ndarray:
    """Least-squares camera-frame root translation T so that pose_rel + T projects onto kp_px.

    pose_rel (..., J, 3) root-relative metres; kp_px (..., J, 2); weights (..., J) or None.
    Undistorted pinhole: (X_j + tx) = u_j (Z_j + tz), u_j = (x_j - cx) / fx (same for y).
    Returns (..., 3).
    """
    u = (kp_px[..., 0] - intr.cx) / intr.fx  # (..., J)
    v = (kp_px[..., 1] - intr.cy) / intr.fy
    w = np.ones_like(u) if weights is None else weights
    one, zero = np.ones_like(u), np.zeros_like(u)
    a = np.concatenate([np.stack([one, zero, -u], -1), np.stack([zero, one, -v], -1)], axis=-2)  # (..., 2J, 3)
    b = np.concatenate([u * pose_rel[..., 2] - pose_rel[..., 0], v * pose_rel[..., 2] - pose_rel[..., 1]], -1)
    ww = np.concatenate([w, w], -1)[..., None]  # (..., 2J, 1)
    ata = np.swapaxes(a * ww, -1, -2) @ a + 1e-9 * np.eye(3)  # (..., 3, 3)
    atb = np.swapaxes(a * ww, -1, -2) @ b[..., None]  # (..., 3, 1)
    return np.linalg.solve(ata, atb)[..., 0]
