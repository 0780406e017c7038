"""Human3.6M in VideoPose3D's file layout, prepared as D3DP prepares it.

Files in ``data_dir`` (VideoPose3D's ``prepare_data_h36m.py`` writes them; D3DP uses them as is):

* ``data_3d_h36m.npz``: ``positions_3d`` = {subject: {action: (T, 32, 3) world metres}};
* ``data_2d_h36m_<keypoints>.npz`` (e.g. ``gt``, ``cpn_ft_h36m_dbb``): ``positions_2d`` =
  {subject: {action: [4 x (T, 17, 2) pixels]}} and ``metadata``.

The camera parameters are not in the files: the built-in table ``h36m_cameras.json`` (the values
VideoPose3D's ``h36m_dataset.py`` publishes) gives each of the four cameras' intrinsics and
resolution and every subject's extrinsics. As in D3DP: world -> camera frame per view, the 32
joints reduced to the 17, 2D cut to the 3D length, 2D normalised with each camera's resolution
(the normalisation itself happens in the lifter, from the sequence's width and height).
"""
from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path

import numpy as np

from htp_edge.data.camera import Camera
from htp_edge.data.recording import Recording
from htp_edge.data.videopose3d import action_sequences, camera_from_params, layout_of, load_dict
from htp_edge.errors import HtpEdgeError

CAMERAS_FILE = "h36m_cameras.json"
FILE_3D = "data_3d_h36m.npz"
NUM_CAMERAS = 4
SOURCE = "h36m"


def file_2d(keypoints: str) -> str:
    """``data_2d_h36m_<keypoints>.npz`` (VideoPose3D's ``-k`` naming)."""
    return f"data_2d_h36m_{keypoints}.npz"


@functools.lru_cache(maxsize=1)
def camera_table() -> dict:
    """The built-in camera table (package data)."""
    return json.loads(resources.files("htp_edge.data").joinpath(CAMERAS_FILE).read_text())


def subjects() -> tuple[str, ...]:
    """Subjects with known extrinsics (S1, S5, S6, S7, S8, S9, S11)."""
    return tuple(camera_table()["extrinsics"])


def camera_params(subject: str) -> list[dict]:
    """VideoPose3D-style camera dicts of ``subject`` (translation in metres, pixels for intrinsics)."""
    table = camera_table()
    check_subjects([subject])
    out = []
    for intr, ext in zip(table["intrinsics"], table["extrinsics"][subject]):
        params = {k: np.asarray(v, dtype=np.float64) for k, v in intr.items() if k not in ("id", "res_w", "res_h")}
        params.update(res_w=int(intr["res_w"]), res_h=int(intr["res_h"]), id=intr["id"],
                      orientation=np.asarray(ext["orientation"], dtype=np.float64),
                      translation=np.asarray(ext["translation"], dtype=np.float64) / 1000.0)  # mm -> m
        out.append(params)
    return out


def camera(subject: str, index: int) -> Camera:
    """Camera ``index`` (0-3) of ``subject`` as a :class:`Camera`."""
    params = camera_params(subject)[index]
    return camera_from_params(params, (params["res_w"], params["res_h"]))[2]


def check_subjects(names) -> None:
    known = subjects()
    unknown = [s for s in names if s not in known]
    if unknown:
        raise HtpEdgeError(f"h36m: unknown subject {', '.join(map(repr, unknown))}. Expected Human3.6M subjects "
                           f"with camera parameters ({', '.join(known)}), got {', '.join(names)}. "
                           f"Fix --subjects-train/--subjects-test.")


def _require(path: Path, what: str) -> Path:
    if not path.is_file():
        raise HtpEdgeError(f"h36m: file not found: {str(path)!r}. Expected {what} in --data-dir. Put VideoPose3D's "
                           f"data files there (or write a Human3.6M-layout split with `htp-edge data export-h36m`).")
    return path


def load_h36m(data_dir, keypoints: str, subject_list) -> list[Recording]:
    """Every (subject, action, camera) of ``subject_list`` as :class:`Recording` s."""
    subject_list = list(subject_list)
    check_subjects(subject_list)
    data_dir = Path(data_dir)
    path_3d = _require(data_dir / FILE_3D, f"the 3D file {FILE_3D}")
    path_2d = _require(data_dir / file_2d(keypoints), f"the 2D file {file_2d(keypoints)} (--keypoints {keypoints})")
    hint = "Use VideoPose3D's Human3.6M files."
    positions_3d = load_dict(path_3d, "positions_3d", "h36m 3D file", hint)
    positions_2d = load_dict(path_2d, "positions_2d", "h36m 2D file", hint)
    layout = layout_of(load_dict(path_2d, "metadata", "h36m 2D file", hint))
    out = []
    for subject in subject_list:
        actions_3d, actions_2d = _subject_actions(subject, positions_3d, positions_2d, path_3d, path_2d)
        cams = {subject: camera_params(subject)}
        for action in actions_3d:
            views = actions_2d[action]
            if not isinstance(views, (list, tuple)) or len(views) != NUM_CAMERAS:
                count = len(views) if isinstance(views, (list, tuple)) else type(views).__name__
                raise HtpEdgeError(f"h36m {subject}/{action}: bad 2D views. Expected a list of {NUM_CAMERAS} arrays "
                                   f"(one per camera), got {count}. Use VideoPose3D's positions_2d layout.")
            seqs = action_sequences(subject, action, views, actions_3d[action], cams, (1000, 1000), layout, SOURCE)
            out += [Recording(subject, action, k, seq) for k, seq in enumerate(seqs)]
    return out


def _subject_actions(subject, positions_3d, positions_2d, path_3d, path_2d) -> tuple[dict, dict]:
    """The subject's {action: 3D} and {action: 2D views}; every 3D action must have its 2D (as D3DP asserts)."""
    for name, table, path in (("3D", positions_3d, path_3d), ("2D", positions_2d, path_2d)):
        if subject not in table or not isinstance(table[subject], dict):
            raise HtpEdgeError(f"h36m: subject {subject!r} missing from the {name} file {path.name}. Expected it among "
                               f"{', '.join(sorted(map(str, table)))}. Pick subjects the files hold.")
    actions_3d, actions_2d = positions_3d[subject], positions_2d[subject]
    missing = [a for a in actions_3d if a not in actions_2d]
    if missing:
        raise HtpEdgeError(f"h36m {subject}: action {missing[0]!r} is in {path_3d.name} but not in {path_2d.name}. "
                           f"Expected the 2D file to hold every 3D action, got {len(missing)} missing. "
                           f"Use 2D keypoints made for this 3D file.")
    if not actions_3d:
        raise HtpEdgeError(f"h36m {subject}: no actions in {path_3d.name}. Expected at least one, got none. "
                           f"Check the file.")
    return actions_3d, actions_2d
