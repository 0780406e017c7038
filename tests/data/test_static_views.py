"""Robot views: fixed cameras, people approaching and crossing, every joint in the image."""
from __future__ import annotations

import numpy as np
import pytest

from htp_edge.data.static_views import (
    DISTANCE_BANDS_M,
    RobotViewConfig,
    distance_band,
    make_robot_views,
    robot_view_sequence,
)
from htp_edge.errors import HtpEdgeError


@pytest.fixture(scope="module")
def test_clips(real_clips):
    return [c for c in real_clips.values() if c.split == "test"]


def _in_image(seq) -> bool:
    px = seq.kp2d_px
    return bool(np.all(px >= -10) and np.all(px[..., 0] <= seq.width + 10) and np.all(px[..., 1] <= seq.height + 10))


def test_approach_comes_toward_the_camera_over_the_whole_range(test_clips):
    seqs = make_robot_views(test_clips, RobotViewConfig(scenario="approach"))
    assert len(seqs) == 4 * len(test_clips)
    for seq in seqs:
        depth = seq.root_cam[:, 2]
        assert depth[0] > depth[-1] + 0.5, seq.name  # comes closer
        assert np.all(np.diff(depth[::10]) < 0.3), seq.name  # steadily (its own motion on top)
        assert _in_image(seq), seq.name
    depths = np.concatenate([s.root_cam[:, 2] for s in seqs])
    assert depths.min() < 2.0 and depths.max() > 7.5
    bands = distance_band(depths)
    assert set(bands.tolist()) == set(range(len(DISTANCE_BANDS_M)))  # every band is populated


def test_approach_faces_the_camera(test_clips):
    walker = next(c for c in test_clips if "walker" in c.name)
    seq = robot_view_sequence(walker, RobotViewConfig(scenario="approach"), k=1)
    up = seq.camera.R @ np.array([0.0, 0.0, 1.0])  # world up in the camera frame
    right = (seq.pose3d[:, 1] - seq.pose3d[:, 4]).mean(axis=0)  # right hip - left hip, camera frame
    facing = np.cross(up, right)  # a person's front = up x right
    assert facing[2] < -0.5 * np.linalg.norm(facing)  # toward the camera (camera z looks away from it)


def test_crossing_keeps_depth_and_moves_across_the_image(test_clips):
    seqs = make_robot_views(test_clips, RobotViewConfig(scenario="cross"))
    for seq in seqs:
        depth = seq.root_cam[:, 2]
        assert np.ptp(depth) < 0.5, seq.name
        x = seq.root_cam[:, 0]
        assert abs(x[-1] - x[0]) > 0.5, seq.name
        assert _in_image(seq), seq.name


def test_views_are_deterministic_and_seeded(test_clips):
    a = make_robot_views(test_clips[:1], RobotViewConfig(), seed=3)
    b = make_robot_views(test_clips[:1], RobotViewConfig(), seed=3)
    c = make_robot_views(test_clips[:1], RobotViewConfig(), seed=4)
    assert all(np.array_equal(x.kp2d_px, y.kp2d_px) for x, y in zip(a, b))
    assert not np.array_equal(a[0].kp2d_px, c[0].kp2d_px)


def test_pose_target_is_root_relative_camera_frame(test_clips):
    seq = make_robot_views(test_clips[:1], RobotViewConfig(scenario="cross"))[0]
    assert np.allclose(seq.pose3d[:, 0], 0.0)
    cam = seq.pose3d.astype(np.float64) + seq.root_cam[:, None, :]
    projected = seq.camera.project(cam)
    assert np.median(np.abs(projected - seq.kp2d_px)) < 5.0  # 2D is the projection (+ detector noise)


@pytest.mark.parametrize("bad, match", [
    (dict(scenario="orbit"), "unknown scenario"),
    (dict(approach_m=(1.5, 8.0)), "approach_m"),
    (dict(cameras_per_clip=0), "cameras_per_clip"),
    (dict(speed_mps=(2.0, 1.0)), "speed_mps"),
])
def test_bad_config_is_one_clear_error(bad, match):
    with pytest.raises(HtpEdgeError, match=match):
        RobotViewConfig(**bad)


def test_distance_bands():
    assert distance_band(np.array([0.9, 1.5, 2.6, 4.0, 7.9, 9.0])).tolist() == [-1, 0, 1, 2, 3, -1]
