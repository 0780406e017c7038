"""The 17-joint Human3.6M skeleton used by VideoPose3D, D3DP and HTP (numpy only)."""
from __future__ import annotations

import numpy as np

NUM_JOINTS = 17
JOINT_NAMES = (
    "pelvis", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "spine", "thorax",
    "neck_nose", "head", "l_shoulder", "l_elbow", "l_wrist", "r_shoulder", "r_elbow", "r_wrist",
)
PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
LEFT_JOINTS = (4, 5, 6, 11, 12, 13)
RIGHT_JOINTS = (1, 2, 3, 14, 15, 16)
HEAD_JOINTS = (9, 10)  # approximate points in the real-motion data: reported separately


def flip_permutation(num_joints: int = NUM_JOINTS) -> np.ndarray:
    """Index array that swaps left and right joints (an involution)."""
    perm = np.arange(num_joints)
    perm[list(LEFT_JOINTS)] = RIGHT_JOINTS
    perm[list(RIGHT_JOINTS)] = LEFT_JOINTS
    return perm


def flip_pose(x: np.ndarray) -> np.ndarray:
    """Mirror poses (..., J, C): negate the x coordinate and swap left/right joints."""
    out = x[..., flip_permutation(x.shape[-2]), :].copy()
    out[..., 0] *= -1
    return out
