"""Random training batches: clip chunks seen through random cameras, with noise and mirroring."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, NamedTuple, Sequence

import numpy as np

from htp_edge.data.augment import AugmentConfig, augment_pose
from htp_edge.data.camera import CameraConfig, sample_camera
from htp_edge.data.motion import MotionClip
from htp_edge.data.static_train import StaticCameraConfig, resample_time, source_frames, static_view
from htp_edge.data.synth import SynthConfig, mirror_pair, synthesize
from htp_edge.errors import HtpEdgeError
from htp_edge.pose.normalize import normalize_screen
from htp_edge.pose.skeleton import LEFT_JOINTS, NUM_JOINTS, PARENTS, RIGHT_JOINTS


@dataclass(frozen=True)
class SamplerConfig:
    """How training batches are drawn.

    Attributes:
        frames: chunk length F (a clip shorter than F is edge-padded at a random split).
        batch_size: chunks per batch B.
        mirror_prob: chance that a chunk is mirrored (left/right swapped, x negated).
        bone_scale: each bone's length (left/right alike) is scaled by a factor drawn from
            this range per chunk, on top of one overall body scale from the same range: new
            subjects' proportions (the test climber's limbs differ from the training climber's).
        augment: pose augmentation (part mixing across chunks, limb rotations), applied before
            the bone rescaling; ``AugmentConfig.none()`` turns it off.
        balance_sources: draw each source (climbing, DeepMimic) equally often; otherwise in
            proportion to its frame count. Within a source, clips are drawn by frame count.
        camera: virtual camera distribution (one camera per chunk, aimed near its mean root; by
            default turned up to 15 degrees away so the subject appears anywhere in the image).
        synth: detector-like noise.
        static: static-camera views (:mod:`htp_edge.data.static_train`) for a share
            ``static.prob`` of the chunks (default 0: none, and no random draws for them).
    """

    frames: int = 243
    batch_size: int = 32
    mirror_prob: float = 0.5
    bone_scale: tuple[float, float] = (0.9, 1.1)
    balance_sources: bool = True
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    camera: CameraConfig = field(default_factory=lambda: CameraConfig(aim_offset_deg=(15.0, 15.0)))
    synth: SynthConfig = field(default_factory=SynthConfig)
    static: StaticCameraConfig = field(default_factory=StaticCameraConfig)

    def __post_init__(self) -> None:
        if int(self.frames) < 1 or int(self.batch_size) < 1:
            raise HtpEdgeError(f"sampler config: bad sizes. Expected frames >= 1 and batch_size >= 1, got "
                               f"frames={self.frames} batch_size={self.batch_size}. Use e.g. 243 and 32.")
        if not 0.0 <= self.mirror_prob <= 1.0:
            raise HtpEdgeError(f"sampler config: bad mirror_prob. Expected a probability in [0, 1], got "
                               f"{self.mirror_prob}. Use 0.5 to mirror half the chunks.")


def rescale_bones(positions: np.ndarray, rng: np.random.Generator, scale: tuple[float, float]) -> np.ndarray:
    """Scale bone lengths (F, 17, 3) per bone (left/right symmetric) and overall; the root stays."""
    lo, hi = scale
    if lo == hi == 1.0:
        return positions
    per_joint = rng.uniform(lo, hi, size=NUM_JOINTS) * rng.uniform(lo, hi)
    per_joint[list(RIGHT_JOINTS)] = per_joint[list(LEFT_JOINTS)]  # one factor per bone type
    out = positions.copy()
    for j, parent in enumerate(PARENTS):  # parents precede children: one pass rebuilds the chain
        if parent >= 0:
            out[:, j] = out[:, parent] + per_joint[j] * (positions[:, j] - positions[:, parent])
    return out


class TrainBatch(NamedTuple):
    """``kp2d`` (B, F, 17, 2) float32 screen-normalised; ``pose3d`` (B, F, 17, 3) float32 metres,
    camera frame, root-relative."""

    kp2d: np.ndarray
    pose3d: np.ndarray


def edge_pad(x: np.ndarray, before: int, after: int) -> np.ndarray:
    """Repeat the first/last frame of (T, ...) ``before``/``after`` times -> (T + before + after, ...)."""
    index = np.concatenate([np.zeros(before, int), np.arange(x.shape[0]), np.full(after, x.shape[0] - 1)])
    return x[index]


class TrainSampler:
    """Draws :class:`TrainBatch` es from motion clips with a seeded numpy Generator.

    Only clips of ``split`` are used (``None``: all given clips). Iterating yields batches
    forever; :meth:`sample` draws one.
    """

    def __init__(self, clips: Sequence[MotionClip], config: SamplerConfig | None = None, seed: int = 0,
                 split: str | None = "train") -> None:
        self.config = config or SamplerConfig()
        chosen = [c for c in clips if split is None or c.split == split]
        if not chosen:
            raise HtpEdgeError(f"train sampler: no clips. Expected at least one clip of split {split!r}, got "
                               f"none of {len(clips)}. Pass load_motion() or set split=None.")
        self.clips = chosen
        self.sources = sorted({c.source for c in chosen})
        self._by_source = {s: [c for c in chosen if c.source == s] for s in self.sources}
        self._clip_weights = {s: self._weights([c.num_frames for c in self._by_source[s]]) for s in self.sources}
        frames_per_source = [sum(c.num_frames for c in self._by_source[s]) for s in self.sources]
        self.source_weights = (np.full(len(self.sources), 1.0 / len(self.sources))
                               if self.config.balance_sources else self._weights(frames_per_source))
        self.source_fps = float(np.median([c.fps for c in chosen]))
        self.rng = np.random.default_rng(seed)

    @staticmethod
    def _weights(counts: list[int]) -> np.ndarray:
        counts = np.asarray(counts, dtype=np.float64)
        return counts / counts.sum()

    def _chunk(self, frames: int | None = None) -> np.ndarray:
        """World positions (frames, 17, 3) of one random chunk (default: F frames)."""
        source = self.sources[self.rng.choice(len(self.sources), p=self.source_weights)]
        clips = self._by_source[source]
        clip = clips[self.rng.choice(len(clips), p=self._clip_weights[source])]
        frames, total = int(frames or self.config.frames), clip.num_frames
        if total >= frames:
            start = int(self.rng.integers(0, total - frames + 1))
            return clip.positions[start:start + frames]
        before = int(self.rng.integers(0, frames - total + 1))
        return edge_pad(clip.positions, before, frames - total - before)

    def _example(self) -> tuple[np.ndarray, np.ndarray]:
        """One (F, 17, 2) normalised 2D / (F, 17, 3) camera-frame 3D pair."""
        static = self.config.static
        if static.prob > 0 and self.rng.random() < static.prob:
            pair = self._static_example(static)
            if pair is not None:
                return pair
        chunk = augment_pose(self._chunk(), self.rng, self.config.augment, self._chunk)
        chunk = rescale_bones(chunk, self.rng, self.config.bone_scale)
        return self._observe(chunk, sample_camera(self.rng, self.config.camera, chunk))

    def _observe(self, world: np.ndarray, camera) -> tuple[np.ndarray, np.ndarray]:
        """World positions (F, 17, 3) seen by ``camera``: noisy normalised 2D, camera-frame 3D,
        mirrored at ``mirror_prob``."""
        synth = synthesize(world, camera, self.rng, self.config.synth)
        kp2d = normalize_screen(synth.kp2d_px, camera.width, camera.height)
        pose3d = synth.pose3d
        if self.rng.random() < self.config.mirror_prob:
            kp2d, pose3d = mirror_pair(kp2d, pose3d)
        return kp2d, pose3d

    def _static_example(self, static: StaticCameraConfig) -> tuple[np.ndarray, np.ndarray] | None:
        """A chunk at a random camera frame rate, moving along a path before a fixed camera;
        ``None`` when no path kept it in view."""
        frames = int(self.config.frames)
        fps = float(self.rng.uniform(*static.fps))
        length = source_frames(frames, fps, self.source_fps)
        chunk = augment_pose(self._chunk(length), self.rng, self.config.augment, lambda: self._chunk(length))
        chunk = resample_time(rescale_bones(chunk, self.rng, self.config.bone_scale), frames)
        view = static_view(chunk, self.rng, static, fps)
        if view is None:
            return None
        camera, world = view
        return self._observe(world, camera)

    def sample(self) -> TrainBatch:
        """One batch: ``kp2d`` (B, F, 17, 2) and ``pose3d`` (B, F, 17, 3), float32."""
        pairs = [self._example() for _ in range(int(self.config.batch_size))]
        kp2d = np.stack([p[0] for p in pairs]).astype(np.float32)  # B x (F, 17, 2) -> (B, F, 17, 2)
        pose3d = np.stack([p[1] for p in pairs]).astype(np.float32)  # B x (F, 17, 3) -> (B, F, 17, 3)
        return TrainBatch(kp2d, pose3d)

    def __iter__(self) -> Iterator[TrainBatch]:
        while True:
            yield self.sample()
