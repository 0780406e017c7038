"""A virtual camera aimed at the person: a fixed camera's view made to look like the training views.

A robot's camera is fixed: people walk toward it and across it, so they appear anywhere in the
image and from about 100 to 800 pixels tall. The lifters were trained on cameras aimed at the
person from 3-6 m. Turning a pinhole camera about its centre and changing its focal length are
exact image transforms (a homography of the undistorted rays), so the keypoints can be re-rendered
as a *virtual* camera at the same centre sees them: its optical axis through the person, and its
focal length zoomed only as far as needed to bring the person's image size into the range the
training views cover (``VirtualCameraConfig``). The model lifts that view; its camera-frame pose is
turned back by the inverse rotation. Nothing is approximated but the lens model's inverse
(fixed-point undistortion).

One view is fitted per clip (the frames the model sees at once): within a clip the person's size
and position still change as they really do, so the motion stays what the camera saw.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from htp_edge.errors import HtpEdgeError
from htp_edge.pose.geometry import Intrinsics, distort


@dataclass(frozen=True)
class VirtualCameraConfig:
    """How the virtual camera frames the person.

    Attributes:
        size: virtual image width and height in pixels (principal point at its centre); the real
            focal length is first scaled by ``size / real image width``, so a view that needs no
            zoom keeps the real camera's field of view.
        min_person_px, max_person_px: the person's median extent (the larger of height and width
            of the visible joints) that the views of training cover; a smaller or larger person is
            zoomed to the nearest bound, one inside is left at its size. The defaults were chosen
            on the train split's robot views (approach and cross) among (180, 510), (250, 600) and
            (320, 650) px.
    """

    size: int = 1000
    min_person_px: float = 320.0
    max_person_px: float = 650.0

    def __post_init__(self) -> None:
        if not (0 < self.min_person_px <= self.max_person_px < self.size):
            raise HtpEdgeError(f"virtual camera: bad person size bounds. Expected 0 < min <= max < size "
                               f"({self.size}), got {self.min_person_px}, {self.max_person_px}. Use e.g. 320, 650.")


@dataclass(frozen=True, eq=False)
class VirtualView:
    """``rotation`` (3, 3) real camera frame -> virtual camera frame; ``focal`` px; ``size`` px."""

    rotation: np.ndarray
    focal: float
    size: int

    @property
    def intrinsics(self) -> Intrinsics:
        return Intrinsics(self.focal, self.focal, self.size / 2.0, self.size / 2.0)


def undistort(xy_distorted: np.ndarray, k, p, iterations: int = 20) -> np.ndarray:
    """Invert :func:`htp_edge.pose.geometry.distort` on normalised points (..., 2) by fixed-point iteration."""
    xy_d = np.asarray(xy_distorted, dtype=np.float64)
    if not (np.any(k) or np.any(p)):
        return xy_d
    xy = xy_d.copy()
    for _ in range(iterations):
        xy = xy + (xy_d - distort(xy, k, p))
    return xy


def pixel_rays(xy_px: np.ndarray, intr: Intrinsics) -> np.ndarray:
    """Pixels (..., 2) -> undistorted rays (..., 3) with z = 1 in the real camera frame."""
    uv = (np.asarray(xy_px, dtype=np.float64) - [intr.cx, intr.cy]) / [intr.fx, intr.fy]
    uv = undistort(uv, intr.k, intr.p)
    return np.concatenate([uv, np.ones(uv.shape[:-1] + (1,))], axis=-1)


def aim_rotation(direction: np.ndarray) -> np.ndarray:
    """The rotation (3, 3) whose rows are the virtual camera's axes: z along ``direction`` (3,), x kept
    horizontal in the real camera's x-z plane (no roll about the new axis)."""
    forward = np.asarray(direction, dtype=np.float64)
    forward = forward / np.linalg.norm(forward)
    right = np.cross([0.0, 1.0, 0.0], forward)  # real y (down) x forward
    if np.linalg.norm(right) < 1e-6:
        raise HtpEdgeError("virtual camera: the person is straight above or below the camera. Expected a "
                           "direction off the camera's vertical, got one along it.")
    right /= np.linalg.norm(right)
    return np.stack([right, np.cross(forward, right), forward])


def fit_view(xy_px: np.ndarray, confidence: np.ndarray, intr: Intrinsics, width: float,
             config: VirtualCameraConfig = VirtualCameraConfig()) -> VirtualView:
    """The virtual camera for one clip: keypoints (F, J, 2) px and confidences (F, J) of an image
    ``width`` px wide, seen through ``intr``."""
    focal = intr.fx * config.size / float(width)
    seen = np.asarray(confidence) > 0
    if not np.any(seen):
        return VirtualView(np.eye(3), focal, config.size)
    rays = pixel_rays(xy_px, intr)  # (F, J, 3)
    unit = rays / np.linalg.norm(rays, axis=-1, keepdims=True)
    rotation = aim_rotation(unit[seen].mean(axis=0))
    v = rays @ rotation.T  # (F, J, 3) in the virtual frame
    uv = v[..., :2] / np.maximum(v[..., 2:3], 1e-6)
    extents = [float((f_uv[f_seen].max(axis=0) - f_uv[f_seen].min(axis=0)).max())
               for f_uv, f_seen in zip(uv, seen) if f_seen.sum() >= 2]
    extent = float(np.median(extents)) * focal if extents else 0.0  # virtual px at the unzoomed focal
    if extent > 1e-6:
        focal *= float(np.clip(extent, config.min_person_px, config.max_person_px)) / extent
    return VirtualView(rotation, focal, config.size)


def reframe_clips(xy_px: np.ndarray, confidence: np.ndarray, intr: Intrinsics, width: float,
                  config: VirtualCameraConfig = VirtualCameraConfig()) -> tuple[np.ndarray, list[VirtualView]]:
    """Clips (C, F, J, 2) px and confidences (C, F, J) -> virtual-camera pixels (C, F, J, 2), one view each."""
    views = [fit_view(xy, conf, intr, width, config) for xy, conf in zip(xy_px, confidence)]
    out = np.stack([to_virtual(xy, intr, view) for xy, view in zip(xy_px, views)]) if views else xy_px
    return out.astype(np.float32), views


def unframe(poses: np.ndarray, views: list[VirtualView]) -> np.ndarray:
    """Per-clip poses (C, ..., J, 3) in each clip's virtual camera frame -> the real camera frame."""
    rot = np.stack([v.rotation for v in views])  # (C, 3, 3)
    flat = np.asarray(poses).reshape(len(views), -1, 3)  # (C, ..., J, 3) -> (C, N, 3)
    return np.einsum("cni,cij->cnj", flat, rot).reshape(np.shape(poses)).astype(np.float32)


def to_virtual(xy_px: np.ndarray, intr: Intrinsics, view: VirtualView) -> np.ndarray:
    """Real-camera pixels (..., 2) -> virtual-camera pixels (..., 2)."""
    v = pixel_rays(xy_px, intr) @ view.rotation.T  # (..., 3)
    z = np.where(v[..., 2:3] > 1e-6, v[..., 2:3], 1e-6)  # rays behind the virtual camera: clamp
    return v[..., :2] / z * view.focal + view.size / 2.0


def from_virtual(points: np.ndarray, view: VirtualView) -> np.ndarray:
    """Virtual-camera-frame points (..., 3) -> the real camera frame (..., 3)."""
    return np.asarray(points) @ view.rotation
