"""DeepMimic motion clips (shipped in ``pybullet_data``) -> H36M-17 joint positions.

A clip is JSON ``{"Loop": "wrap"|"none", "Frames": [[44 floats], ...]}``; one frame is
``[dt, root_pos(3), root_rot(4), chest(4), neck(4), r_hip(4), r_knee(1), r_ankle(4),
r_shoulder(4), r_elbow(1), l_hip(4), l_knee(1), l_ankle(4), l_shoulder(4), l_elbow(1)]``
with quaternions (w, x, y, z) local to the parent and 1-DoF knees/elbows about local z.
The world is Y-up, metres, the character faces +x with its right side at +z.

Conversion: drop the duplicate last frame of "wrap" clips, resample to the target frame rate
(slerp for the ball joints, linear for root position and the 1-DoF angles, which is slerp
about a fixed axis), run forward kinematics of the 15-link humanoid (offsets of
``humanoid.urdf`` at scale 0.25), pick the 17 H36M points and rotate to the Z-up world.
"""
from __future__ import annotations

import json

import numpy as np

from htp_edge.data import quaternion as quat
from htp_edge.errors import HtpEdgeError

MOTION_DIR = "pybullet_data/data/motions/"
CLIPS = (
    "walk", "run", "jump", "kick", "punch", "spin", "spinkick", "dance_a", "dance_b", "cartwheel",
    "backflip", "crawl", "roll", "getup_facedown", "getup_faceup",
    "walker/0walk_forward", "walker/turn_left0", "walker/turn_left1", "walker/turn_right0",
    "walker/turn_right1",
)
FRAME_WIDTH = 44

# Ball joints (quaternion column starts) and hinge joints (angle columns) in a frame.
BALL_COLUMNS = {"root": 4, "chest": 8, "neck": 12, "r_hip": 16, "r_ankle": 21, "r_shoulder": 25,
                "l_hip": 30, "l_ankle": 35, "l_shoulder": 39}
HINGE_COLUMNS = {"r_knee": 20, "r_elbow": 29, "l_knee": 34, "l_elbow": 43}

# Bone offsets in metres, expressed in the parent's frame (right side is +z).
CHEST_FROM_ROOT = (0.0, 0.236151, 0.0)
NECK_FROM_CHEST = (0.0, 0.223894, 0.0)
HIP_FROM_ROOT = (0.0, 0.0, 0.084887)
KNEE_FROM_HIP = (0.0, -0.421546, 0.0)
ANKLE_FROM_KNEE = (0.0, -0.409870, 0.0)
SHOULDER_FROM_CHEST = (-0.02405, 0.2435, 0.18311)
ELBOW_FROM_SHOULDER = (0.0, -0.274788, 0.0)
WRIST_FROM_ELBOW = (0.0, -0.258947, 0.0)
NOSE_FROM_NECK = (0.05, 0.12, 0.0)
HEAD_FROM_NECK = (0.0, 0.23, 0.0)

# DeepMimic Y-up (x, y, z) -> Z-up (x, -z, y): a proper rotation (det +1).
Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def member_name(clip: str) -> str:
    """Path of a clip inside the pybullet wheel, e.g. ``walk`` -> ``.../humanoid3d_walk.txt``."""
    stem = clip if clip.startswith("walker/") else f"humanoid3d_{clip}"
    return f"{MOTION_DIR}{stem}.txt"


def parse_frames(text: str | bytes, clip: str = "clip") -> np.ndarray:
    """The clip's frames (N, 44) with the duplicate closing frame of a "wrap" clip removed."""
    try:
        doc = json.loads(text)
        frames = np.asarray(doc["Frames"], dtype=np.float64)
        loop = doc.get("Loop", "none")
    except (ValueError, KeyError, TypeError) as exc:
        raise HtpEdgeError(
            f"DeepMimic clip {clip}: cannot parse it ({exc}). Expected JSON with 'Loop' and 'Frames', "
            f"got something else. Use the pinned pybullet wheel."
        ) from exc
    if frames.ndim != 2 or frames.shape[1] != FRAME_WIDTH or frames.shape[0] < 2:
        raise HtpEdgeError(
            f"DeepMimic clip {clip}: wrong frame layout. Expected (N >= 2, {FRAME_WIDTH}) numbers, got "
            f"{frames.shape}. Use the pinned pybullet wheel."
        )
    return frames[:-1] if loop == "wrap" else frames


def frame_times(frames: np.ndarray) -> np.ndarray:
    """Start time (N,) of each frame: column 0 holds each frame's duration."""
    return np.concatenate([[0.0], np.cumsum(frames[:-1, 0])])


def resample(frames: np.ndarray, fps: float) -> dict[str, np.ndarray]:
    """Root position, ball-joint quaternions and hinge angles on a regular ``fps`` grid."""
    times = frame_times(frames)
    count = int(np.floor(times[-1] * fps + 1e-2)) + 1  # tolerate dt rounded in the file
    grid = np.arange(count) / fps  # (N,)
    balls = np.stack([frames[:, c:c + 4] for c in BALL_COLUMNS.values()], axis=1)  # (T, 9, 4)
    hinges = frames[:, list(HINGE_COLUMNS.values())]  # (T, 4)
    out = {"root_pos": quat.resample_linear(times, frames[:, 1:4], grid)}
    out.update(zip(BALL_COLUMNS, np.moveaxis(quat.resample_quaternions(times, balls, grid), 1, 0)))
    out.update(zip(HINGE_COLUMNS, quat.resample_linear(times, hinges, grid).T))
    return out


def _apply(rot: np.ndarray, offset: tuple[float, float, float]) -> np.ndarray:
    """Rotate one constant offset by rotations (T, 3, 3) -> (T, 3)."""
    return rot @ np.asarray(offset)


def _side(pose: dict[str, np.ndarray], side: str, sign: float, root_r, chest_r, root_p, chest_p):
    """Hip, knee, ankle, shoulder, elbow, wrist positions (T, 3) of one body side."""
    flip = np.array([1.0, 1.0, sign])
    hip_r = root_r @ quat.to_matrix(pose[f"{side}_hip"])
    knee_r = hip_r @ quat.to_matrix(quat.from_z_angle(pose[f"{side}_knee"]))
    hip_p = root_p + _apply(root_r, tuple(flip * HIP_FROM_ROOT))
    knee_p = hip_p + _apply(hip_r, KNEE_FROM_HIP)
    ankle_p = knee_p + _apply(knee_r, ANKLE_FROM_KNEE)
    shoulder_r = chest_r @ quat.to_matrix(pose[f"{side}_shoulder"])
    elbow_r = shoulder_r @ quat.to_matrix(quat.from_z_angle(pose[f"{side}_elbow"]))
    shoulder_p = chest_p + _apply(chest_r, tuple(flip * SHOULDER_FROM_CHEST))
    elbow_p = shoulder_p + _apply(shoulder_r, ELBOW_FROM_SHOULDER)
    wrist_p = elbow_p + _apply(elbow_r, WRIST_FROM_ELBOW)
    return hip_p, knee_p, ankle_p, shoulder_p, elbow_p, wrist_p


def forward_kinematics(pose: dict[str, np.ndarray]) -> np.ndarray:
    """H36M-17 joint positions (T, 17, 3) in the DeepMimic Y-up world.

    Joints carry no rest rotation: ``R_j = R_parent @ R_local`` and
    ``p_j = p_parent + R_parent @ offset_j``.
    """
    root_p = pose["root_pos"]
    root_r = quat.to_matrix(pose["root"])
    chest_r = root_r @ quat.to_matrix(pose["chest"])
    chest_p = root_p + _apply(root_r, CHEST_FROM_ROOT)
    neck_r = chest_r @ quat.to_matrix(pose["neck"])
    neck_p = chest_p + _apply(chest_r, NECK_FROM_CHEST)
    r_hip, r_knee, r_ankle, r_sh, r_el, r_wr = _side(pose, "r", 1.0, root_r, chest_r, root_p, chest_p)
    l_hip, l_knee, l_ankle, l_sh, l_el, l_wr = _side(pose, "l", -1.0, root_r, chest_r, root_p, chest_p)
    nose = neck_p + _apply(neck_r, NOSE_FROM_NECK)
    head = neck_p + _apply(neck_r, HEAD_FROM_NECK)
    joints = (root_p, r_hip, r_knee, r_ankle, l_hip, l_knee, l_ankle, chest_p, neck_p, nose, head,
              l_sh, l_el, l_wr, r_sh, r_el, r_wr)
    return np.stack(joints, axis=1)  # 17 x (T, 3) -> (T, 17, 3)


def y_up_to_z_up(points: np.ndarray) -> np.ndarray:
    """Rotate points (..., 3) from DeepMimic's Y-up world to the Z-up world: (x, y, z) -> (x, -z, y)."""
    return points @ Y_UP_TO_Z_UP.T


def convert_clip(text: str | bytes, fps: float, clip: str = "clip") -> np.ndarray:
    """One DeepMimic clip -> H36M-17 positions (T, 17, 3) float32, Z-up metres, at ``fps``."""
    frames = parse_frames(text, clip)
    return y_up_to_z_up(forward_kinematics(resample(frames, fps))).astype(np.float32)
