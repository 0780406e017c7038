"""The virtual camera is exact pinhole geometry: re-rendered keypoints are what a turned, zoomed
camera at the same centre would see, and poses go back by the inverse rotation."""
from __future__ import annotations

import numpy as np
import pytest

from htp_edge.errors import HtpEdgeError
from htp_edge.pose.geometry import Intrinsics, project_points
from htp_edge.pose.virtual_camera import (
    VirtualCameraConfig,
    aim_rotation,
    fit_view,
    from_virtual,
    reframe_clips,
    to_virtual,
    unframe,
)


def _person(depth: float, lateral: float, frames: int = 5) -> np.ndarray:
    """A standing stick person (F, 17, 3) in a camera frame (y down), feet 1.2 m below the camera."""
    rng = np.random.default_rng(0)
    pose = rng.uniform(-0.2, 0.2, (17, 3))
    pose[:, 1] = np.linspace(1.2, -0.5, 17)  # 1.7 m tall
    return np.stack([pose + [lateral + 0.02 * t, 0.0, depth] for t in range(frames)])


def test_rotation_is_proper_and_aims_at_the_direction():
    for d in ([0.3, -0.2, 1.0], [-2.0, 0.5, 1.0], [0.0, 0.0, 1.0]):
        rot = aim_rotation(np.array(d))
        assert np.allclose(rot @ rot.T, np.eye(3)) and np.isclose(np.linalg.det(rot), 1.0)
        assert np.allclose(rot @ (np.array(d) / np.linalg.norm(d)), [0, 0, 1])
        assert abs(rot[0, 1]) < 1e-12  # no roll: the virtual x axis stays level
    with pytest.raises(HtpEdgeError, match="straight above or below"):
        aim_rotation(np.array([0.0, 1.0, 0.0]))


@pytest.mark.parametrize("k", [(0.0, 0.0, 0.0), (-0.05, 0.01, 0.0)])
def test_reframed_keypoints_are_the_projection_through_the_virtual_camera(k):
    intr = Intrinsics(520.0, 520.0, 500.0, 500.0, k=k)
    points = _person(7.0, 1.5)
    px = project_points(points, intr)
    view = fit_view(px, np.ones(px.shape[:2]), intr, width=1000)
    virtual_points = points @ view.rotation.T  # the same points in the virtual camera frame
    expected = project_points(virtual_points, view.intrinsics)
    np.testing.assert_allclose(to_virtual(px, intr, view), expected, atol=1e-3)
    np.testing.assert_allclose(from_virtual(virtual_points, view), points, atol=1e-9)


def test_small_far_person_is_zoomed_into_the_training_range_and_centred():
    cfg = VirtualCameraConfig()
    intr = Intrinsics(520.0, 520.0, 500.0, 500.0)
    px = project_points(_person(8.0, 2.0), intr)  # ~110 px tall, off to the side
    view = fit_view(px, np.ones(px.shape[:2]), intr, width=1000, config=cfg)
    v = to_virtual(px, intr, view)
    extent = np.median([(f.max(0) - f.min(0)).max() for f in v])
    assert extent == pytest.approx(cfg.min_person_px, rel=1e-3)
    assert np.allclose(v.reshape(-1, 2).mean(0), 500.0, atol=60.0)  # the person is near the centre


def test_person_inside_the_range_keeps_the_field_of_view():
    intr = Intrinsics(1150.0, 1150.0, 500.0, 500.0)
    px = project_points(_person(4.0, 0.0), intr)  # ~490 px tall
    view = fit_view(px, np.ones(px.shape[:2]), intr, width=1000)
    assert view.focal == pytest.approx(1150.0)


def test_real_image_width_sets_the_virtual_scale():
    intr = Intrinsics(1400.0, 1400.0, 960.0, 540.0)
    px = project_points(_person(3.0, 0.0), intr)  # ~410 px tall in the 1000 px virtual image
    view = fit_view(px, np.ones(px.shape[:2]), intr, width=1920)
    assert view.focal == pytest.approx(1400.0 * 1000 / 1920)  # 1000 px virtual image


def test_unseen_clip_falls_back_to_the_identity():
    intr = Intrinsics.default(1000, 1000)
    view = fit_view(np.zeros((3, 17, 2)), np.zeros((3, 17)), intr, width=1000)
    assert np.array_equal(view.rotation, np.eye(3))


def test_reframe_and_unframe_batches():
    intr = Intrinsics(600.0, 600.0, 640.0, 360.0)
    clips = np.stack([project_points(_person(d, x), intr) for d, x in ((6.0, 1.0), (2.5, -0.5))])  # (2, 5, 17, 2)
    virtual, views = reframe_clips(clips, np.ones(clips.shape[:3]), intr, width=1280)
    assert virtual.shape == clips.shape and virtual.dtype == np.float32 and len(views) == 2
    poses = np.random.default_rng(1).normal(size=(2, 3, 5, 17, 3))  # (C, H, F, J, 3)
    back = unframe(poses, views)
    for c, view in enumerate(views):
        np.testing.assert_allclose(back[c], poses[c] @ view.rotation, atol=1e-5)


def test_bad_config():
    with pytest.raises(HtpEdgeError, match="person size bounds"):
        VirtualCameraConfig(min_person_px=700, max_person_px=600)
