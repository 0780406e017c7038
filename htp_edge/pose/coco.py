"""COCO-17 keypoints (the order of most 2D detectors) -> the H36M-17 layout of the lifters.

COCO order: 0 nose, 1 l_eye, 2 r_eye, 3 l_ear, 4 r_ear, 5 l_shoulder, 6 r_shoulder, 7 l_elbow,
8 r_elbow, 9 l_wrist, 10 r_wrist, 11 l_hip, 12 r_hip, 13 l_knee, 14 r_knee, 15 l_ankle, 16 r_ankle.

Points COCO lacks are built from the others:

* pelvis = midpoint of the hips; thorax = midpoint of the shoulders;
* spine = midway between pelvis and thorax;
* neck/nose = the nose;
* head = the centre of eyes and ears, pushed away from the thorax by half their distance
  (``c + 0.5 (c - thorax)``), an estimate of the top of the head.

A derived point's confidence is the minimum of the confidences it is built from.
"""
from __future__ import annotations

import numpy as np

from htp_edge.errors import HtpEdgeError

NUM_COCO_JOINTS = 17
HEAD_EXTRAPOLATION = 0.5
# H36M joints copied directly from a COCO joint.
_DIRECT = {1: 12, 2: 14, 3: 16, 4: 11, 5: 13, 6: 15, 9: 0, 11: 5, 12: 7, 13: 9, 14: 6, 15: 8, 16: 10}
_FACE = (1, 2, 3, 4)  # eyes and ears


def coco_to_h36m(kp: np.ndarray) -> np.ndarray:
    """COCO-17 keypoints (..., 17, 2) or (..., 17, 3) with confidence -> H36M-17, same channels."""
    kp = np.asarray(kp)
    if kp.ndim < 2 or kp.shape[-2] != NUM_COCO_JOINTS or kp.shape[-1] not in (2, 3):
        raise HtpEdgeError(f"COCO keypoints: bad shape. Expected (..., {NUM_COCO_JOINTS}, 2) or (..., "
                           f"{NUM_COCO_JOINTS}, 3) with confidence, got {kp.shape}. Pass COCO-17 keypoints.")
    xy = kp[..., :2].astype(np.float64)
    out_xy = np.zeros(xy.shape, dtype=np.float64)
    for h36m, coco in _DIRECT.items():
        out_xy[..., h36m, :] = xy[..., coco, :]
    pelvis = 0.5 * (xy[..., 11, :] + xy[..., 12, :])
    thorax = 0.5 * (xy[..., 5, :] + xy[..., 6, :])
    face = xy[..., _FACE, :].mean(axis=-2)
    out_xy[..., 0, :] = pelvis
    out_xy[..., 7, :] = 0.5 * (pelvis + thorax)
    out_xy[..., 8, :] = thorax
    out_xy[..., 10, :] = face + HEAD_EXTRAPOLATION * (face - thorax)
    dtype = kp.dtype if np.issubdtype(kp.dtype, np.floating) else np.float32
    if kp.shape[-1] == 2:
        return out_xy.astype(dtype)
    conf = _confidences(kp[..., 2].astype(np.float64))[..., None]  # (..., 17) -> (..., 17, 1)
    return np.concatenate([out_xy, conf], axis=-1).astype(dtype)


def _confidences(conf: np.ndarray) -> np.ndarray:
    """COCO confidences (..., 17) -> H36M confidences (..., 17), derived points by min."""
    out = np.zeros(conf.shape, dtype=np.float64)
    for h36m, coco in _DIRECT.items():
        out[..., h36m] = conf[..., coco]
    pelvis = np.minimum(conf[..., 11], conf[..., 12])
    thorax = np.minimum(conf[..., 5], conf[..., 6])
    out[..., 0] = pelvis
    out[..., 7] = np.minimum(pelvis, thorax)
    out[..., 8] = thorax
    out[..., 10] = np.minimum(conf[..., _FACE].min(axis=-1), thorax)
    return out
