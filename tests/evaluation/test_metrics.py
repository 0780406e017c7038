"""MPJPE and P-MPJPE."""
from __future__ import annotations

import numpy as np
import pytest

from htp_edge.errors import HtpEdgeError
from htp_edge.evaluation import BODY_JOINTS, joints_without, mpjpe, mpjpe_without_head, p_mpjpe, p_mpjpe_without_head


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


@pytest.fixture()
def poses():
    rng = np.random.default_rng(0)
    return rng.normal(scale=0.3, size=(6, 17, 3))


def test_zero_on_identical(poses):
    assert mpjpe(poses, poses) == 0.0
    assert p_mpjpe(poses, poses) == pytest.approx(0.0, abs=1e-12)


def test_mpjpe_value_and_units(poses):
    shifted = poses + np.array([0.003, 0.004, 0.0])  # 5 mm everywhere
    assert mpjpe(shifted, poses) == pytest.approx(0.005)
    assert mpjpe(shifted * 1000, poses * 1000) == pytest.approx(5.0)


def test_p_mpjpe_ignores_similarity_transforms(poses):
    rng = np.random.default_rng(1)
    noisy = poses + rng.normal(scale=0.01, size=poses.shape)
    base = p_mpjpe(noisy, poses)
    rotations = np.stack([_random_rotation(rng) for _ in range(poses.shape[0])])  # one per frame
    moved = 1.7 * np.einsum("tij,tkj->tki", rotations, noisy) + rng.normal(size=(poses.shape[0], 1, 3))
    assert p_mpjpe(moved, poses) == pytest.approx(base, rel=1e-9)
    assert mpjpe(moved, poses) > 10 * base
    assert 0 < base < mpjpe(noisy, poses)


def test_p_mpjpe_does_not_reflect(poses):
    mirrored = poses * np.array([-1.0, 1.0, 1.0])
    assert p_mpjpe(mirrored, poses) > 0.01


def test_without_head_joints(poses):
    assert BODY_JOINTS == joints_without((9, 10)) and 9 not in BODY_JOINTS and len(BODY_JOINTS) == 15
    wrong_head = poses.copy()
    wrong_head[:, [9, 10]] += 1.0
    assert mpjpe_without_head(wrong_head, poses) == 0.0
    assert p_mpjpe_without_head(wrong_head, poses) == pytest.approx(0.0, abs=1e-12)
    assert mpjpe(wrong_head, poses) == pytest.approx(np.sqrt(3) * 2 / 17)


def test_bad_inputs(poses):
    with pytest.raises(HtpEdgeError, match="shapes"):
        mpjpe(poses, poses[:, :16])
    with pytest.raises(HtpEdgeError, match="joints"):
        p_mpjpe(poses, poses, joints=[0, 17])
