"""Small dataset files made from the real-motion clips: Human3.6M (through ``export_h36m``) and
MPI-INF-3DHP (D3DP's processed structure, written here)."""
from __future__ import annotations

import numpy as np

from htp_edge.data import load_motion, prepare_motion
from htp_edge.data.camera import look_at
from htp_edge.data.h36m_export import export_h36m
from htp_edge.data.mpi3dhp import MPI3DHP_TO_H36M, test_camera
from htp_edge.pose.geometry import Intrinsics, project_points

STUDIO = Intrinsics(1500.0, 1500.0, 1024.0, 1024.0)  # a training camera of the 2048 x 2048 videos


def motion_clips(names=None):
    prepare_motion(progress=False)
    clips = load_motion()
    return clips if names is None else [c for c in clips if c.name in names]


def write_h36m(folder, names=None, splits=("train", "test")):
    """``export_h36m`` of the named clips (all by default) into ``folder``."""
    export_h36m(folder, motion_clips(names), splits)
    return folder


def camera_frame(positions, distance=4.0):
    """World positions (T, 17, 3) -> the frame of a camera ``distance`` m in front of the mean root."""
    target = positions[:, 0].mean(axis=0)
    rot, trans = look_at(target + np.array([distance, 0.5, 0.3]), target)
    return positions @ rot.T + trans


def to_3dhp_order(x):
    """(T, 17, C) in H36M order -> MPI-INF-3DHP order."""
    out = np.empty_like(x)
    out[:, list(MPI3DHP_TO_H36M)] = x
    return out


def view_3dhp(positions, intr):
    """(data_3d mm, data_2d px) in 3DHP order, and the camera-frame H36M-order metres."""
    cam = camera_frame(positions.astype(np.float64))
    return {"data_3d": to_3dhp_order(cam * 1000.0).astype(np.float32),
            "data_2d": to_3dhp_order(project_points(cam, intr)).astype(np.float32)}, cam


def write_3dhp(folder, train_names=("deepmimic/walk", "deepmimic/run"),
               test_names=("deepmimic/spinkick", "deepmimic/walker/turn_right1")):
    """data_train_3dhp.npz (S1 Seq1 with two cameras, S2 Seq1) and data_test_3dhp.npz (TS1, TS5)
    from real clips; returns the camera-frame H36M-order truth per test sequence and its valid mask."""
    train_clips = motion_clips(train_names)
    train = {}
    for i, clip in enumerate(train_clips):
        views = {cam: view_3dhp(clip.positions, STUDIO)[0] for cam in ((0, 2) if i == 0 else (1,))}
        train[f"S{i + 1} Seq1"] = [views]
    test, truth = {}, {}
    for name, clip in zip(("TS1", "TS5"), motion_clips(test_names)):
        cam = test_camera(name)
        intr = Intrinsics(float(cam.f[0]), float(cam.f[1]), float(cam.c[0]), float(cam.c[1]))
        view, truth_cam = view_3dhp(clip.positions, intr)
        valid = np.ones(clip.num_frames, bool)
        valid[::5] = False
        test[name] = {**view, "valid": valid}
        truth[name] = (truth_cam, valid)
    np.savez(folder / "data_train_3dhp.npz", data=train)
    np.savez(folder / "data_test_3dhp.npz", data=test)
    return truth
