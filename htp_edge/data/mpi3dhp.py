"""MPI-INF-3DHP in D3DP's processed file layout, brought into the H36M-17 convention.

Files in ``data_dir`` (D3DP's processed data; P-STMO's ``*_3dhp.npz`` have the same structure):

* ``data_train_3dhp.npz`` (or ``data_train_3dhp_ori.npz``): ``data`` = {"S1 Seq1": [{camera:
  {"data_3d": (T, 17, 3) camera-frame mm, "data_2d": (T, 17, 2) pixels of 2048 x 2048}}]};
* ``data_test_3dhp.npz`` (or ``data_test_3dhp_ori.npz``): ``data`` = {"TS1": {"data_3d",
  "data_2d", "valid": (T,) frames that count}}; TS1-TS4 are 2048 x 2048, TS5-TS6 1920 x 1080.

Joints come in MPI-INF-3DHP's 17-joint order (root: pelvis, index 14) and are reordered to
H36M-17 (root 0) for the H36M-order models here; 3D goes to metres, root-relative, and the
test sequences get D3DP's test cameras (``mpi3dhp_cameras.json``).
"""
from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path

import numpy as np

from htp_edge.data.camera import Camera
from htp_edge.data.recording import Recording
from htp_edge.data.testset import TestSequence
from htp_edge.data.videopose3d import load_dict
from htp_edge.errors import HtpEdgeError
from htp_edge.pose.skeleton import NUM_JOINTS

CAMERAS_FILE = "mpi3dhp_cameras.json"
FILES = {"train": ("data_train_3dhp.npz", "data_train_3dhp_ori.npz"),
         "test": ("data_test_3dhp.npz", "data_test_3dhp_ori.npz")}
ROOT_3DHP = 14
# H36M-17 joint j is MPI-INF-3DHP joint MPI3DHP_TO_H36M[j] (pelvis, hips/knees/ankles, spine, neck -> thorax,
# head -> neck/nose, head top -> head, shoulders/elbows/wrists)
MPI3DHP_TO_H36M = (14, 8, 9, 10, 11, 12, 13, 15, 1, 16, 0, 5, 6, 7, 2, 3, 4)
SOURCE = "3dhp"
HINT = "Use D3DP's processed MPI-INF-3DHP files."


@functools.lru_cache(maxsize=1)
def camera_table() -> dict:
    return json.loads(resources.files("htp_edge.data").joinpath(CAMERAS_FILE).read_text())


def test_camera(sequence: str) -> Camera:
    """D3DP's camera of a test sequence (TS1-TS6), in pixels, no distortion, identity extrinsics."""
    table = camera_table()
    kind = table["test_sequences"].get(sequence)
    if kind is None:
        raise HtpEdgeError(f"3dhp: unknown test sequence {sequence!r}. Expected one of "
                           f"{', '.join(table['test_sequences'])}, got {sequence!r}. {HINT}")
    cam = table["cameras"][kind]
    res = np.array([cam["res_w"], cam["res_h"]], dtype=np.float64)
    scale = res / np.asarray(cam["sensor_mm"], dtype=np.float64)  # pixels per mm
    return Camera(R=np.eye(3), t=np.zeros(3), f=np.asarray(cam["focal_mm"]) * scale,
                  c=np.asarray(cam["center_offset_mm"]) * scale + res / 2.0, k=np.zeros(3), p=np.zeros(2),
                  width=int(res[0]), height=int(res[1]))


def data_file(data_dir, split: str) -> Path:
    for name in FILES[split]:
        if (Path(data_dir) / name).is_file():
            return Path(data_dir) / name
    raise HtpEdgeError(f"3dhp: file not found: {str(Path(data_dir) / FILES[split][0])!r}. Expected D3DP's "
                       f"{FILES[split][0]} (or {FILES[split][1]}) in --data-dir. {HINT}")


def to_h36m_order(x: np.ndarray) -> np.ndarray:
    """(T, 17, C) in MPI-INF-3DHP order -> H36M-17 order."""
    return x[:, list(MPI3DHP_TO_H36M)]


def _arrays(anim, where: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(anim, dict) or "data_3d" not in anim or "data_2d" not in anim:
        keys = sorted(anim) if isinstance(anim, dict) else type(anim).__name__
        raise HtpEdgeError(f"3dhp {where}: missing keys. Expected a dict with 'data_3d' and 'data_2d', got {keys}. "
                           f"{HINT}")
    pos, kp = np.asarray(anim["data_3d"], dtype=np.float64), np.asarray(anim["data_2d"], dtype=np.float64)
    if pos.ndim != 3 or pos.shape[1:] != (NUM_JOINTS, 3) or kp.ndim != 3 or kp.shape[1] != NUM_JOINTS \
            or kp.shape[2] not in (2, 3):
        raise HtpEdgeError(f"3dhp {where}: bad shapes. Expected data_3d (T, 17, 3) and data_2d (T, 17, 2 or 3), got "
                           f"{pos.shape} and {kp.shape}. {HINT}")
    if pos.shape[0] != kp.shape[0]:
        raise HtpEdgeError(f"3dhp {where}: 2D and 3D lengths differ. Expected one 2D frame per 3D frame, got "
                           f"{kp.shape[0]} and {pos.shape[0]}. Check that the file is not truncated.")
    if np.nanmax(np.abs(pos - pos[:, ROOT_3DHP:ROOT_3DHP + 1])) < 10.0:
        raise HtpEdgeError(f"3dhp {where}: 3D looks like metres. Expected millimetres (D3DP's annot3), got joints "
                           f"within {np.nanmax(np.abs(pos - pos[:, 14:15])):.2f} units of the pelvis. {HINT}")
    return pos, kp


def _sequence(name: str, pos_mm: np.ndarray, kp: np.ndarray, camera: Camera | None, size) -> TestSequence:
    pos = to_h36m_order(pos_mm) / 1000.0  # mm -> m
    kp = to_h36m_order(kp)
    root = pos[:, :1]  # (T, 1, 3)
    pose3d = pos - root
    confidence = kp[..., 2] if kp.shape[-1] == 3 else np.ones(kp.shape[:2])
    return TestSequence(name=name, source=SOURCE, kp2d_px=kp[..., :2], confidence=confidence, width=int(size[0]),
                        height=int(size[1]), pose3d=pose3d, root_cam=root[:, 0], camera=camera)


def load_3dhp(data_dir, split: str, subject_list=None) -> list[Recording]:
    """The train (subjects S1..S8, every sequence and camera) or test (TS1..TS6) recordings."""
    path = data_file(data_dir, split)
    data = load_dict(path, "data", "3dhp file", HINT)
    load = _train if split == "train" else _test
    by_subject = load(data, path)
    chosen = list(subject_list) if subject_list else sorted(by_subject)
    unknown = [s for s in chosen if s not in by_subject]
    if unknown:
        flag = "--subjects-train" if split == "train" else "--subjects-test"
        raise HtpEdgeError(f"3dhp: subject {unknown[0]!r} not in {path.name}. Expected some of "
                           f"{', '.join(sorted(by_subject))}, got {', '.join(chosen)}. Fix {flag}.")
    return [rec for s in chosen for rec in by_subject[s]]


def _train(data: dict, path: Path) -> dict[str, list[Recording]]:
    size = (camera_table()["train"]["res_w"], camera_table()["train"]["res_h"])
    out: dict[str, list[Recording]] = {}
    for seq, entry in data.items():
        parts = str(seq).split(" ")
        views = entry[0] if isinstance(entry, (list, tuple, np.ndarray)) and len(entry) else entry
        if len(parts) != 2 or not isinstance(views, dict):
            raise HtpEdgeError(f"3dhp {path.name}: bad entry {seq!r}. Expected keys like 'S1 Seq1' holding "
                               f"[{{camera: {{'data_3d', 'data_2d'}}}}], got {type(entry).__name__}. {HINT}")
        subject, action = parts
        for cam, anim in views.items():
            where = f"{subject}/{action}/cam{cam}"
            pos, kp = _arrays(anim, where)
            out.setdefault(subject, []).append(
                Recording(subject, action, int(cam), _sequence(where, pos, kp, None, size)))
    return out


def _test(data: dict, path: Path) -> dict[str, list[Recording]]:
    out: dict[str, list[Recording]] = {}
    for seq, anim in data.items():
        name = str(seq)
        pos, kp = _arrays(anim, name)
        if "valid" not in anim:
            raise HtpEdgeError(f"3dhp {name}: missing keys. Expected 'valid' (frames that count) beside data_3d and "
                               f"data_2d, got {sorted(anim)}. {HINT}")
        cam = test_camera(name)
        rec = Recording(name, name, 0, _sequence(name, pos, kp, cam, (cam.width, cam.height)), valid=anim["valid"])
        out[name] = [rec]
    return out
