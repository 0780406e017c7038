"""Pose-space augmentation of world-space chunks: new poses from the few thousand real ones.

Three operations on (F, 17, 3) world positions, all keeping every bone length:

* **part mixing** -- a limb (an arm below the shoulder, a leg below the hip) or the head takes
  its motion from another chunk: the donor's bone directions are expressed in the donor's torso
  frame and re-attached in the receiver's torso frame, frame by frame, with the receiver's bone
  lengths. Climbing arms on a dancing body, a kick on a climber.
* **limb rotation** -- a joint's subtree (below a shoulder, elbow, hip, knee, or the upper body
  above the spine) is turned about that joint by one random rotation for the whole chunk.
* **tilt** -- the whole chunk leans about a random horizontal axis through its mean root: bodies
  on a steep wall, bending, lying and getting up are seen at every angle, not only upright.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from htp_edge.errors import HtpEdgeError
from htp_edge.pose.skeleton import NUM_JOINTS, PARENTS

# Swappable parts: (chain of joints, parents first). Their first joint hangs off the torso.
PARTS = {
    "l_arm": (12, 13),
    "r_arm": (15, 16),
    "l_leg": (5, 6),
    "r_leg": (2, 3),
    "head": (9, 10),
}
# Rotatable subtrees: pivot joint -> the joints that turn about it.
SUBTREES = {
    11: (12, 13), 12: (13,), 14: (15, 16), 15: (16,),
    1: (2, 3), 2: (3,), 4: (5, 6), 5: (6,),
    7: (8, 9, 10, 11, 12, 13, 14, 15, 16),
}
_TORSO_PIVOT = 7  # the spine: bending the upper body gets a third of the limb angle


@dataclass(frozen=True)
class AugmentConfig:
    """Pose augmentation of a training chunk.

    Attributes:
        part_mix_prob: chance that a chunk receives parts from other chunks.
        part_prob: when mixing, the chance of each part (arms, legs, head) to be replaced.
        rotation_prob: chance per pivot joint of turning its subtree.
        rotation_deg: largest rotation angle of a limb subtree (the torso uses a third).
        tilt_prob: chance that the whole chunk is tilted.
        tilt_deg: largest tilt angle of the whole chunk away from its recorded orientation.
    """

    part_mix_prob: float = 0.5
    part_prob: float = 0.4
    rotation_prob: float = 0.3
    rotation_deg: float = 25.0
    tilt_prob: float = 0.5
    tilt_deg: float = 60.0

    def __post_init__(self) -> None:
        for name in ("part_mix_prob", "part_prob", "rotation_prob", "tilt_prob"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise HtpEdgeError(f"augment config: bad {name}. Expected a probability in [0, 1], got {value}. "
                                   f"Use e.g. 0.5.")
        for name in ("rotation_deg", "tilt_deg"):
            if not 0.0 <= getattr(self, name) <= 180.0:
                raise HtpEdgeError(f"augment config: bad {name}. Expected 0..180 degrees, got "
                                   f"{getattr(self, name)}. Use e.g. 25.")

    @classmethod
    def none(cls) -> "AugmentConfig":
        """No pose augmentation."""
        return cls(part_mix_prob=0.0, rotation_prob=0.0, tilt_prob=0.0)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def torso_frames(positions: np.ndarray) -> np.ndarray:
    """Per-frame orthonormal torso axes (F, 3, 3), columns (lateral, forward, up).

    Up is pelvis -> thorax; lateral is right hip -> left hip made orthogonal to up.
    """
    up = _unit(positions[:, 8] - positions[:, 0])  # (F, 3)
    lateral = positions[:, 4] - positions[:, 1]
    lateral = _unit(lateral - np.sum(lateral * up, axis=-1, keepdims=True) * up)
    forward = np.cross(up, lateral)
    return np.stack([lateral, forward, up], axis=-1)  # 3 x (F, 3) -> (F, 3, 3)


def mix_part(receiver: np.ndarray, donor: np.ndarray, chain: tuple[int, ...]) -> np.ndarray:
    """``receiver`` (F, 17, 3) with the joints of ``chain`` moved as in ``donor`` (F, 17, 3)."""
    if receiver.shape != donor.shape:
        raise HtpEdgeError(f"part mixing: shape mismatch. Expected equal (F, 17, 3) chunks, got "
                           f"{receiver.shape} and {donor.shape}. Draw the donor with the same F.")
    rot_r, rot_d = torso_frames(receiver), torso_frames(donor)
    out = receiver.copy()
    for j in chain:
        parent = PARENTS[j]
        bone_d = donor[:, j] - donor[:, parent]  # (F, 3)
        local = np.einsum("fji,fj->fi", rot_d, bone_d)  # into the donor's torso frame
        direction = _unit(np.einsum("fij,fj->fi", rot_r, local))  # out of the receiver's
        length = np.linalg.norm(receiver[:, j] - receiver[:, parent], axis=-1, keepdims=True)  # (F, 1)
        out[:, j] = out[:, parent] + length * direction
    return out


def axis_rotation(axis: np.ndarray, angle_rad: float) -> np.ndarray:
    """The (3, 3) rotation about the unit vector ``axis`` by ``angle_rad`` (Rodrigues)."""
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle_rad) * k + (1 - np.cos(angle_rad)) * (k @ k)


def random_rotation(rng: np.random.Generator, max_deg: float) -> np.ndarray:
    """A (3, 3) rotation about a uniformly random axis by an angle uniform in [-max_deg, max_deg]."""
    return axis_rotation(_unit(rng.normal(size=3)), np.deg2rad(rng.uniform(-max_deg, max_deg)))


def rotate_subtree(positions: np.ndarray, pivot: int, rotation: np.ndarray) -> np.ndarray:
    """Turn the joints below ``pivot`` (see ``SUBTREES``) about it by ``rotation`` (3, 3)."""
    out = positions.copy()
    moved = list(SUBTREES[pivot])
    centre = positions[:, pivot:pivot + 1]  # (F, 1, 3)
    out[:, moved] = centre + (positions[:, moved] - centre) @ rotation.T
    return out


def tilt(positions: np.ndarray, rng: np.random.Generator, max_deg: float) -> np.ndarray:
    """Rotate a chunk (F, 17, 3) about a random horizontal axis through its mean root (world Z-up)."""
    heading = rng.uniform(0.0, 2 * np.pi)
    rotation = axis_rotation(np.array([np.cos(heading), np.sin(heading), 0.0]),
                             np.deg2rad(rng.uniform(-max_deg, max_deg)))
    centre = positions[:, 0].mean(axis=0)  # (3,)
    return centre + (positions - centre) @ rotation.T


def augment_pose(chunk: np.ndarray, rng: np.random.Generator, config: AugmentConfig,
                 draw_donor: Callable[[], np.ndarray]) -> np.ndarray:
    """Augmented copy of a world chunk (F, 17, 3); ``draw_donor()`` gives another (F, 17, 3) chunk."""
    chunk = np.asarray(chunk, dtype=np.float64)
    if chunk.ndim != 3 or chunk.shape[1:] != (NUM_JOINTS, 3):
        raise HtpEdgeError(f"augment: bad chunk. Expected world positions (F, {NUM_JOINTS}, 3), got "
                           f"{chunk.shape}.")
    out = chunk
    if config.part_mix_prob > 0 and rng.random() < config.part_mix_prob:
        for chain in PARTS.values():
            if rng.random() < config.part_prob:
                out = mix_part(out, np.asarray(draw_donor(), dtype=np.float64), chain)
    if config.rotation_prob > 0:
        for pivot in SUBTREES:
            if rng.random() < config.rotation_prob:
                limit = config.rotation_deg / 3 if pivot == _TORSO_PIVOT else config.rotation_deg
                out = rotate_subtree(out, pivot, random_rotation(rng, limit))
    if config.tilt_prob > 0 and rng.random() < config.tilt_prob:
        out = tilt(out, rng, config.tilt_deg)
    return out
