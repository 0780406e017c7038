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

:func:`body_to_h36m` is the same construction for layouts that carry some of these points
themselves (a pelvis, a neck between the shoulders, a top of the head: Halpe-26, OpenPose
BODY_25); :mod:`htp_edge.pose.layouts` feeds every supported layout through it.
"""
from __future__ import annotations

import numpy as np

from htp_edge.errors import HtpEdgeError

NUM_COCO_JOINTS = 17
HEAD_EXTRAPOLATION = 0.5
# H36M joints copied directly from a COCO joint.
DIRECT_FROM_COCO = {1: 12, 2: 14, 3: 16, 4: 11, 5: 13, 6: 15, 9: 0, 11: 5, 12: 7, 13: 9, 14: 6, 15: 8, 16: 10}
FACE_JOINTS = (1, 2, 3, 4)  # eyes and ears
_DST, _SRC = list(DIRECT_FROM_COCO), list(DIRECT_FROM_COCO.values())


def coco_to_h36m(kp: np.ndarray) -> np.ndarray:
    """COCO-17 keypoints (..., 17, 2) or (..., 17, 3) with confidence -> H36M-17, same channels."""
    return body_to_h36m(kp)


def body_to_h36m(kp: np.ndarray, pelvis=None, thorax=None, head=None) -> np.ndarray:
    """COCO-17 keypoints (..., 17, 2|3) -> H36M-17 (same channels), with optional points of the
    layout's own: ``pelvis``, ``thorax`` (a neck between the shoulders) and ``head`` (top of the
    head), each (..., 2|3) like ``kp``. A given point replaces the built one wherever its
    confidence is > 0 (always, without confidences); elsewhere the COCO construction is used."""
    kp = np.asarray(kp)
    if kp.ndim < 2 or kp.shape[-2] != NUM_COCO_JOINTS or kp.shape[-1] not in (2, 3):
        raise HtpEdgeError(f"COCO keypoints: bad shape. Expected (..., {NUM_COCO_JOINTS}, 2) or (..., "
                           f"{NUM_COCO_JOINTS}, 3) with confidence, got {kp.shape}. Pass COCO-17 keypoints.")
    channels = kp.shape[-1]
    full = with_confidence(kp)  # (..., 17, 3) float64
    xy, conf = full[..., :2], full[..., 2]
    out = np.zeros(full.shape, dtype=np.float64)
    out[..., _DST, :] = full[..., _SRC, :]
    pelvis_p = _own(pelvis, channels, 0.5 * (xy[..., 11, :] + xy[..., 12, :]), np.minimum(conf[..., 11], conf[..., 12]))
    thorax_p = _own(thorax, channels, 0.5 * (xy[..., 5, :] + xy[..., 6, :]), np.minimum(conf[..., 5], conf[..., 6]))
    face, face_c = xy[..., FACE_JOINTS, :].mean(axis=-2), conf[..., FACE_JOINTS].min(axis=-1)
    head_p = _own(head, channels, face + HEAD_EXTRAPOLATION * (face - thorax_p[..., :2]),
                  np.minimum(face_c, thorax_p[..., 2]))
    out[..., 0, :] = pelvis_p
    out[..., 7, :2] = 0.5 * (pelvis_p[..., :2] + thorax_p[..., :2])
    out[..., 7, 2] = np.minimum(pelvis_p[..., 2], thorax_p[..., 2])
    out[..., 8, :] = thorax_p
    out[..., 10, :] = head_p
    dtype = kp.dtype if np.issubdtype(kp.dtype, np.floating) else np.float32
    return out[..., :channels].astype(dtype)


def with_confidence(kp: np.ndarray) -> np.ndarray:
    """(..., J, 2|3) -> float64 (..., J, 3); confidence 1 where none is given."""
    kp = kp.astype(np.float64)
    if kp.shape[-1] == 3:
        return kp
    return np.concatenate([kp, np.ones(kp.shape[:-1] + (1,))], axis=-1)  # (..., J, 2) -> (..., J, 3)


def _own(point, channels: int, built_xy: np.ndarray, built_c: np.ndarray) -> np.ndarray:
    """The layout's own point where it is seen (confidence > 0), else the built one: (..., 3)."""
    built = np.concatenate([built_xy, built_c[..., None]], axis=-1)  # (..., 2) + (...,) -> (..., 3)
    if point is None:
        return built
    point = np.asarray(point)
    if point.shape[-1] != channels or point.shape[:-1] != built.shape[:-1]:
        raise HtpEdgeError(f"body keypoints: bad extra point shape. Expected {built.shape[:-1] + (channels,)}, "
                           f"got {point.shape}. Pass the layout's own point with the same channels.")
    own = with_confidence(point[..., None, :])[..., 0, :]  # (..., C) -> (..., 3)
    return np.where((own[..., 2] > 0)[..., None], own, built)
