"""COCO-17 -> H36M-17 on a hand-made pose."""
from __future__ import annotations

import numpy as np
import pytest

from htp_edge.errors import HtpEdgeError
from htp_edge.pose.coco import coco_to_h36m

# A front-facing person in pixels (y down), COCO order.
COCO = np.array([
    [100.0, 40.0],  # 0 nose
    [104.0, 36.0], [96.0, 36.0],  # 1 l_eye, 2 r_eye
    [110.0, 40.0], [90.0, 40.0],  # 3 l_ear, 4 r_ear
    [120.0, 80.0], [80.0, 80.0],  # 5 l_shoulder, 6 r_shoulder
    [130.0, 120.0], [70.0, 120.0],  # 7, 8 elbows
    [135.0, 160.0], [65.0, 160.0],  # 9, 10 wrists
    [112.0, 160.0], [88.0, 160.0],  # 11 l_hip, 12 r_hip
    [114.0, 220.0], [86.0, 220.0],  # 13, 14 knees
    [115.0, 280.0], [85.0, 280.0],  # 15, 16 ankles
])


def test_hand_made_pose():
    h = coco_to_h36m(COCO)
    assert h.shape == (17, 2) and h.dtype == np.float64
    np.testing.assert_allclose(h[0], [100.0, 160.0])  # pelvis = mid-hips
    np.testing.assert_allclose(h[8], [100.0, 80.0])  # thorax = mid-shoulders
    np.testing.assert_allclose(h[7], [100.0, 120.0])  # spine midway
    np.testing.assert_allclose(h[9], [100.0, 40.0])  # neck/nose = nose
    np.testing.assert_allclose(h[10], [100.0, 38.0 + 0.5 * (38.0 - 80.0)])  # face centre extrapolated up
    np.testing.assert_allclose(h[[1, 2, 3]], COCO[[12, 14, 16]])  # right leg
    np.testing.assert_allclose(h[[4, 5, 6]], COCO[[11, 13, 15]])  # left leg
    np.testing.assert_allclose(h[[11, 12, 13]], COCO[[5, 7, 9]])  # left arm
    np.testing.assert_allclose(h[[14, 15, 16]], COCO[[6, 8, 10]])  # right arm


def test_confidences_combine_by_min_and_batch_dims():
    conf = np.linspace(0.2, 1.0, 17)
    kp = np.concatenate([COCO, conf[:, None]], axis=1)[None, None].repeat(3, axis=1).astype(np.float32)  # (1, 3, 17, 3)
    h = coco_to_h36m(kp)
    assert h.shape == (1, 3, 17, 3) and h.dtype == np.float32
    c = h[0, 0, :, 2]
    assert c[0] == pytest.approx(min(conf[11], conf[12]))
    assert c[8] == pytest.approx(min(conf[5], conf[6]))
    assert c[7] == pytest.approx(min(conf[5], conf[6], conf[11], conf[12]))
    assert c[10] == pytest.approx(min(conf[1:7]))
    assert c[9] == pytest.approx(conf[0]) and c[3] == pytest.approx(conf[16])


def test_wrong_shape():
    with pytest.raises(HtpEdgeError, match="COCO"):
        coco_to_h36m(np.zeros((5, 18, 2)))
