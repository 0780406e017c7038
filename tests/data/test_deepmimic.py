"""DeepMimic conversion: frame parsing, slerp resampling, forward kinematics on the real clips."""
from __future__ import annotations

import json

import numpy as np
import pytest

from htp_edge.data import deepmimic, quaternion
from htp_edge.errors import HtpEdgeError
from htp_edge.pose.skeleton import PARENTS
from tests.data.fake_wheels import identity_frames


def bone_lengths(positions: np.ndarray) -> np.ndarray:
    """(T, 17, 3) -> (T, 16) lengths of the H36M bones."""
    return np.linalg.norm(positions[:, 1:] - positions[:, list(PARENTS[1:])], axis=-1)


def test_wrap_clip_drops_its_closing_duplicate():
    frames = identity_frames(5, 1 / 30)
    assert deepmimic.parse_frames(json.dumps({"Loop": "wrap", "Frames": frames})).shape == (4, 44)
    assert deepmimic.parse_frames(json.dumps({"Loop": "none", "Frames": frames})).shape == (5, 44)
    with pytest.raises(HtpEdgeError, match="Expected"):
        deepmimic.parse_frames(json.dumps({"Loop": "none", "Frames": [[0.0] * 43] * 3}))


def test_rest_pose_forward_kinematics():
    frames = np.array(identity_frames(2, 1 / 30))
    pos = deepmimic.y_up_to_z_up(deepmimic.forward_kinematics(deepmimic.resample(frames, 30.0)))
    rest = pos[0]
    np.testing.assert_allclose(rest[0], [0.0, 0.0, 0.85])
    np.testing.assert_allclose(rest[1], [0.0, -0.084887, 0.85], atol=1e-12)  # right hip at -y in Z-up
    np.testing.assert_allclose(rest[3, 2], 0.85 - 0.421546 - 0.409870)
    np.testing.assert_allclose(rest[10, 2], 0.85 + 0.236151 + 0.223894 + 0.23)
    assert rest[9, 0] == pytest.approx(0.05)  # the nose points forward (+x)


def test_slerp_resampling_halfway_and_hemisphere():
    q0 = np.array([1.0, 0.0, 0.0, 0.0])
    q1 = -np.array([np.cos(np.pi / 4), 0.0, 0.0, np.sin(np.pi / 4)])  # 90 deg about z, flipped sign
    out = quaternion.resample_quaternions(np.array([0.0, 1.0]), np.stack([q0, q1]), np.array([0.0, 0.5, 1.0]))
    half = np.array([np.cos(np.pi / 8), 0.0, 0.0, np.sin(np.pi / 8)])
    np.testing.assert_allclose(np.abs(out[1] @ half), 1.0, atol=1e-12)
    np.testing.assert_allclose(quaternion.to_matrix(out[2]), quaternion.to_matrix(q1), atol=1e-12)


def test_resampling_to_30_fps_keeps_the_duration():
    frames = np.array(identity_frames(17, 1 / 16))  # 16 fps, 1 s
    assert deepmimic.resample(frames, 30.0)["root_pos"].shape == (31, 3)


def test_real_clips_have_constant_bone_lengths(real_clips):
    mimic = [c for c in real_clips.values() if c.source == "deepmimic"]
    assert len(mimic) == 20
    for clip in mimic:
        assert clip.fps == 30.0
        std = bone_lengths(clip.positions.astype(np.float64)).std(axis=0)
        assert std.max() < 1e-6, clip.name


def test_real_walk_has_feet_on_the_ground(real_clips):
    walk = real_clips["deepmimic/walk"].positions
    lower_ankle = np.minimum(walk[:, 3, 2], walk[:, 6, 2])  # ankle joints, Z-up
    assert lower_ankle.min() > -0.1 and lower_ankle.max() < 0.15
    assert 0.8 < walk[:, 0, 2].mean() < 0.95  # pelvis height
    assert walk[-1, 0, 0] - walk[0, 0, 0] > 1.0  # walks forward along +x
    assert np.all(walk[:, 4, 1] > walk[:, 1, 1])  # facing +x: left hip at +y
