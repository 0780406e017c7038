"""2D synthesis, noise, mirroring and the screen normalisation round trip."""
from __future__ import annotations

import numpy as np
import pytest

from htp_edge.data import CameraConfig, SynthConfig, mirror_pair, sample_camera, synthesize
from htp_edge.data.synth import _forward_fill
from htp_edge.errors import HtpEdgeError
from htp_edge.pose.normalize import denormalize_screen, normalize_screen


def _walker(frames: int = 12) -> np.ndarray:
    rng = np.random.default_rng(5)
    pos = rng.normal(scale=0.3, size=(frames, 17, 3))
    pos[..., 2] += 1.0
    pos[:, :, 0] += np.linspace(0.0, 1.0, frames)[:, None]
    return pos


def test_clean_synthesis_is_an_exact_projection():
    world = _walker()
    camera = sample_camera(np.random.default_rng(0), CameraConfig(), world)
    out = synthesize(world, camera, np.random.default_rng(1), SynthConfig.clean())
    cam = camera.world_to_camera(world)
    np.testing.assert_allclose(out.kp2d_px, camera.project(cam), atol=1e-3)
    np.testing.assert_array_equal(out.pose3d[:, 0], 0.0)
    np.testing.assert_allclose(out.pose3d + out.root_cam[:, None], cam, atol=1e-5)
    assert out.kp2d_px.dtype == np.float32 and out.confidence.shape == (12, 17)
    np.testing.assert_array_equal(out.confidence, 1.0)


def test_noise_statistics_and_dropouts():
    world = np.repeat(_walker(1), 400, axis=0)
    camera = sample_camera(np.random.default_rng(0), CameraConfig(), world)
    clean = synthesize(world, camera, np.random.default_rng(1), SynthConfig.clean()).kp2d_px
    config = SynthConfig(jitter_px=2.0, outlier_prob=0.0, dropout_prob=0.1)
    noisy = synthesize(world, camera, np.random.default_rng(2), config)
    dropped = noisy.confidence == 0
    assert 0.07 < dropped.mean() < 0.13
    err = (noisy.kp2d_px - clean)[~dropped]
    assert err.std() == pytest.approx(2.0, rel=0.1)
    t, j = np.argwhere(dropped[1:])[0] + [1, 0]
    np.testing.assert_array_equal(noisy.kp2d_px[t, j], noisy.kp2d_px[t - 1, j])  # previous value repeated


def test_forward_fill_repeats_the_last_kept_value():
    values = np.arange(5, dtype=float)[:, None, None] * np.ones((5, 2, 2))
    keep = np.array([[True, False], [False, True], [False, True], [True, False], [True, True]])
    out = _forward_fill(values, keep)
    np.testing.assert_array_equal(out[:, 0, 0], [0, 0, 0, 3, 4])
    np.testing.assert_array_equal(out[:, 1, 0], [0, 1, 2, 2, 4])


def test_mirroring_is_an_involution_and_matches_a_mirrored_world():
    world = _walker()
    camera = sample_camera(np.random.default_rng(0), CameraConfig(), world)
    out = synthesize(world, camera, np.random.default_rng(1), SynthConfig.clean())
    kp = normalize_screen(out.kp2d_px, camera.width, camera.height)
    kp_m, pose_m, conf_m = mirror_pair(kp, out.pose3d, out.confidence)
    back = mirror_pair(kp_m, pose_m)
    np.testing.assert_array_equal(back[0], kp)
    np.testing.assert_array_equal(back[1], out.pose3d)
    assert not np.allclose(kp_m, kp)
    # mirrored 3D seen by the same camera projects to the mirrored 2D (principal point at the centre)
    mirrored_cam = pose_m + out.root_cam[:, None] * np.array([-1.0, 1.0, 1.0])
    expected = normalize_screen(camera.project(mirrored_cam), camera.width, camera.height)
    np.testing.assert_allclose(kp_m, expected, atol=1e-5)
    with pytest.raises(HtpEdgeError, match="mirror"):
        mirror_pair(kp[..., :1], out.pose3d)


def test_normalisation_round_trip():
    px = np.random.default_rng(0).uniform(0, 1000, size=(7, 17, 2))
    np.testing.assert_allclose(denormalize_screen(normalize_screen(px, 1000, 1002), 1000, 1002), px, atol=1e-3)
    norm = normalize_screen(np.array([[500.0, 501.0]]), 1000, 1002)
    np.testing.assert_allclose(norm, [[0.0, 0.0]], atol=1e-7)


def test_synth_config_validation():
    with pytest.raises(HtpEdgeError, match="dropout_prob"):
        SynthConfig(dropout_prob=1.5)
