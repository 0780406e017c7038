"""Accuracy seen from a robot's fixed camera, per clip (action group) and per distance band.

The test clips go through :func:`htp_edge.data.static_views.make_robot_views` (a person walking
toward the camera from 8 m to 1.5 m, or across its view), are lifted with the public
:class:`~htp_edge.runtime.lifter.Lifter` as a user would call it, and are scored frame by frame:
MPJPE and P-MPJPE overall (frame-weighted), per group (a test clip seen by all its cameras; the
group mean is the mean over groups, as D3DP averages over actions) and per band of the person's
distance to the camera in that frame.
"""
from __future__ import annotations

import sys
from dataclasses import asdict

import numpy as np

from htp_edge.evaluation.metrics import procrustes_align

VIEWS = ("aimed", "approach", "cross")


def frame_errors(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame MPJPE and P-MPJPE (T,) in mm for poses (T, 17, 3) in metres."""
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    e1 = np.linalg.norm(pred - gt, axis=-1).mean(axis=-1)
    e2 = np.linalg.norm(procrustes_align(pred, gt) - gt, axis=-1).mean(axis=-1)
    return 1000.0 * e1, 1000.0 * e2


def group_of(name: str) -> str:
    """The clip of a sequence: ``approach/deepmimic/dance_b/cam2`` and ``deepmimic/dance_b/cam0`` ->
    ``deepmimic/dance_b``."""
    from htp_edge.data.static_views import SCENARIOS
    parts = name.split("/")
    if len(parts) > 1 and parts[-1].startswith("cam"):
        parts = parts[:-1]
    if len(parts) > 1 and parts[0] in SCENARIOS:
        parts = parts[1:]
    return "/".join(parts)


def _scores(e1: np.ndarray, e2: np.ndarray) -> dict:
    return {"mpjpe_mm": float(e1.mean()), "p_mpjpe_mm": float(e2.mean()), "frames": int(e1.size)}


def view_report(rows: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]) -> dict:
    """Rows of (sequence name, per-frame MPJPE, per-frame P-MPJPE, per-frame root depth m) -> report."""
    from htp_edge.data.static_views import DISTANCE_BANDS_M, band_name, distance_band
    e1 = np.concatenate([r[1] for r in rows])
    e2 = np.concatenate([r[2] for r in rows])
    depth = np.concatenate([r[3] for r in rows])
    groups = np.array([group_of(r[0]) for r in rows for _ in range(len(r[1]))], dtype=object)
    report = _scores(e1, e2)
    report["sequences"] = len(rows)
    report["per_group"] = {g: _scores(e1[groups == g], e2[groups == g]) for g in sorted(set(groups))}
    report["mean_over_groups_mm"] = float(np.mean([v["mpjpe_mm"] for v in report["per_group"].values()]))
    bands = distance_band(depth)
    report["per_band"] = {band_name(i): _scores(e1[bands == i], e2[bands == i])
                          for i in range(len(DISTANCE_BANDS_M)) if np.any(bands == i)}
    return report


def view_sequences(view: str, cfg):
    """The sequences of ``view`` for an :class:`~htp_edge.evaluation.evaluate.EvalConfig`."""
    from htp_edge.data import load_motion, make_test_set, prepare_motion
    from htp_edge.data.static_views import RobotViewConfig, make_robot_views
    prepare_motion(cache_dir=cfg.cache_dir, progress=False)
    clips = load_motion(cfg.cache_dir)
    if view == "aimed":
        seqs = make_test_set(clips, seed=0, split=cfg.split)
    else:
        seqs = make_robot_views(clips, RobotViewConfig(scenario=view), seed=0, split=cfg.split)
    return seqs[: cfg.max_sequences] if cfg.max_sequences else seqs


def evaluate_views(source, view: str, cfg, progress: bool = False, reframe: bool = False, **backend_options) -> dict:
    """Lift every sequence of ``view`` with the model at ``source`` and score it per group and band
    (``reframe``: through a virtual camera aimed at the person, :mod:`htp_edge.pose.virtual_camera`)."""
    from htp_edge.evaluation.evaluate import camera_intrinsics
    from htp_edge.runtime.lifter import Lifter
    seqs = view_sequences(view, cfg)
    lifter = Lifter.load(source, backend=cfg.backend, steps=cfg.steps, hypotheses=cfg.hypotheses, flip=cfg.flip,
                         aggregation=cfg.aggregation, seed=cfg.seed, reframe=reframe, **backend_options)
    rows = []
    try:
        for i, seq in enumerate(seqs):
            kp = np.concatenate([seq.kp2d_px, seq.confidence[..., None]], axis=-1)
            pred = lifter.lift(kp, seq.width, seq.height, intrinsics=camera_intrinsics(seq.camera))
            rows.append((seq.name, *frame_errors(pred, seq.pose3d), seq.root_cam[:, 2]))
            if progress:
                print(f"\r  {view} {i + 1}/{len(seqs)} {seq.name:<40}", end="", file=sys.stderr)
    finally:
        lifter.close()
    if progress:
        print(file=sys.stderr)
    report = view_report(rows)
    report["view"] = view
    report["reframe"] = bool(reframe)
    report["config"] = {**asdict(cfg), "frames": lifter.frames, "source": str(source)}
    return report
