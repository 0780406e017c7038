"""Virtual cameras: projection round trips, look-at geometry, sampling."""
from __future__ import annotations

import numpy as np
import pytest

from htp_edge.data import Camera, CameraConfig, sample_camera
from htp_edge.errors import HtpEdgeError


def _camera(k=(0.0, 0.0, 0.0), p=(0.0, 0.0)) -> Camera:
    return Camera(R=np.eye(3), t=np.zeros(3), f=np.array([1145.0, 1140.0]), c=np.array([512.0, 500.0]),
                  k=np.array(k), p=np.array(p), width=1000, height=1000)


@pytest.mark.parametrize("k,p", [((0.0, 0.0, 0.0), (0.0, 0.0)), ((-0.2, 0.24, -0.003), (-0.001, 0.0015))])
def test_project_then_back_project_with_known_depth(k, p):
    camera = _camera(k, p)
    rng = np.random.default_rng(0)
    points = np.concatenate([rng.uniform(-1.0, 1.0, (50, 2)), rng.uniform(3.0, 6.0, (50, 1))], axis=1)
    px = camera.project(points)
    np.testing.assert_allclose(camera.back_project(px, points[:, 2]), points, atol=1e-9)


def test_pinhole_projection_values():
    px = _camera().project(np.array([[0.0, 0.0, 4.0], [1.0, -0.5, 2.0]]))
    np.testing.assert_allclose(px, [[512.0, 500.0], [512.0 + 1145.0 / 2, 500.0 - 1140.0 / 4]])


def test_points_behind_the_camera_are_an_error():
    with pytest.raises(HtpEdgeError, match="depth"):
        _camera().project(np.array([[0.0, 0.0, -1.0]]))


def test_sampled_camera_looks_at_the_mean_root():
    rng = np.random.default_rng(3)
    positions = np.zeros((10, 17, 3))
    positions[:, :, :2] = [2.0, -1.0]
    positions[:, :, 2] = np.linspace(0.1, 1.7, 17)  # a standing stick figure
    positions[:, 0] = [2.0, -1.0, 0.9]
    config = CameraConfig()
    for _ in range(20):
        camera = sample_camera(rng, config, positions)
        cam = camera.world_to_camera(np.array([2.0, -1.0, 0.9]))
        np.testing.assert_allclose(camera.project(cam), [500.0, 500.0], atol=1e-9)
        assert config.distance_m[0] - 1e-9 <= cam[2] <= config.distance_m[1] + 1e-9
        np.testing.assert_allclose(camera.R @ camera.R.T, np.eye(3), atol=1e-12)
        up_in_image = camera.project(camera.world_to_camera(np.array([2.0, -1.0, 1.5])))
        assert up_in_image[1] < 500.0  # world up is image up
        np.testing.assert_allclose(camera.camera_to_world(cam), [2.0, -1.0, 0.9], atol=1e-12)


def test_aim_offset_moves_the_subject_across_the_image():
    rng = np.random.default_rng(4)
    root = np.array([2.0, -1.0, 0.9])
    config = CameraConfig(aim_offset_deg=(15.0, 10.0), keep_in_view=False)
    offsets = []
    for _ in range(200):
        camera = sample_camera(rng, config, root)
        cam = camera.world_to_camera(root)
        px = camera.project(cam)
        angles = np.degrees(np.arctan(np.abs(cam[:2]) / cam[2]))  # the subject's angle off the optical axis
        assert angles[0] <= 15.0 * 1.06 and angles[1] <= 10.0 * 1.06  # pan and tilt combine: about
        assert config.distance_m[0] - 1e-9 <= np.linalg.norm(cam) <= config.distance_m[1] + 1e-9
        up_in_image = camera.project(camera.world_to_camera(root + [0.0, 0.0, 0.5]))
        assert up_in_image[1] < px[1]  # still upright
        offsets.append(px - 500.0)
    offsets = np.abs(np.array(offsets))
    assert offsets[:, 0].max() > 0.8 * 1150 * np.tan(np.deg2rad(15.0))  # the range is used
    assert offsets[:, 1].max() > 0.8 * 1100 * np.tan(np.deg2rad(10.0))
    with pytest.raises(HtpEdgeError, match="aim_offset_deg"):
        CameraConfig(aim_offset_deg=(70.0, 0.0))


def test_keep_in_view_backs_the_camera_off():
    positions = np.zeros((2, 17, 3))
    positions[0, :, 0] = -4.0  # the subject crosses 8 m
    positions[1, :, 0] = 4.0
    camera = sample_camera(np.random.default_rng(0), CameraConfig(yaw_deg=(90.0, 90.0)), positions)
    px = camera.project(camera.world_to_camera(positions))
    assert px.min() >= 0 and px.max() <= 1000


def test_camera_config_validation():
    with pytest.raises(HtpEdgeError, match="distance_m"):
        CameraConfig(distance_m=(6.0, 3.0))
    with pytest.raises(HtpEdgeError, match="not a rotation"):
        Camera(R=2 * np.eye(3), t=np.zeros(3), f=np.ones(2), c=np.zeros(2), k=np.zeros(3), p=np.zeros(2),
               width=10, height=10)


def test_distortion_follows_videopose3d():
    camera = _camera(k=(0.1, 0.0, 0.0), p=(0.01, 0.03))
    # u = (0.2, -0.1): r2 = 0.05, radial 1.005, tangential 0.01*0.2 + 0.03*(-0.1) = -0.001
    np.testing.assert_allclose(camera.distort(np.array([0.2, -0.1])), [0.2 * 1.004 + 0.0005, -0.1 * 1.004 + 0.0015])
