"""Climbing mocap (shipped in ``holosoma_retargeting``) -> H36M-17 joint positions.

Each sequence is a float32 array (T, 53, 3) of global joint positions in metres, Z-up,
recorded at about 120 Hz. The 17 H36M points are picked from the 53 joints; the head top has no
joint and is extrapolated along the neck->head direction.
"""
from __future__ import annotations

import io
import re

import numpy as np

from htp_edge.errors import HtpEdgeError

CLIMB_DIR = "holosoma_retargeting/demo_data/climb/"
SEQUENCES = (0, 1, 2, 3, 4)
SOURCE_FPS = 120.0
SUBSAMPLE = 4  # 120 Hz -> 30 fps
NUM_SOURCE_JOINTS = 53
HEAD_EXTRAPOLATION = 0.8  # head = Head + 0.8 * (Head - Neck)

NECK, HEAD = 3, 4
# H36M-17 order -> source joint index (joint 10, the head top, is extrapolated instead).
H36M_FROM_CLIMB = (0, 47, 48, 49, 43, 44, 45, 2, 3, 4, -1, 6, 7, 8, 25, 26, 27)
_MEMBER = re.compile(r"mocap_climb_seq_(\d+)/mocap_climb_seq_\1_joint_positions_f\d+-\d+\.npy$")


def find_members(names: list[str]) -> dict[int, str]:
    """Sequence number -> member path of its joint-position array inside the wheel."""
    found = {}
    for name in names:
        match = _MEMBER.search(name)
        if name.startswith(CLIMB_DIR) and match:
            found[int(match.group(1))] = name
    missing = [s for s in SEQUENCES if s not in found]
    if missing:
        raise HtpEdgeError(
            f"climbing mocap: sequences {missing} are missing from the wheel. Expected "
            f"mocap_climb_seq_K_joint_positions_fA-B.npy for K in {list(SEQUENCES)}, got {sorted(found)}. "
            f"Use holosoma-retargeting==0.1.0."
        )
    return found


def load_array(raw: bytes, seq: int) -> np.ndarray:
    """Parse one ``.npy`` member -> (T, 53, 3) float64, validated."""
    try:
        arr = np.load(io.BytesIO(raw), allow_pickle=False)
    except ValueError as exc:
        raise HtpEdgeError(
            f"climbing mocap seq {seq}: not a numeric .npy array ({exc}). Expected float (T, 53, 3), got "
            f"an unreadable member. Use holosoma-retargeting==0.1.0."
        ) from exc
    if arr.ndim != 3 or arr.shape[1:] != (NUM_SOURCE_JOINTS, 3) or not np.all(np.isfinite(arr)):
        raise HtpEdgeError(
            f"climbing mocap seq {seq}: wrong array. Expected finite (T, {NUM_SOURCE_JOINTS}, 3), got "
            f"{arr.shape}. Use holosoma-retargeting==0.1.0."
        )
    return arr.astype(np.float64)


def to_h36m(joints53: np.ndarray) -> np.ndarray:
    """Source joints (T, 53, 3) -> H36M-17 (T, 17, 3) with the extrapolated head top."""
    out = joints53[:, list(H36M_FROM_CLIMB)].copy()  # (T, 17, 3); slot 10 is overwritten below
    out[:, 10] = joints53[:, HEAD] + HEAD_EXTRAPOLATION * (joints53[:, HEAD] - joints53[:, NECK])
    return out


def convert_sequence(raw: bytes, seq: int, subsample: int = SUBSAMPLE) -> np.ndarray:
    """One climbing ``.npy`` member -> H36M-17 (ceil(T / subsample), 17, 3) float32, Z-up metres."""
    return to_h36m(load_array(raw, seq)[::subsample]).astype(np.float32)
