"""COCO-17 -> H36M-17 as the MHFormer demo builds it (format ``coco-mhformer``).

The construction of ``h36m_coco_format`` in MHFormer's ``demo/lib/preprocess.py``
(github.com/Vegetebird/MHFormer), which feeds COCO detector keypoints (HRNet) to lifters trained
on Human3.6M-ordered 2D; it shifts the torso and head points from the plain midpoints of
:mod:`htp_edge.pose.coco`. With ``nose`` n, mid-shoulders s, mid-hips h, mid-eyes e, eyes, ears:

* pelvis = h; limbs and neck copied as in the plain mapping;
* thorax = s + (n - s) / 3, then its y moves by -(2/3) (e_y - n_y);
* spine = the mean of the four shoulder/hip points, its x pushed from the pelvis-thorax midpoint
  to three times its offset (``x += 2 (x - (pelvis_x + thorax_x) / 2)``);
* neck/nose = n - (n - s) / 4;
* head = (mean x of eyes and ears, l_eye_y + r_eye_y - n_y).

Confidences as that code sets them: limbs copied; pelvis, thorax, head the mean of their
joints, spine the mean of pelvis and thorax. One deliberate difference: a derived point built
from a missing joint (confidence <= 0) gets confidence 0, so it is filled over time like any
missing joint instead of being averaged with a (0, 0) point. ``tests/pose/fixtures`` holds the
outputs of the reference code on fixed inputs, and the tests compare against them.
"""
from __future__ import annotations

import numpy as np

from htp_edge.errors import HtpEdgeError
from htp_edge.pose.coco import DIRECT_FROM_COCO, FACE_JOINTS, NUM_COCO_JOINTS, with_confidence

_SHOULDERS, _HIPS, _EYES = (5, 6), (11, 12), (1, 2)
# COCO joints each derived H36M point depends on (its confidence is 0 if any of them is missing)
_SOURCES = {0: _HIPS, 7: (0, 1, 2) + _SHOULDERS + _HIPS, 8: (0,) + _EYES + _SHOULDERS,
            9: (0,) + _SHOULDERS, 10: (0,) + FACE_JOINTS}


def coco_to_h36m_mhformer(kp: np.ndarray) -> np.ndarray:
    """COCO-17 keypoints (..., 17, 2|3) -> H36M-17 (same channels), MHFormer's construction."""
    kp = np.asarray(kp)
    if kp.ndim < 2 or kp.shape[-2] != NUM_COCO_JOINTS or kp.shape[-1] not in (2, 3):
        raise HtpEdgeError(f"COCO keypoints: bad shape. Expected (..., {NUM_COCO_JOINTS}, 2) or (..., "
                           f"{NUM_COCO_JOINTS}, 3) with confidence, got {kp.shape}. Pass COCO-17 keypoints.")
    full = with_confidence(kp)  # (..., 17, 3) float64
    xy, conf = full[..., :2], full[..., 2]
    out = np.zeros(full.shape, dtype=np.float64)
    for h36m, coco in DIRECT_FROM_COCO.items():
        out[..., h36m, :] = full[..., coco, :]
    nose, shoulders, hips = xy[..., 0, :], xy[..., _SHOULDERS, :].mean(-2), xy[..., _HIPS, :].mean(-2)
    eyes_y = xy[..., _EYES, 1].mean(-1)
    thorax = shoulders + (nose - shoulders) / 3.0
    thorax[..., 1] -= (eyes_y - nose[..., 1]) * 2.0 / 3.0
    spine = xy[..., _SHOULDERS + _HIPS, :].mean(-2)
    spine[..., 0] += 2.0 * (spine[..., 0] - 0.5 * (hips[..., 0] + thorax[..., 0]))
    out[..., 0, :2], out[..., 7, :2], out[..., 8, :2] = hips, spine, thorax
    out[..., 9, :2] = nose - (nose - shoulders) / 4.0
    out[..., 10, 0] = xy[..., FACE_JOINTS, 0].mean(-1)
    out[..., 10, 1] = xy[..., 1, 1] + xy[..., 2, 1] - nose[..., 1]
    pelvis_c, thorax_c = conf[..., _HIPS].mean(-1), conf[..., _SHOULDERS].mean(-1)
    out[..., 0, 2], out[..., 8, 2] = pelvis_c, thorax_c
    out[..., 7, 2] = 0.5 * (pelvis_c + thorax_c)
    out[..., 10, 2] = conf[..., FACE_JOINTS].mean(-1)
    for h36m, sources in _SOURCES.items():
        seen = (conf[..., list(sources)] > 0).all(-1)
        out[..., h36m, 2] = np.where(seen, out[..., h36m, 2], 0.0)
    dtype = kp.dtype if np.issubdtype(kp.dtype, np.floating) else np.float32
    return out[..., :kp.shape[-1]].astype(dtype)
