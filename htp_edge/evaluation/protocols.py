"""D3DP's evaluation protocols on outside data sets, through the public Lifter.

Human3.6M (``main.py``): every (subject, action, camera) of the test subjects is lifted clip by
clip; an action's MPJPE (protocol 1) and P-MPJPE (protocol 2) average over all its clips' frames
(F per clip: the overlap of the last clip and a short sequence's padding count, as in D3DP), the
actions grouped by name without the take number ("Walking 1" and "Walking" are "Walking"), all
cameras and test subjects together; the reported figure is the unweighted mean over actions.

MPI-INF-3DHP (``main_3dhp.py`` + ``mpii_test_predictions_ori_py.m``): the clip outputs are
stitched with the later clip winning overlaps, then each test sequence's valid frames are scored:
MPJPE over the 17 joints, PCK@150 mm and AUC (0-150 mm in 5 mm steps) over the 14 PCK joints;
the reported figures are unweighted means over the test sequences.

With H > 1, ``hypothesis_metrics`` gives D3DP's J-Best, P-Best, P-Agg and J-Agg
(:mod:`htp_edge.evaluation.hypotheses`); the headline figures score what the lifter outputs (its
aggregation, with an estimated root for JPMA, as deployed).
"""
from __future__ import annotations

import sys
from dataclasses import asdict

import numpy as np

from htp_edge.evaluation.clips import lift_recording, stitch_last
from htp_edge.evaluation.hypotheses import MODES, error_maps, reprojection_choice, selected_poses
from htp_edge.evaluation.metrics import auc, pck, procrustes_align

P_BEST_GROUP = {"h36m": 4, "3dhp": 2}  # D3DP's evaluation batch of clips (README -b 4; main_3dhp bs = 2)


def _pose_errors(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-joint errors (..., J) of protocol 1 and protocol 2 (per-pose Procrustes), metres."""
    return np.linalg.norm(pred - gt, axis=-1), np.linalg.norm(procrustes_align(pred, gt) - gt, axis=-1)


def mean_modes(rows: list[dict], keys) -> dict:
    """Unweighted means over ``rows`` of each row's ``hypothesis_metrics[mode][key]``."""
    return {m: {k: float(np.mean([r["hypothesis_metrics"][m][k] for r in rows])) for k in keys} for m in MODES}


# -- Human3.6M -------------------------------------------------------------------------------------
class ActionTable:
    """Sums of per-pose errors (metres) and pose counts per action group."""

    def __init__(self) -> None:
        self.sums: dict[str, dict[str, float]] = {}
        self.counts: dict[str, dict[str, int]] = {}

    def add(self, item, hypotheses: int) -> dict:
        """Add one lifted recording; returns its own row (mm)."""
        rec = item.recording
        p1, p2 = _pose_errors(item.pred, item.gt)
        sums = {"mpjpe": p1.mean(-1).sum(), "p_mpjpe": p2.mean(-1).sum()}
        if hypotheses > 1:
            choice = reprojection_choice(item.hyps, item.root, item.kp, item.intr)
            for mode, maps in error_maps(item.hyps, item.gt, choice, P_BEST_GROUP["h36m"]).items():
                sums[f"{mode}.p1"], sums[f"{mode}.p2"] = maps["p1"].mean(-1).sum(), maps["p2"].mean(-1).sum()
        table = self.sums.setdefault(rec.action_group, {})
        for key, value in sums.items():
            table[key] = table.get(key, 0.0) + float(value)
        counts = self.counts.setdefault(rec.action_group, {"poses": 0, "frames": 0, "sequences": 0, "clips": 0})
        counts["poses"] += item.scored_frames
        counts["frames"] += rec.num_frames
        counts["sequences"] += 1
        counts["clips"] += item.num_clips
        return {"name": rec.name, "subject": rec.subject, "action": rec.action, "camera": rec.camera,
                "frames": rec.num_frames, "scored_frames": item.scored_frames,
                "mpjpe_mm": 1000 * sums["mpjpe"] / item.scored_frames,
                "p_mpjpe_mm": 1000 * sums["p_mpjpe"] / item.scored_frames}

    def action(self, name: str) -> dict:
        sums, counts = self.sums[name], self.counts[name]
        mm = {k: 1000.0 * v / counts["poses"] for k, v in sums.items()}
        row = {"mpjpe_mm": mm["mpjpe"], "p_mpjpe_mm": mm["p_mpjpe"], "frames": counts["frames"],
               "scored_frames": counts["poses"], "sequences": counts["sequences"], "clips": counts["clips"]}
        if "j_best.p1" in mm:
            row["hypothesis_metrics"] = {m: {"mpjpe_mm": mm[f"{m}.p1"], "p_mpjpe_mm": mm[f"{m}.p2"]} for m in MODES}
        return row

    def report(self) -> dict:
        actions = {name: self.action(name) for name in self.sums}
        mean = {k: float(np.mean([a[k] for a in actions.values()])) for k in ("mpjpe_mm", "p_mpjpe_mm")}
        out = {**mean, "frames": sum(a["frames"] for a in actions.values()),
               "scored_frames": sum(a["scored_frames"] for a in actions.values()),
               "clips": sum(a["clips"] for a in actions.values()),
               "sequences": sum(a["sequences"] for a in actions.values()), "actions": len(actions),
               "per_action": actions}
        if actions and all("hypothesis_metrics" in a for a in actions.values()):
            out["hypothesis_metrics"] = mean_modes(list(actions.values()), ("mpjpe_mm", "p_mpjpe_mm"))
        return out


def h36m_report(items, hypotheses: int) -> dict:
    """The Human3.6M protocol over lifted recordings (an iterable of LiftedClips)."""
    table, rows = ActionTable(), []
    for item in items:
        rows.append(table.add(item, hypotheses))
    return {**table.report(), "per_sequence": rows}


# -- MPI-INF-3DHP ----------------------------------------------------------------------------------
def _sequence_scores(pose: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> dict:
    """Per-frame poses (T, J, 3) vs ground truth on the valid frames -> the 3DHP table row."""
    p1, p2 = _pose_errors(pose[valid], gt[valid])
    p1_mm = 1000.0 * p1  # (N, J)
    return {"mpjpe_mm": float(p1_mm.mean()), "p_mpjpe_mm": float(1000.0 * p2.mean()), "pck150_pct": pck(p1_mm),
            "auc_pct": auc(p1_mm), "frames": int(valid.sum())}


def mpi3dhp_row(item, hypotheses: int) -> dict:
    rec = item.recording
    seq = rec.sequence
    valid = np.ones(seq.num_frames, bool) if rec.valid is None else rec.valid
    gt = seq.pose3d.astype(np.float64)
    row = _sequence_scores(stitch_last(item.pred, item.cuts, seq.num_frames), gt, valid)
    row["clips"] = item.num_clips
    if hypotheses > 1:
        choice = reprojection_choice(item.hyps, item.root, item.kp, item.intr)
        poses = selected_poses(item.hyps, item.gt, choice, P_BEST_GROUP["3dhp"])
        row["hypothesis_metrics"] = {}
        for mode, clips in poses.items():
            scores = _sequence_scores(stitch_last(clips, item.cuts, seq.num_frames), gt, valid)
            row["hypothesis_metrics"][mode] = {k: scores[k] for k in ("mpjpe_mm", "pck150_pct", "auc_pct")}
    return row


def mpi3dhp_report(items, hypotheses: int) -> dict:
    """The MPI-INF-3DHP protocol: one row per test sequence, unweighted means over them."""
    rows = {}
    for item in items:
        rows[item.recording.subject] = mpi3dhp_row(item, hypotheses)
    keys = ("mpjpe_mm", "p_mpjpe_mm", "pck150_pct", "auc_pct")
    out = {k: float(np.mean([r[k] for r in rows.values()])) for k in keys}
    out.update(frames=sum(r["frames"] for r in rows.values()), clips=sum(r["clips"] for r in rows.values()),
               sequences=len(rows), per_sequence=rows)
    if rows and all("hypothesis_metrics" in r for r in rows.values()):
        out["hypothesis_metrics"] = mean_modes(list(rows.values()), ("mpjpe_mm", "pck150_pct", "auc_pct"))
    return out


# -- entry points ----------------------------------------------------------------------------------
def _lifted(lifter, recordings, progress: bool):
    from tqdm import tqdm
    for rec in tqdm(recordings, desc="eval", unit="seq", file=sys.stderr, disable=not progress, leave=False):
        yield lift_recording(lifter, rec)


def evaluate_dataset(source, cfg, dataset, progress: bool = False, **backend_options) -> dict:
    """Lift ``dataset``'s ``cfg.split`` subjects with the model at ``source`` and score them with the
    dataset's protocol (``cfg``: :class:`~htp_edge.evaluation.evaluate.EvalConfig`, ``dataset``:
    :class:`~htp_edge.data.datasets.DatasetConfig`)."""
    from htp_edge.data.datasets import open_recordings
    from htp_edge.runtime.lifter import Lifter
    recordings = open_recordings(dataset, cfg.split)
    recordings = recordings[: cfg.max_sequences] if cfg.max_sequences else recordings
    lifter = Lifter.load(source, backend=cfg.backend, steps=cfg.steps, hypotheses=cfg.hypotheses, flip=cfg.flip,
                         aggregation=cfg.aggregation, seed=cfg.seed, **backend_options)
    try:
        items = _lifted(lifter, recordings, progress)
        hypotheses = lifter.config.hypotheses
        report = (h36m_report if dataset.name == "h36m" else mpi3dhp_report)(items, hypotheses)
        config = {**asdict(cfg), "aggregation_used": lifter.config.method, "frames": lifter.frames,
                  "source": str(source)}
    finally:
        lifter.close()
    protocol = "d3dp-h36m" if dataset.name == "h36m" else "d3dp-3dhp"
    return {**report, "dataset": dataset.describe(), "protocol": protocol, "config": config}


def dataset_gate(src, candidate, precision: str, dataset, max_sequences: int | None = None,
                 gate_mm: float | None = None) -> dict:
    """The quantisation MPJPE gate on an outside dataset's test subjects (FP32 ``src`` vs ``candidate``)."""
    from htp_edge.artifacts.onnx_meta import read_graph_meta
    from htp_edge.evaluation.evaluate import EvalConfig
    from htp_edge.tolerances import mpjpe_delta_gate_mm
    meta = read_graph_meta(src)
    cfg = EvalConfig(backend="onnxruntime", hypotheses=meta.hypotheses, flip=meta.flip, max_sequences=max_sequences)
    ref = evaluate_dataset(str(src), cfg, dataset)["mpjpe_mm"]
    got = evaluate_dataset(str(candidate), cfg, dataset)["mpjpe_mm"]
    limit = mpjpe_delta_gate_mm(precision) if gate_mm is None else float(gate_mm)
    return {"ok": got - ref <= limit, "mpjpe_fp32_mm": ref, "mpjpe_mm": got, "delta_mm": got - ref,
            "gate_mm": limit, "sequences": max_sequences or "all", "dataset": dataset.describe()}
