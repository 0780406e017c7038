"""Read the VideoPose3D / D3DP ``.npz`` data files as :class:`~htp_edge.data.testset.TestSequence` s.

Files (both store pickled dicts, read by a restricted unpickler that runs no code):

* 3D: ``positions_3d`` = {subject: {action: (T, 32 or 17, 3)}} world positions in metres. With
  32 joints the standard 17 are kept (VideoPose3D's ``remove_joints`` complement).
* 2D: ``positions_2d`` = {subject: {action: [per camera (T, 17, 2) pixels, or (T, 17, 3) with
  confidence]}} and ``metadata`` = {"num_joints": 17, "keypoints_symmetry": [left, right], ...}.
  An H36M layout is used as is; a COCO layout (detector output) goes through
  :func:`htp_edge.data.coco_to_h36m`.

The 3D targets must end up in each camera's frame:

* with ``cameras`` = {subject: [per camera dict]}, each dict in VideoPose3D's form:
  ``orientation`` (w, x, y, z) camera->world quaternion, ``translation`` camera centre in world
  metres, and optionally ``focal_length``, ``center`` (pixels, or VideoPose3D's normalised
  values), ``radial_distortion``, ``tangential_distortion``, ``res_w``, ``res_h``;
* without ``cameras``, ``positions_3d[subject][action]`` must already be in the camera frame:
  a list with one array per camera, or a single array when the action has one camera view.

As in VideoPose3D, 2D tracks longer than the 3D sequence are cut to its length.
"""
from __future__ import annotations

import os
import zipfile
from typing import Any

import numpy as np

from htp_edge.artifacts.safe_pickle import load_npz_member
from htp_edge.data.camera import Camera
from htp_edge.data.quaternion import normalize, to_matrix
from htp_edge.data.testset import TestSequence
from htp_edge.errors import HtpEdgeError
from htp_edge.pose.coco import coco_to_h36m
from htp_edge.pose.skeleton import LEFT_JOINTS, NUM_JOINTS, RIGHT_JOINTS

H36M_32_TO_17 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)
COCO_SYMMETRY = ((1, 3, 5, 7, 9, 11, 13, 15), (2, 4, 6, 8, 10, 12, 14, 16))
H36M_SYMMETRY = (tuple(LEFT_JOINTS), tuple(RIGHT_JOINTS))


def load_dict(path: str | os.PathLike, key: str, what: str = "VideoPose3D file",
              hint: str = "Use VideoPose3D's data files.") -> Any:
    """``data[key].item()`` of a VideoPose3D/D3DP npz, its pickle read by the restricted unpickler.

    Only numpy arrays, dicts, lists, tuples, strings and numbers load; a member needing any other
    global is refused (it could execute code) unless ``HTP_EDGE_TRUST_PICKLE=1``. ``what`` names
    the file kind in the one-line errors.
    """
    try:
        value = load_npz_member(path, key)
        item = value.item() if isinstance(value, np.ndarray) and value.shape == () else None
    except HtpEdgeError as exc:
        raise HtpEdgeError(f"{what} {exc}") from None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        reason = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        raise HtpEdgeError(f"{what} {path}: cannot read '{key}' ({reason}). Expected an npz with a pickled dict "
                           f"under '{key}', got something else. {hint}") from None
    if not isinstance(item, dict):
        raise HtpEdgeError(f"{what} {path}: cannot read '{key}'. Expected a pickled dict under '{key}', "
                           f"got {type(item).__name__ if item is not None else f'an array of shape {value.shape}'}. "
                           f"{hint}")
    return item


def layout_of(metadata: dict) -> str:
    """``"h36m"`` or ``"coco"`` from the 2D file's ``metadata`` (joint count and symmetry)."""
    symmetry = tuple(tuple(int(j) for j in side) for side in metadata.get("keypoints_symmetry", ((), ())))
    num = int(metadata.get("num_joints", NUM_JOINTS))
    if num == NUM_JOINTS and symmetry == H36M_SYMMETRY:
        return "h36m"
    if num == NUM_JOINTS and symmetry == COCO_SYMMETRY:
        return "coco"
    raise HtpEdgeError(f"VideoPose3D 2D metadata: unknown keypoint layout. Expected 17 joints with the H36M "
                       f"or COCO symmetry, got num_joints={num}, keypoints_symmetry={symmetry}. Convert the "
                       f"keypoints to H36M-17 first.")


def select_17(positions: np.ndarray, where: str) -> np.ndarray:
    """(T, 32 or 17, 3) -> (T, 17, 3)."""
    pos = np.asarray(positions, dtype=np.float64)
    if pos.ndim == 3 and pos.shape[1:] == (32, 3):
        return pos[:, list(H36M_32_TO_17)]
    if pos.ndim == 3 and pos.shape[1:] == (NUM_JOINTS, 3):
        return pos
    raise HtpEdgeError(f"VideoPose3D 3D {where}: bad shape. Expected (T, 32, 3) or (T, 17, 3), got "
                       f"{pos.shape}. Use the positions_3d layout of VideoPose3D.")


def _vector(params: dict, key: str, size: int, default: np.ndarray | None = None) -> np.ndarray:
    """``params[key]`` as a flat float vector of ``size`` values (any array shape holding them)."""
    value = np.asarray(params.get(key, default), dtype=np.float64)
    if value.size != size:
        raise HtpEdgeError(f"VideoPose3D camera: bad '{key}'. Expected {size} numbers, got shape {value.shape} "
                           f"(keys present: {sorted(params)}). Pass VideoPose3D's camera dicts.")
    return value.reshape(size)  # e.g. (1, 4) or (4,) -> (4,)


def _intrinsics(params: dict, width: int, height: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Pixel focal length and centre, undoing VideoPose3D's screen normalisation when present."""
    if "focal_length" not in params or "center" not in params:
        return None
    f = _vector(params, "focal_length", 2)
    c = _vector(params, "center", 2)
    if np.all(np.abs(f) < 10.0):  # normalised: f * w / 2 and (c + [1, h / w]) * w / 2 give pixels
        f = f * width / 2.0
        c = (c + np.array([1.0, height / width])) * width / 2.0
    return f, c


def camera_from_params(params: dict, image_size: tuple[int, int]
                       ) -> tuple[np.ndarray, np.ndarray, Camera | None, int, int]:
    """``(R, t, camera or None, width, height)`` from one VideoPose3D camera dict."""
    q = normalize(_vector(params, "orientation", 4))
    centre = _vector(params, "translation", 3)
    rot = to_matrix(q).T  # camera->world rotation transposed: world->camera
    trans = -rot @ centre
    width = int(params.get("res_w", image_size[0]))
    height = int(params.get("res_h", image_size[1]))
    intr = _intrinsics(params, width, height)
    camera = None
    if intr is not None:
        k = _vector(params, "radial_distortion", 3, np.zeros(3))
        p = _vector(params, "tangential_distortion", 2, np.zeros(2))
        camera = Camera(R=rot, t=trans, f=intr[0], c=intr[1], k=k, p=p, width=width, height=height)
    return rot, trans, camera, width, height


def _camera_frame_3d(pos3d: Any, cam_index: int, num_cameras: int, where: str) -> np.ndarray:
    """The 3D of one view when no cameras are given (already in the camera frame)."""
    if isinstance(pos3d, (list, tuple)):
        if cam_index >= len(pos3d):
            raise HtpEdgeError(f"VideoPose3D 3D {where}: too few camera-frame arrays. Expected one per camera "
                               f"({num_cameras}), got {len(pos3d)}. Pass cameras=... or one array per view.")
        return select_17(pos3d[cam_index], where)
    if num_cameras != 1:
        raise HtpEdgeError(f"VideoPose3D 3D {where}: world positions but no cameras. Expected cameras=... "
                           f"or camera-frame arrays per view, got one array for {num_cameras} views. "
                           f"Pass the camera parameters.")
    return select_17(pos3d, where)


def _record(name: str, source: str, kp: np.ndarray, pos_cam: np.ndarray, width: int, height: int,
            camera: Camera | None) -> TestSequence:
    frames = pos_cam.shape[0]
    if kp.shape[0] < frames:
        raise HtpEdgeError(f"VideoPose3D {name}: 2D shorter than 3D. Expected >= {frames} frames of "
                           f"keypoints, got {kp.shape[0]}. Check that the two files match.")
    kp = kp[:frames]
    confidence = kp[..., 2] if kp.shape[-1] == 3 else np.ones(kp.shape[:2])
    root = pos_cam[:, :1]  # (T, 1, 3)
    pose3d = pos_cam - root
    pose3d[:, 0] = 0.0
    return TestSequence(name=name, source=source, kp2d_px=kp[..., :2], confidence=confidence, width=width,
                        height=height, pose3d=pose3d, root_cam=root[:, 0], camera=camera)


def load_videopose3d(path_2d: str | os.PathLike, path_3d: str | os.PathLike, cameras: dict | None = None,
                     image_size: tuple[int, int] = (1000, 1000), subjects: list[str] | None = None,
                     source: str = "videopose3d") -> list[TestSequence]:
    """Sequences named ``"<subject>/<action>/cam<k>"`` for every (subject, action, camera) in both files.

    ``image_size`` (width, height) is used when a camera dict has no ``res_w``/``res_h``.
    ``subjects`` restricts the subjects (default: all in the 2D file).
    """
    positions_3d = load_dict(path_3d, "positions_3d")
    positions_2d = load_dict(path_2d, "positions_2d")
    layout = layout_of(load_dict(path_2d, "metadata"))
    out = []
    for subject in subjects or list(positions_2d):
        if subject not in positions_3d or subject not in positions_2d:
            raise HtpEdgeError(f"VideoPose3D: subject {subject!r} missing. Expected it in both files, got 2D "
                               f"subjects {sorted(positions_2d)} and 3D {sorted(positions_3d)}. Pick another.")
        if cameras is not None and subject not in cameras:
            raise HtpEdgeError(f"VideoPose3D: no cameras for subject {subject!r}. Expected cameras[{subject!r}] "
                               f"as a list of dicts, got keys {sorted(cameras)}. Pass all subjects' cameras.")
        for action, views in positions_2d[subject].items():
            out += action_sequences(subject, action, views, positions_3d[subject].get(action), cameras,
                                    image_size, layout, source)
    return out


def action_sequences(subject: str, action: str, views, pos3d, cameras: dict | None, image_size: tuple[int, int],
                     layout: str, source: str) -> list[TestSequence]:
    """One sequence per camera view of ``subject``/``action`` (``views``: its 2D arrays, ``pos3d``: its 3D)."""
    where = f"{subject}/{action}"
    if pos3d is None:
        raise HtpEdgeError(f"VideoPose3D {where}: no 3D positions. Expected the action in both files, got it "
                           f"only in the 2D file. Use matching files.")
    records = []
    for k, kp in enumerate(views):
        kp = np.asarray(kp, dtype=np.float64)
        if kp.ndim != 3 or kp.shape[1] != NUM_JOINTS or kp.shape[2] not in (2, 3):
            raise HtpEdgeError(f"VideoPose3D {where} camera {k}: bad 2D shape. Expected (T, 17, 2 or 3), got "
                               f"{kp.shape}. Use the positions_2d layout.")
        kp = coco_to_h36m(kp) if layout == "coco" else kp
        width, height, camera = int(image_size[0]), int(image_size[1]), None
        if cameras is not None:
            if k >= len(cameras[subject]):
                raise HtpEdgeError(f"VideoPose3D {where}: too few cameras. Expected {len(views)} camera dicts "
                                   f"for {subject}, got {len(cameras[subject])}. Pass one per 2D view.")
            rot, trans, camera, width, height = camera_from_params(cameras[subject][k], image_size)
            pos_cam = select_17(pos3d, where) @ rot.T + trans  # (T, 17, 3) world -> camera
        else:
            pos_cam = _camera_frame_3d(pos3d, k, len(views), where)
        records.append(_record(f"{where}/cam{k}", source, kp, pos_cam, width, height, camera))
    return records
