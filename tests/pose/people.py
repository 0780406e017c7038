"""Test helper: detector keypoints of real people, made from the real-motion test split.

A test clip's H36M-17 world positions get the points detectors report beyond H36M (eyes, ears,
mouth, fingers, toes, heels: placed from a head and body frame built from the H36M joints), are
projected through a seeded virtual camera, and are assembled into each layout by the joint
names of that layout's OFFICIAL definition, written out here independently of
``htp_edge.pose.layouts`` (so a wrong index there shows up as a wrong joint in the tests).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

CLIP = "deepmimic/walker/turn_right1"  # a test-split clip

# official orders, as plain anatomical names (this file's vocabulary)
OFFICIAL = {
    "coco": ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
             "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
             "right_knee", "left_ankle", "right_ankle"),
}
OFFICIAL["coco-mhformer"] = OFFICIAL["coco"]
# Halpe-FullBody README: COCO-17, 17 Head, 18 Neck, 19 Hip, 20 LBigToe, 21 RBigToe, 22 LSmallToe,
# 23 RSmallToe, 24 LHeel, 25 RHeel
OFFICIAL["halpe26"] = OFFICIAL["coco"] + ("head_top", "neck", "pelvis", "left_big_toe", "right_big_toe",
                                          "left_small_toe", "right_small_toe", "left_heel", "right_heel")
# COCO-WholeBody: 17 body, then left big toe, left small toe, left heel, right ..., 68 face, 21 + 21 hands
OFFICIAL["wholebody133"] = OFFICIAL["coco"] + (
    "left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel") + tuple(
    f"face{i}" for i in range(68)) + tuple(f"lhand{i}" for i in range(21)) + tuple(f"rhand{i}" for i in range(21))
# MediaPipe pose landmarks 0-32
OFFICIAL["blazepose33"] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index")
# OpenPose POSE_BODY_25_BODY_PARTS
OFFICIAL["body25"] = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
    "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle", "right_eye",
    "left_eye", "right_ear", "left_ear", "left_big_toe", "left_small_toe", "left_heel", "right_big_toe",
    "right_small_toe", "right_heel")

# H36M joint -> the named point it is (for the joints every layout has)
H36M_OF = {"pelvis": 0, "right_hip": 1, "right_knee": 2, "right_ankle": 3, "left_hip": 4, "left_knee": 5,
           "left_ankle": 6, "neck": 8, "head_top": 10, "left_shoulder": 11, "left_elbow": 12, "left_wrist": 13,
           "right_shoulder": 14, "right_elbow": 15, "right_wrist": 16}


@dataclass(frozen=True)
class People:
    points: dict          # name -> (T, 2) pixels
    h36m_px: np.ndarray   # (T, 17, 2) the clip's H36M joints, projected
    width: int
    height: int

    def layout(self, fmt: str, conf: np.ndarray | None = None) -> np.ndarray:
        """(T, K, 3) keypoints in ``fmt``'s official order; confidence ``conf`` (T, K) or 1."""
        xy = np.stack([self.points[n] for n in OFFICIAL[fmt]], axis=1)  # K x (T, 2) -> (T, K, 2)
        c = np.ones(xy.shape[:2]) if conf is None else conf
        return np.concatenate([xy, c[..., None]], axis=-1)


def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _named_points_3d(pos: np.ndarray) -> dict:
    """H36M-17 world positions (T, 17, 3) -> named 3D points (T, 3) of a detector's vocabulary."""
    named = {name: pos[:, j] for name, j in H36M_OF.items()}
    lr = _unit(pos[:, 11] - pos[:, 14])                 # towards the subject's left
    up = _unit(pos[:, 10] - pos[:, 8])                  # thorax -> top of head
    fwd = _unit(np.cross(up, lr))                       # out of the face
    face = pos[:, 9]
    named["nose"] = face + 0.06 * fwd
    for side, s in (("left", 1.0), ("right", -1.0)):
        eye = face + 0.04 * up + 0.035 * s * lr + 0.04 * fwd
        named[f"{side}_eye"] = eye
        named[f"{side}_eye_inner"] = eye - 0.012 * s * lr
        named[f"{side}_eye_outer"] = eye + 0.012 * s * lr
        named[f"{side}_ear"] = face + 0.03 * up + 0.075 * s * lr - 0.02 * fwd
        named[f"mouth_{side}"] = face - 0.03 * up + 0.025 * s * lr + 0.05 * fwd
        wrist, elbow = pos[:, 13 if s > 0 else 16], pos[:, 12 if s > 0 else 15]
        hand = _unit(wrist - elbow)
        named[f"{side}_pinky"] = wrist + 0.08 * hand - 0.02 * s * lr
        named[f"{side}_index"] = wrist + 0.09 * hand + 0.02 * fwd
        named[f"{side}_thumb"] = wrist + 0.05 * hand + 0.03 * fwd
        ankle = pos[:, 6 if s > 0 else 3]
        named[f"{side}_heel"] = ankle - 0.06 * fwd - 0.05 * up
        named[f"{side}_big_toe"] = ankle + 0.18 * fwd - 0.07 * up - 0.02 * s * lr
        named[f"{side}_small_toe"] = ankle + 0.15 * fwd - 0.07 * up + 0.03 * s * lr
        named[f"{side}_foot_index"] = ankle + 0.17 * fwd - 0.07 * up
    angles = np.linspace(0, 2 * np.pi, 68, endpoint=False)
    for i, a in enumerate(angles):  # a ring of face points around the nose
        named[f"face{i}"] = face + 0.05 * fwd + 0.07 * (np.cos(a) * lr + np.sin(a) * up)
    for i in range(21):  # fingers along the forearm direction
        for side, w, e in (("l", 13, 12), ("r", 16, 15)):
            named[f"{side}hand{i}"] = pos[:, w] + 0.005 * (i + 1) * _unit(pos[:, w] - pos[:, e])
    return named


@lru_cache(maxsize=4)
def real_people(frames: int = 48, seed: int = 0) -> People:
    """``frames`` frames of the test clip through a seeded camera (the real-motion cache is
    prepared, i.e. downloaded, first if missing)."""
    from htp_edge.artifacts.cache import default_cache_dir
    from htp_edge.data import load_motion, prepare_motion
    from htp_edge.data.camera import CameraConfig, sample_camera
    from htp_edge.data.store import valid_cache
    if valid_cache(default_cache_dir()) is None:
        prepare_motion(progress=False)
    clip = next(c for c in load_motion() if c.name == CLIP)
    assert clip.split == "test"
    pos = clip.positions[:frames].astype(np.float64)
    camera = sample_camera(np.random.default_rng(seed), CameraConfig(), pos, yaw_deg=30.0)
    named = _named_points_3d(pos)
    names = sorted(named)
    world = np.stack([named[n] for n in names], axis=1)  # (T, N, 3)
    px = camera.project(camera.world_to_camera(world))  # (T, N, 2)
    h36m = camera.project(camera.world_to_camera(pos))
    return People({n: px[:, i] for i, n in enumerate(names)}, h36m, camera.width, camera.height)
