"""Pose augmentation: part mixing and limb rotations keep the skeleton, and change the pose."""
from __future__ import annotations

import numpy as np
import pytest

from htp_edge.data.augment import (
    PARTS,
    SUBTREES,
    AugmentConfig,
    augment_pose,
    mix_part,
    random_rotation,
    rotate_subtree,
    tilt,
    torso_frames,
)
from htp_edge.errors import HtpEdgeError
from htp_edge.pose.skeleton import PARENTS


def _bone_lengths(x: np.ndarray) -> np.ndarray:
    return np.stack([np.linalg.norm(x[:, j] - x[:, p], axis=-1) for j, p in enumerate(PARENTS) if p >= 0], 1)


@pytest.fixture()
def chunks(real_clips):
    walk = real_clips["deepmimic/walk"].positions[:27].astype(np.float64)
    climb = real_clips["climb/seq0"].positions[100:127].astype(np.float64)
    return walk, climb


def test_torso_frames_are_rotations(chunks):
    frames = torso_frames(chunks[1])
    eye = np.broadcast_to(np.eye(3), frames.shape)
    np.testing.assert_allclose(frames.transpose(0, 2, 1) @ frames, eye, atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(frames), 1.0, atol=1e-9)


def test_mixing_with_itself_is_identity(chunks):
    walk, _ = chunks
    for chain in PARTS.values():
        np.testing.assert_allclose(mix_part(walk, walk, chain), walk, atol=1e-9)


def test_mixed_arm_moves_as_the_donor_relative_to_the_torso(chunks):
    walk, climb = chunks
    mixed = mix_part(walk, climb, PARTS["l_arm"])
    np.testing.assert_allclose(_bone_lengths(mixed), _bone_lengths(walk), atol=1e-9)
    untouched = [j for j in range(17) if j not in PARTS["l_arm"]]
    np.testing.assert_array_equal(mixed[:, untouched], walk[:, untouched])
    # The wrist's direction from the elbow, in torso coordinates, is the donor's.
    def local_dir(x):
        v = x[:, 13] - x[:, 12]
        v = np.einsum("fji,fj->fi", torso_frames(x), v)
        return v / np.linalg.norm(v, axis=-1, keepdims=True)
    np.testing.assert_allclose(local_dir(mixed), local_dir(climb), atol=1e-9)
    assert np.abs(mixed[:, 13] - walk[:, 13]).max() > 0.1  # climbing arms are not walking arms


def test_rotation_keeps_bones_and_pivot(chunks):
    rng = np.random.default_rng(0)
    walk, _ = chunks
    for pivot in SUBTREES:
        rot = random_rotation(rng, 40.0)
        np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-12)
        out = rotate_subtree(walk, pivot, rot)
        np.testing.assert_allclose(_bone_lengths(out), _bone_lengths(walk), atol=1e-9)
        np.testing.assert_array_equal(out[:, pivot], walk[:, pivot])
        still = [j for j in range(17) if j not in SUBTREES[pivot]]
        np.testing.assert_array_equal(out[:, still], walk[:, still])


def test_tilt_is_a_rigid_lean_about_the_mean_root(chunks):
    walk, _ = chunks
    out = tilt(walk, np.random.default_rng(5), 60.0)
    np.testing.assert_allclose(_bone_lengths(out), _bone_lengths(walk), atol=1e-9)
    np.testing.assert_allclose(out[:, 0].mean(0), walk[:, 0].mean(0), atol=1e-9)
    a = (walk - walk[:, 0].mean(0)).reshape(-1, 3)  # (F*17, 3)
    b = (out - walk[:, 0].mean(0)).reshape(-1, 3)
    rot, *_ = np.linalg.lstsq(a, b, rcond=None)  # b = a @ rot
    np.testing.assert_allclose(a @ rot, b, atol=1e-9)
    np.testing.assert_allclose(rot.T @ rot, np.eye(3), atol=1e-9)
    angle = np.degrees(np.arccos((np.trace(rot) - 1) / 2))
    axis = np.array([rot[1, 2] - rot[2, 1], rot[2, 0] - rot[0, 2], rot[0, 1] - rot[1, 0]])
    assert 0 < angle <= 60.0 + 1e-6 and abs(axis[2]) < 1e-9  # a lean about a horizontal axis
    np.testing.assert_allclose(tilt(walk, np.random.default_rng(5), 0.0), walk, atol=1e-12)


def test_augment_pose_is_seeded_and_can_be_turned_off(chunks):
    walk, climb = chunks
    config = AugmentConfig(part_mix_prob=1.0, part_prob=1.0, rotation_prob=1.0, tilt_prob=1.0)
    a = augment_pose(walk, np.random.default_rng(3), config, lambda: climb)
    b = augment_pose(walk, np.random.default_rng(3), config, lambda: climb)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(_bone_lengths(a), _bone_lengths(walk), atol=1e-8)
    assert np.abs(a - walk).max() > 0.1
    np.testing.assert_array_equal(augment_pose(walk, np.random.default_rng(3), AugmentConfig.none(),
                                               lambda: climb), walk)


def test_augment_errors(chunks):
    with pytest.raises(HtpEdgeError, match="part_mix_prob"):
        AugmentConfig(part_mix_prob=1.5)
    with pytest.raises(HtpEdgeError, match="rotation_deg"):
        AugmentConfig(rotation_deg=-1.0)
    with pytest.raises(HtpEdgeError, match="tilt_deg"):
        AugmentConfig(tilt_deg=200.0)
    with pytest.raises(HtpEdgeError, match="shape mismatch"):
        mix_part(chunks[0], chunks[1][:10], PARTS["head"])
    with pytest.raises(HtpEdgeError, match="bad chunk"):
        augment_pose(np.zeros((5, 16, 3)), np.random.default_rng(0), AugmentConfig(), lambda: None)
