"""The VideoPose3D/D3DP npz loader on a tiny file of the same structure."""
from __future__ import annotations

import numpy as np
import pytest

from htp_edge.data import load_videopose3d
from htp_edge.data.quaternion import to_matrix
from htp_edge.data.videopose3d import H36M_32_TO_17
from htp_edge.errors import HtpEdgeError
from htp_edge.pose.skeleton import LEFT_JOINTS, RIGHT_JOINTS

H36M_META = {"layout_name": "h36m", "num_joints": 17, "keypoints_symmetry": [list(LEFT_JOINTS), list(RIGHT_JOINTS)]}


def _camera_params(yaw: float) -> dict:
    """A VideoPose3D-style camera 4 m away, looking horizontally at the origin."""
    eye = np.array([4.0 * np.cos(yaw), 4.0 * np.sin(yaw), 1.0])
    forward = -eye / np.linalg.norm(eye)
    forward[2] = 0.0
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    down = np.cross(forward, right)
    cam_to_world = np.stack([right, down, forward], axis=1)
    w = np.sqrt(1.0 + np.trace(cam_to_world)) / 2.0
    q = np.array([w, cam_to_world[2, 1] - cam_to_world[1, 2], cam_to_world[0, 2] - cam_to_world[2, 0],
                  cam_to_world[1, 0] - cam_to_world[0, 1]]) / np.array([1.0, 4 * w, 4 * w, 4 * w])
    np.testing.assert_allclose(to_matrix(q), cam_to_world, atol=1e-12)
    return {"orientation": q, "translation": eye, "focal_length": np.array([1145.0, 1145.0]),
            "center": np.array([500.0, 500.0]), "res_w": 1000, "res_h": 1000}


def _write(tmp_path, positions_3d, positions_2d, metadata=H36M_META):
    p3, p2 = tmp_path / "data_3d.npz", tmp_path / "data_2d.npz"
    np.savez(p3, positions_3d=positions_3d)
    np.savez(p2, positions_2d=positions_2d, metadata=metadata)
    return p2, p3


def test_world_positions_with_cameras(tmp_path):
    rng = np.random.default_rng(0)
    world32 = rng.normal(scale=0.4, size=(6, 32, 3)) + [0.0, 0.0, 1.0]
    cams = [_camera_params(0.3), _camera_params(2.0)]
    kp2d = [rng.uniform(0, 1000, size=(8, 17, 2)) for _ in cams]  # 2D longer than 3D: cut to 6 frames
    p2, p3 = _write(tmp_path, {"S9": {"Walk": world32}}, {"S9": {"Walk": kp2d}})
    seqs = load_videopose3d(p2, p3, cameras={"S9": cams})
    assert [s.name for s in seqs] == ["S9/Walk/cam0", "S9/Walk/cam1"]
    world17 = world32[:, list(H36M_32_TO_17)]
    for seq, params, kp in zip(seqs, cams, kp2d):
        assert seq.num_frames == 6 and seq.source == "videopose3d"
        np.testing.assert_allclose(seq.kp2d_px, kp[:6], atol=1e-3)
        np.testing.assert_array_equal(seq.confidence, 1.0)
        np.testing.assert_array_equal(seq.pose3d[:, 0], 0.0)
        cam = seq.pose3d + seq.root_cam[:, None]
        np.testing.assert_allclose(seq.camera.camera_to_world(cam), world17, atol=1e-5)
        np.testing.assert_allclose(seq.camera.centre_world, params["translation"], atol=1e-9)
        depth = seq.root_cam[:, 2]
        assert np.all(depth > 2.5) and np.all(depth < 5.5)


def test_camera_frame_positions_without_cameras_and_coco_layout(tmp_path):
    rng = np.random.default_rng(1)
    cam17 = rng.normal(scale=0.4, size=(5, 17, 3)) + [0.0, 0.0, 4.0]
    coco = np.concatenate([rng.uniform(0, 1000, size=(5, 17, 2)), np.full((5, 17, 1), 0.9)], axis=-1)
    meta = {"layout_name": "coco", "num_joints": 17,
            "keypoints_symmetry": [[1, 3, 5, 7, 9, 11, 13, 15], [2, 4, 6, 8, 10, 12, 14, 16]]}
    p2, p3 = _write(tmp_path, {"S1": {"Sit": cam17}}, {"S1": {"Sit": [coco]}}, meta)
    (seq,) = load_videopose3d(p2, p3, image_size=(1280, 720))
    assert (seq.width, seq.height) == (1280, 720) and seq.camera is None
    np.testing.assert_allclose(seq.root_cam, cam17[:, 0], atol=1e-6)
    np.testing.assert_allclose(seq.kp2d_px[:, 0], 0.5 * (coco[:, 11, :2] + coco[:, 12, :2]), atol=1e-3)
    np.testing.assert_allclose(seq.confidence, 0.9, atol=1e-6)


def test_world_positions_for_several_views_need_cameras(tmp_path):
    p2, p3 = _write(tmp_path, {"S1": {"A": np.zeros((3, 17, 3))}}, {"S1": {"A": [np.zeros((3, 17, 2))] * 2}})
    with pytest.raises(HtpEdgeError, match="cameras"):
        load_videopose3d(p2, p3)
    p2, p3 = _write(tmp_path, {"S1": {"A": np.zeros((3, 17, 3))}}, {"S1": {"A": [np.zeros((3, 17, 2))]}},
                    {"num_joints": 17, "keypoints_symmetry": [[0], [1]]})
    with pytest.raises(HtpEdgeError, match="layout"):
        load_videopose3d(p2, p3)
