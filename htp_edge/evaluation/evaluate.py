"""Accuracy on the real-motion test split through any backend (numpy + the runtime).

Each test sequence (a held-out clip seen by a fixed virtual camera) is lifted by a
:class:`htp_edge.runtime.lifter.Lifter` exactly as a user would call it, and compared with the
camera-frame ground truth: MPJPE and P-MPJPE in millimetres, with and without the approximate
head joints 9 and 10, overall (frame-weighted), per source and per sequence.
"""
from __future__ import annotations

import sys
from dataclasses import asdict, dataclass

import numpy as np

from htp_edge.errors import HtpEdgeError
from htp_edge.evaluation.metrics import joints_without, mpjpe, p_mpjpe
from htp_edge.pose.geometry import Intrinsics

SPLITS = ("test", "train")


@dataclass(frozen=True)
class EvalConfig:
    backend: str = "onnxruntime"
    split: str = "test"
    steps: int = 1
    hypotheses: int = 1
    flip: bool = True
    aggregation: str = "auto"
    seed: int = 0
    max_sequences: int | None = None
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise HtpEdgeError(f"eval: unknown split. Expected one of {', '.join(SPLITS)}, got {self.split!r}.")


def camera_intrinsics(camera) -> Intrinsics | None:
    if camera is None:
        return None
    return Intrinsics(float(camera.f[0]), float(camera.f[1]), float(camera.c[0]), float(camera.c[1]),
                      tuple(float(v) for v in camera.k), tuple(float(v) for v in camera.p))


def test_sequences(cfg: EvalConfig):
    from htp_edge.data import load_motion, make_test_set, prepare_motion
    prepare_motion(cache_dir=cfg.cache_dir, progress=False)
    seqs = make_test_set(load_motion(cfg.cache_dir), seed=0, split=cfg.split)
    return seqs[: cfg.max_sequences] if cfg.max_sequences else seqs


def scores(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    body = joints_without()
    return {"mpjpe_mm": 1000 * mpjpe(pred, gt), "p_mpjpe_mm": 1000 * p_mpjpe(pred, gt),
            "mpjpe_no_head_mm": 1000 * mpjpe(pred, gt, body), "p_mpjpe_no_head_mm": 1000 * p_mpjpe(pred, gt, body)}


def summarize(rows: list[dict]) -> dict:
    """Frame-weighted means of the per-sequence scores."""
    w = np.array([r["frames"] for r in rows], dtype=np.float64)
    keys = [k for k in rows[0] if k.endswith("_mm")]
    return {k: float(np.sum(w * [r[k] for r in rows]) / w.sum()) for k in keys}


def evaluate_predictor(predict, seqs, progress: bool = False) -> dict:
    """``predict(seq) -> (T, 17, 3)`` over the sequences -> the report."""
    rows = []
    for i, seq in enumerate(seqs):
        pred = predict(seq)
        rows.append({"name": seq.name, "source": seq.source, "frames": seq.num_frames, **scores(pred, seq.pose3d)})
        if progress:
            print(f"\r  eval {i + 1}/{len(seqs)} {seq.name:<32}", end="", file=sys.stderr)
    if progress:
        print(file=sys.stderr)
    report = summarize(rows)
    sources = sorted({r["source"] for r in rows})
    report["per_source"] = {s: summarize([r for r in rows if r["source"] == s]) for s in sources}
    report["per_sequence"] = rows
    report["frames"] = int(sum(r["frames"] for r in rows))
    report["sequences"] = len(rows)
    return report


def evaluate_source(source, cfg: EvalConfig = EvalConfig(), progress: bool = False, **backend_options) -> dict:
    """Lift every test sequence with the model at ``source`` (name, .pt, .onnx, .engine)."""
    from htp_edge.pose.clipping import cut_clips
    from htp_edge.runtime.lifter import Lifter
    seqs = test_sequences(cfg)
    lifter = Lifter.load(source, backend=cfg.backend, steps=cfg.steps, hypotheses=cfg.hypotheses, flip=cfg.flip,
                         aggregation=cfg.aggregation, seed=cfg.seed, **backend_options)

    def predict(seq):
        kp = np.concatenate([seq.kp2d_px, seq.confidence[..., None]], axis=-1)
        return lifter.lift(kp, seq.width, seq.height, intrinsics=camera_intrinsics(seq.camera))

    report = evaluate_predictor(predict, seqs, progress)
    report["clips"] = int(sum(len(cut_clips(s.num_frames, lifter.frames)) for s in seqs))
    report["config"] = {**asdict(cfg), "aggregation_used": lifter.config.method, "frames": lifter.frames,
                        "source": str(source)}
    lifter.close()
    return report


def mean_pose_baseline(cfg: EvalConfig = EvalConfig(), batches: int = 100) -> dict:
    """The trivial baseline: the mean camera-frame pose of the train split, for every frame."""
    from htp_edge.data import SamplerConfig, TrainSampler, load_motion
    seqs = test_sequences(cfg)
    sampler = TrainSampler(load_motion(cfg.cache_dir), SamplerConfig(frames=27, batch_size=32), seed=cfg.seed)
    mean = np.mean([sampler.sample().pose3d.mean(axis=(0, 1)) for _ in range(batches)], axis=0)  # (17, 3)
    report = evaluate_predictor(lambda s: np.broadcast_to(mean, s.pose3d.shape), seqs)
    report["config"] = {**asdict(cfg), "baseline": "mean-pose"}
    report["clips"] = 0
    return report
