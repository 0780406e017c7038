"""Unit quaternions in (w, x, y, z) order: products, rotation matrices and slerp resampling."""
from __future__ import annotations

import numpy as np

from htp_edge.errors import HtpEdgeError


def normalize(q: np.ndarray) -> np.ndarray:
    """Scale quaternions (..., 4) to unit length; a zero quaternion is an error."""
    norm = np.linalg.norm(q, axis=-1, keepdims=True)
    if np.any(norm < 1e-12) or not np.all(np.isfinite(norm)):
        raise HtpEdgeError(
            "quaternion: found a zero or non-finite quaternion. Expected unit (w, x, y, z) rotations, "
            "got a degenerate value. Check the motion file."
        )
    return q / norm


def to_matrix(q: np.ndarray) -> np.ndarray:
    """Unit quaternions (..., 4) as (w, x, y, z) -> rotation matrices (..., 3, 3)."""
    w, x, y, z = np.moveaxis(q, -1, 0)
    rows = (
        (1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)),
        (2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)),
        (2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)),
    )
    # 9 arrays of shape (...) -> (..., 3, 3)
    return np.stack([np.stack(r, axis=-1) for r in rows], axis=-2)


def from_z_angle(angle: np.ndarray) -> np.ndarray:
    """Rotations by ``angle`` radians (...) about the local z axis -> quaternions (..., 4)."""
    half = 0.5 * np.asarray(angle, dtype=np.float64)
    zeros = np.zeros_like(half)
    return np.stack([np.cos(half), zeros, zeros, np.sin(half)], axis=-1)


def make_continuous(q: np.ndarray) -> np.ndarray:
    """Flip signs along axis 0 so consecutive quaternions (T, ..., 4) lie in one hemisphere."""
    if q.shape[0] < 2:
        return q.copy()
    dots = np.sum(q[1:] * q[:-1], axis=-1)  # (T-1, ...)
    flips = np.where(dots < 0.0, -1.0, 1.0)
    signs = np.concatenate([np.ones_like(flips[:1]), np.cumprod(flips, axis=0)], axis=0)  # (T, ...)
    return q * signs[..., None]


def slerp(q0: np.ndarray, q1: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Spherical interpolation between unit quaternions (..., 4) at fractions ``u`` (...)."""
    u = np.asarray(u, dtype=np.float64)[..., None]  # (..., 1)
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0.0, -q1, q1)
    dot = np.clip(np.abs(dot), 0.0, 1.0)
    theta = np.arccos(dot)
    sin_theta = np.sin(theta)
    small = sin_theta < 1e-8
    safe = np.where(small, 1.0, sin_theta)
    w0 = np.where(small, 1.0 - u, np.sin((1.0 - u) * theta) / safe)
    w1 = np.where(small, u, np.sin(u * theta) / safe)
    return normalize(w0 * q0 + w1 * q1)


def interpolation_weights(times: np.ndarray, new_times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each new time, the index ``i`` of the key frame before it and the fraction to ``i+1``."""
    if times.shape[0] < 2:
        return np.zeros(new_times.shape, dtype=np.int64), np.zeros(new_times.shape)
    idx = np.clip(np.searchsorted(times, new_times, side="right") - 1, 0, times.shape[0] - 2)
    span = times[idx + 1] - times[idx]
    frac = np.where(span > 0, (new_times - times[idx]) / np.where(span > 0, span, 1.0), 0.0)
    return idx, np.clip(frac, 0.0, 1.0)


def resample_quaternions(times: np.ndarray, q: np.ndarray, new_times: np.ndarray) -> np.ndarray:
    """Slerp a track of rotations (T, ..., 4) keyed at ``times`` (T,) onto ``new_times`` (N,)."""
    q = make_continuous(normalize(q))
    if q.shape[0] < 2:
        return np.repeat(q, new_times.shape[0], axis=0)
    idx, frac = interpolation_weights(times, new_times)
    frac = frac.reshape(frac.shape + (1,) * (q.ndim - 2))  # (N,) -> (N, 1, ...) to broadcast over tracks
    return slerp(q[idx], q[idx + 1], np.broadcast_to(frac, q[idx].shape[:-1]))


def resample_linear(times: np.ndarray, x: np.ndarray, new_times: np.ndarray) -> np.ndarray:
    """Linear interpolation of values (T, ...) keyed at ``times`` onto ``new_times`` (N,)."""
    if x.shape[0] < 2:
        return np.repeat(x, new_times.shape[0], axis=0)
    idx, frac = interpolation_weights(times, new_times)
    frac = frac.reshape(frac.shape + (1,) * (x.ndim - 1))  # (N,) -> (N, 1, ...)
    return (1.0 - frac) * x[idx] + frac * x[idx + 1]
