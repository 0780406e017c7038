"""Write real-motion clips in Human3.6M's VideoPose3D layout (a real round trip for the loaders).

Each clip becomes one action of a subject (test clips: S9, S11 in turn; train clips: S1, S5, S6,
S7, S8 in turn), seen by that subject's four Human3.6M cameras (:mod:`htp_edge.data.h36m`):

* ``data_3d_h36m.npz``: world positions in metres in the 32-joint layout; the 15 joints the
  17-joint skeleton drops sit on their kept ancestor (zero-length bones), so the loader's
  32 -> 17 selection gives back the clip's joints exactly. Each clip is moved on the floor so its
  mean root is at the world origin (where Human3.6M's cameras look).
* ``data_2d_h36m_gt.npz``: the projections through each camera's full model (distortion
  included), as VideoPose3D's ``gt`` 2D, with the H36M-17 metadata.

The clips keep their 30 fps (Human3.6M is 50 fps).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from htp_edge.data import h36m
from htp_edge.data.videopose3d import H36M_32_TO_17
from htp_edge.errors import HtpEdgeError
from htp_edge.pose.skeleton import LEFT_JOINTS, NUM_JOINTS, RIGHT_JOINTS

# VideoPose3D's 32-joint Human3.6M skeleton
PARENTS_32 = (-1, 0, 1, 2, 3, 4, 0, 6, 7, 8, 9, 0, 11, 12, 13, 14, 12, 16, 17, 18, 19, 20, 19, 22, 12, 24, 25,
              26, 27, 28, 27, 30)
SUBJECTS = {"test": ("S9", "S11"), "train": ("S1", "S5", "S6", "S7", "S8")}
GT_METADATA = {"layout_name": "h36m", "num_joints": NUM_JOINTS,
               "keypoints_symmetry": [list(LEFT_JOINTS), list(RIGHT_JOINTS)]}


def _source_of_32() -> list[int]:
    """For each of the 32 joints, the 17-joint index whose position it takes (itself or a kept ancestor)."""
    kept = {j32: j17 for j17, j32 in enumerate(H36M_32_TO_17)}
    out = []
    for j in range(len(PARENTS_32)):
        while j not in kept:
            j = PARENTS_32[j]
        out.append(kept[j])
    return out


def to_32_joints(positions17: np.ndarray) -> np.ndarray:
    """(T, 17, 3) -> (T, 32, 3); dropped joints on their nearest kept ancestor."""
    return np.asarray(positions17)[:, _source_of_32()]


def action_name(clip_name: str) -> str:
    """``"deepmimic/walker/turn_right1"`` -> ``"deepmimic_walker_turn_right1"`` (no space: its own action)."""
    return clip_name.replace("/", "_").replace(" ", "_")


def centred(positions: np.ndarray) -> np.ndarray:
    """World positions moved horizontally so the mean root is at x = y = 0."""
    shift = np.zeros(3)
    shift[:2] = positions[:, 0, :2].mean(axis=0)
    return positions - shift


def h36m_layout(clips, splits=("train", "test")) -> tuple[dict, dict]:
    """(positions_3d, positions_2d) dicts of the clips of ``splits``."""
    positions_3d: dict[str, dict] = {}
    positions_2d: dict[str, dict] = {}
    for split in splits:
        chosen = [c for c in clips if c.split == split]
        for i, clip in enumerate(chosen):
            subject = SUBJECTS[split][i % len(SUBJECTS[split])]
            world = centred(clip.positions.astype(np.float64))
            action = action_name(clip.name)
            positions_3d.setdefault(subject, {})[action] = to_32_joints(world).astype(np.float32)
            views = []
            for k in range(h36m.NUM_CAMERAS):
                cam = h36m.camera(subject, k)
                views.append(cam.project(cam.world_to_camera(world)).astype(np.float32))
            positions_2d.setdefault(subject, {})[action] = views
    return positions_3d, positions_2d


def export_h36m(out_dir, clips, splits=("train", "test")) -> dict:
    """Write both files into ``out_dir`` as one set (nothing is left half-written); returns a summary."""
    from htp_edge.artifacts.files import ArtifactSet
    if not clips:
        raise HtpEdgeError("export-h36m: no clips. Expected the real-motion clips, got none. Run "
                           "`htp-edge data prepare` first.")
    positions_3d, positions_2d = h36m_layout(clips, splits)
    if not positions_3d:
        raise HtpEdgeError(f"export-h36m: no clips of split {', '.join(splits)}. Expected at least one, got none.")
    out = Path(out_dir)
    path_3d, path_2d = out / h36m.FILE_3D, out / h36m.file_2d("gt")
    with ArtifactSet([path_3d, path_2d], what="export-h36m") as staged:
        np.savez(staged[path_2d], positions_2d=positions_2d, metadata=GT_METADATA)
        np.savez(staged[path_3d], positions_3d=positions_3d)
    subjects = {s: sorted(actions) for s, actions in positions_3d.items()}
    frames = int(sum(len(a) for actions in positions_3d.values() for a in actions.values()))
    return {"data_dir": str(out), "files": [str(path_3d), str(path_2d)], "keypoints": "gt", "subjects": subjects,
            "actions": sum(len(a) for a in subjects.values()), "frames": frames, "cameras": h36m.NUM_CAMERAS}
