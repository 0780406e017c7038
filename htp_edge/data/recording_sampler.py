"""Training batches from an outside dataset's recordings (Human3.6M, MPI-INF-3DHP), as D3DP trains.

Each example is an F-frame window of one recording (recordings drawn by frame count, the start
uniform; a recording shorter than F is edge-padded at the end): its 2D normalised with the
camera's resolution, its 3D in the camera frame, root-relative, and half the examples mirrored
(D3DP's flip augmentation). No synthetic cameras or noise: the data's own 2D is the input.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from htp_edge.data.sampler import SamplerConfig, TrainBatch, edge_pad
from htp_edge.data.synth import mirror_pair
from htp_edge.errors import HtpEdgeError
from htp_edge.pose.normalize import normalize_screen


class RecordingSampler:
    """Draws :class:`~htp_edge.data.sampler.TrainBatch` es from recordings with a seeded Generator
    (only ``config.frames``, ``batch_size`` and ``mirror_prob`` apply)."""

    def __init__(self, recordings: Sequence, config: SamplerConfig | None = None, seed: int = 0) -> None:
        if not recordings:
            raise HtpEdgeError("train sampler: no recordings. Expected at least one (subject, action, camera) of the "
                               "training subjects, got none. Check --subjects-train and the data files.")
        self.config = config or SamplerConfig()
        self.recordings = list(recordings)
        counts = np.array([r.num_frames for r in self.recordings], dtype=np.float64)
        self.weights = counts / counts.sum()
        self.rng = np.random.default_rng(seed)

    def _example(self) -> tuple[np.ndarray, np.ndarray]:
        seq = self.recordings[self.rng.choice(len(self.recordings), p=self.weights)].sequence
        frames, total = int(self.config.frames), seq.num_frames
        if total >= frames:
            start = int(self.rng.integers(0, total - frames + 1))
            kp, pose = seq.kp2d_px[start:start + frames], seq.pose3d[start:start + frames]
        else:
            kp, pose = edge_pad(seq.kp2d_px, 0, frames - total), edge_pad(seq.pose3d, 0, frames - total)
        kp2d = normalize_screen(kp, seq.width, seq.height)
        if self.rng.random() < self.config.mirror_prob:
            kp2d, pose = mirror_pair(kp2d, pose)
        return kp2d, pose

    def sample(self) -> TrainBatch:
        """One batch: ``kp2d`` (B, F, 17, 2) and ``pose3d`` (B, F, 17, 3), float32."""
        pairs = [self._example() for _ in range(int(self.config.batch_size))]
        kp2d = np.stack([p[0] for p in pairs]).astype(np.float32)  # B x (F, 17, 2) -> (B, F, 17, 2)
        pose3d = np.stack([p[1] for p in pairs]).astype(np.float32)  # B x (F, 17, 3) -> (B, F, 17, 3)
        return TrainBatch(kp2d, pose3d)
