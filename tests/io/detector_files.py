"""Test helper: files in the structure AlphaPose, MMPose and OpenPose write, holding people made
from projected real motion (:func:`tests.pose.people.real_people`).

Two people: track A is the clip's person in every frame (confidences 0.6-1.0); track B is the
same motion 260 px to the right, less confident (0.2-0.5), present from frame ``B_FROM`` on.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.pose.people import real_people

A, B, B_FROM = 3, 7, 5


def two_people(fmt: str) -> tuple[np.ndarray, np.ndarray]:
    """(T, K, 3) keypoints of tracks A and B in layout ``fmt`` (B zero before ``B_FROM``)."""
    people = real_people()
    k = len(people.layout(fmt)[0])
    rng = np.random.default_rng(11)
    a = people.layout(fmt, rng.uniform(0.6, 1.0, (len(people.h36m_px), k)))
    b = people.layout(fmt, rng.uniform(0.2, 0.5, (len(people.h36m_px), k)))
    b[..., 0] += 260.0
    b[:B_FROM] = 0.0
    return a.round(3), b.round(3)


def _visible(kp: np.ndarray) -> bool:
    return bool((kp[:, 2] > 0).any())


def _box(kp: np.ndarray) -> list[float]:
    lo, hi = kp[:, :2].min(0), kp[:, :2].max(0)
    return [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])]


def write_alphapose(path: Path, fmt: str, tracked: bool = True, b_first: bool = False) -> Path:
    """AlphaPose ``alphapose-results.json``: one detection per person and frame."""
    a, b = two_people(fmt)
    dets = []
    for f in range(len(a)):
        order = [(B, b[f]), (A, a[f])] if b_first else [(A, a[f]), (B, b[f])]
        for tid, kp in order:
            if not _visible(kp):
                continue
            det = {"image_id": f"{f}.jpg", "category_id": 1, "keypoints": kp.reshape(-1).tolist(),
                   "score": float(kp[:, 2].mean() * 3), "box": _box(kp)}
            if tracked:
                det["idx"] = tid
            dets.append(det)
    path.write_text(json.dumps(dets))
    return path


def _mmpose_instance(kp: np.ndarray) -> dict:
    x, y, w, h = _box(kp)
    return {"keypoints": kp[:, :2].tolist(), "keypoint_scores": kp[:, 2].tolist(),
            "bbox": [[x, y, x + w, y + h]], "bbox_score": 0.97}


def write_mmpose(path: Path, fmt: str, style: str = "demo") -> Path:
    """MMPose predictions: ``demo`` (topdown_demo_with_mmdet --save-predictions), ``inferencer``
    (MMPoseInferencer pred_out_dir, video) or ``image`` (inferencer, one image)."""
    a, b = two_people(fmt)
    frames = [{"frame_id": f + (1 if style == "demo" else 0),
               "instances": [_mmpose_instance(kp) for kp in (a[f], b[f]) if _visible(kp)]} for f in range(len(a))]
    if style == "demo":
        doc = {"meta_info": {"dataset_name": fmt, "num_keypoints": a.shape[1]}, "instance_info": frames}
    elif style == "inferencer":
        doc = frames
    else:
        doc = frames[-1]["instances"]
    path.write_text(json.dumps(doc, indent="\t"))
    return path


def write_openpose(folder: Path, fmt: str = "body25", empty_frame: int | None = None) -> Path:
    """An OpenPose --write_json folder: ``video_<frame:012d>_keypoints.json`` per frame (written in
    reverse order; ``empty_frame`` without people)."""
    a, b = two_people(fmt)
    folder.mkdir(parents=True, exist_ok=True)
    for f in reversed(range(len(a))):
        people = [] if f == empty_frame else [
            {"person_id": [-1], "pose_keypoints_2d": kp.reshape(-1).tolist(), "face_keypoints_2d": [],
             "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": [], "pose_keypoints_3d": [],
             "face_keypoints_3d": [], "hand_left_keypoints_3d": [], "hand_right_keypoints_3d": []}
            for kp in (a[f], b[f]) if _visible(kp)]
        (folder / f"video_{f:012d}_keypoints.json").write_text(json.dumps({"version": 1.3, "people": people}))
    return folder
