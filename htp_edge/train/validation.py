"""Model selection on train clips held out of a run (``train --val-clips``), never on the test split.

After each epoch the checkpoint just written is scored on the held-out clips, seen by the test
split's kind of aimed virtual cameras (:func:`htp_edge.data.make_test_set`, seed 0), in the way the
model is served: a causal model by the pose of the newest frame of every window (what
:class:`~htp_edge.runtime.streaming.StreamingLifter` streams, no added latency), any other model by
the offline lift of the whole sequence. The trainer keeps the best-scoring epoch beside the run
(:func:`best_path`).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from htp_edge.errors import HtpEdgeError


def best_path(out: str | Path) -> Path:
    """Where a run writing ``out`` keeps its best validation epoch: ``<stem>.best.pt`` beside it."""
    out = Path(out)
    return out.with_name(f"{out.stem}.best{out.suffix or '.pt'}")


def parse_val_clips(text: str | None) -> tuple[str, ...]:
    """``--val-clips``: ``default`` (:data:`~htp_edge.data.motion.DEFAULT_VAL_CLIPS`), comma-separated
    train clip names, or None/empty for no validation."""
    from htp_edge.data.motion import DEFAULT_VAL_CLIPS
    if not text:
        return ()
    if text.strip() == "default":
        return DEFAULT_VAL_CLIPS
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise HtpEdgeError(f"train: --val-clips names no clip. Expected 'default' or train clip names separated by "
                           f"commas, got {text!r}.")
    return names


@dataclass(frozen=True)
class Validation:
    """Scores a checkpoint on the clips ``names`` held out of training (see the module doc)."""

    names: tuple[str, ...]
    cache_dir: str | None = None
    steps: int = 1
    hypotheses: int = 1

    def sequences(self):
        """The held-out clips through the test split's cameras (rendered once, then reused each epoch)."""
        return self._sequences

    @cached_property
    def _sequences(self):
        from htp_edge.data import load_motion, make_test_set
        from htp_edge.data.motion import hold_out
        return make_test_set(hold_out(load_motion(self.cache_dir), self.names), seed=0, split="val")

    def __call__(self, checkpoint: str | Path) -> dict:
        from htp_edge.evaluation.evaluate import camera_intrinsics
        from htp_edge.evaluation.metrics import mpjpe
        from htp_edge.evaluation.streaming import stream_poses
        from htp_edge.runtime.lifter import Lifter
        from htp_edge.runtime.tracks import is_causal
        lifter = Lifter.load(str(checkpoint), backend="torch", steps=self.steps, hypotheses=self.hypotheses,
                             flip=True, seed=0)
        causal = is_causal(lifter)
        total, count = 0.0, 0
        try:
            for seq in self.sequences():
                kp, conf = seq.kp2d_px.astype(np.float32), seq.confidence.astype(np.float32)
                intr = camera_intrinsics(seq.camera)
                if causal:
                    if seq.num_frames < lifter.frames:
                        continue
                    frames, poses = stream_poses(lifter, kp, conf, seq.width, seq.height, intr, "causal", lifter.frames)
                else:
                    frames = np.arange(seq.num_frames)
                    poses = lifter.lift(np.concatenate([kp, conf[..., None]], -1), seq.width, seq.height,
                                        intrinsics=intr)
                total += 1000 * mpjpe(poses, seq.pose3d[frames]) * len(frames)
                count += len(frames)
        finally:
            lifter.close()
        if not count:
            raise HtpEdgeError(f"validation: no held-out clip is at least {lifter.frames} frames long. Expected a "
                               f"longer clip in --val-clips, got {', '.join(self.names)}.")
        return {"val_mpjpe_mm": total / count, "val_frames": count,
                "val_mode": "causal stream (newest frame)" if causal else "offline lift"}
