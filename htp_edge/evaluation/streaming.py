"""Accuracy of the streaming path: every test sequence pushed frame by frame, as a robot would.

A stream of window W returns, at each frame i >= W-1, the pose of frame i (``causal``: no
future frames, no added latency) or of frame i - (W-1-W//2) (``centred``: half a window late).
Each output is exactly what :class:`~htp_edge.runtime.streaming.StreamingLifter` gives (the same
windows through :meth:`~htp_edge.runtime.lifter.Lifter.lift_windows`, batched for speed; per-clip
noise makes batching exact). Scored on the frames that have an output in both modes, beside the
offline (whole-sequence) lift on the same frames. A causal model (graph metadata ``causal``)
streams in causal mode only; its ``centred`` row is still measured here, for comparison (the
middle frame of a causal model sees half the window), and ``causal`` is recorded in the result.
"""
from __future__ import annotations

import sys

import numpy as np

from htp_edge.evaluation.metrics import mpjpe, p_mpjpe
from htp_edge.runtime.tracks import StreamConfig

MODES = ("causal", "centred")
CHUNK = 64  # windows lifted per lift_windows call


def stream_poses(lifter, kp_px: np.ndarray, conf: np.ndarray, width, height, intr, mode: str,
                 window: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames with an output and their poses (n, 17, 3) for one sequence in ``mode``."""
    index = StreamConfig(window=window, mode=mode).output_index(window)
    ends = np.arange(window - 1, len(kp_px))  # the newest frame of each window
    poses = []
    for start in range(0, len(ends), CHUNK):
        wins = [(kp_px[e - window + 1:e + 1], conf[e - window + 1:e + 1]) for e in ends[start:start + CHUNK]]
        poses += [p[index] for p in lifter.lift_windows(wins, width, height, intr)]
    frames = ends - (window - 1 - index)
    return frames, np.asarray(poses)


def evaluate_streaming(source, cfg, window: int | None = None, progress: bool = False, view: str | None = None) -> dict:
    """The table above for the test split (``view`` None or ``"aimed"``) or a robot's fixed-camera
    view (``"approach"``, ``"cross"``: :func:`htp_edge.evaluation.views.view_sequences`)."""
    from htp_edge.evaluation.evaluate import camera_intrinsics
    from htp_edge.evaluation.views import view_sequences
    from htp_edge.runtime.lifter import Lifter
    from htp_edge.runtime.tracks import is_causal
    lifter = Lifter.load(source, backend=cfg.backend, steps=cfg.steps, hypotheses=cfg.hypotheses, flip=cfg.flip,
                         aggregation=cfg.aggregation, seed=cfg.seed)
    window = window or lifter.frames
    causal_model = is_causal(lifter)
    sums = {m: [0.0, 0.0] for m in (*MODES, "offline")}
    count = 0
    seqs = view_sequences(view or "aimed", cfg)  # "aimed": the test split's own cameras
    for i, seq in enumerate(seqs):
        if seq.num_frames < window:
            continue
        intr = camera_intrinsics(seq.camera)
        kp, conf = seq.kp2d_px.astype(np.float32), seq.confidence.astype(np.float32)
        offline = lifter.lift(np.concatenate([kp, conf[..., None]], -1), seq.width, seq.height, intrinsics=intr)
        per_mode = {m: stream_poses(lifter, kp, conf, seq.width, seq.height, intr, m, window) for m in MODES}
        common = np.intersect1d(per_mode["causal"][0], per_mode["centred"][0])  # frames scored in both
        if len(common) == 0:
            continue
        for mode, (frames, poses) in per_mode.items():
            sel = poses[np.searchsorted(frames, common)]
            sums[mode][0] += 1000 * mpjpe(sel, seq.pose3d[common]) * len(common)
            sums[mode][1] += 1000 * p_mpjpe(sel, seq.pose3d[common]) * len(common)
        sums["offline"][0] += 1000 * mpjpe(offline[common], seq.pose3d[common]) * len(common)
        sums["offline"][1] += 1000 * p_mpjpe(offline[common], seq.pose3d[common]) * len(common)
        count += len(common)
        if progress:
            print(f"\r  stream eval {i + 1}/{len(seqs)}", end="", file=sys.stderr)
    if progress:
        print(file=sys.stderr)
    lifter.close()
    out = {m: {"mpjpe_mm": s[0] / count, "p_mpjpe_mm": s[1] / count} for m, s in sums.items()}
    causal, centred = out["causal"]["mpjpe_mm"], out["centred"]["mpjpe_mm"]
    return {**out, "frames": int(count), "window": int(window), "sequences": len(seqs),
            "causal_vs_centred_pct": 100 * (causal - centred) / centred, "source": str(source),
            "causal_model": causal_model, "stream_view": view or "aimed"}
