"""2D keypoints with detector-like noise, synthesised from world motion through a virtual camera."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from htp_edge.data.camera import Camera
from htp_edge.errors import HtpEdgeError
from htp_edge.pose.skeleton import NUM_JOINTS, flip_permutation, flip_pose


@dataclass(frozen=True)
class SynthConfig:
    """Detector-like corruption of projected keypoints.

    Attributes:
        jitter_px: standard deviation of the Gaussian jitter added to every keypoint (pixels).
        outlier_prob: chance per joint and frame of a gross error (a uniform offset up to
            ``outlier_px`` in x and y), reported with a low confidence.
        outlier_px: largest outlier offset (pixels).
        dropout_prob: chance per joint and frame of a missed detection: confidence 0 and the
            keypoint repeats the joint's previous output value.
        confidence_range: confidence of a normal detection, drawn uniformly.
        outlier_confidence_range: confidence of an outlier, drawn uniformly.
    """

    jitter_px: float = 2.0
    outlier_prob: float = 0.01
    outlier_px: float = 40.0
    dropout_prob: float = 0.005
    confidence_range: tuple[float, float] = (0.7, 1.0)
    outlier_confidence_range: tuple[float, float] = (0.2, 0.6)

    def __post_init__(self) -> None:
        for name in ("jitter_px", "outlier_px"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise HtpEdgeError(f"synth config: bad {name}. Expected a number >= 0 (pixels), got {value}. "
                                   f"Use e.g. 2.0.")
        for name in ("outlier_prob", "dropout_prob"):
            value = getattr(self, name)
            if not (0.0 <= value <= 1.0):
                raise HtpEdgeError(f"synth config: bad {name}. Expected a probability in [0, 1], got {value}. "
                                   f"Use e.g. 0.01.")
        for name in ("confidence_range", "outlier_confidence_range"):
            low, high = getattr(self, name)
            if not (0.0 <= low <= high <= 1.0):
                raise HtpEdgeError(f"synth config: bad {name}. Expected 0 <= low <= high <= 1, got "
                                   f"{(low, high)}. Use e.g. (0.7, 1.0).")

    @classmethod
    def clean(cls) -> "SynthConfig":
        """No noise at all: exact projections with confidence 1."""
        return cls(jitter_px=0.0, outlier_prob=0.0, dropout_prob=0.0,
                   confidence_range=(1.0, 1.0), outlier_confidence_range=(1.0, 1.0))


@dataclass(frozen=True, eq=False)
class Synth:
    """One synthesised sequence.

    Attributes:
        kp2d_px: (T, 17, 2) float32 noisy keypoints in pixels.
        confidence: (T, 17) float32 in [0, 1]; 0 marks a dropped joint.
        pose3d: (T, 17, 3) float32 camera-frame positions relative to the root (root exactly 0), metres.
        root_cam: (T, 3) float32 absolute root position in the camera frame, metres.
    """

    kp2d_px: np.ndarray
    confidence: np.ndarray
    pose3d: np.ndarray
    root_cam: np.ndarray


def _forward_fill(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Replace values (T, J, C) where ``keep`` (T, J) is False by the last kept value of that joint.

    A joint dropped from the first frame on keeps its own first value.
    """
    frames = np.arange(keep.shape[0])[:, None]  # (T, 1)
    last = np.where(keep, frames, 0)
    last = np.maximum.accumulate(last, axis=0)  # (T, J): index of the last kept frame
    joints = np.arange(keep.shape[1])[None, :]  # (1, J)
    return values[last, joints]


def _validate_positions(positions_world: np.ndarray) -> np.ndarray:
    pos = np.asarray(positions_world, dtype=np.float64)
    if pos.ndim != 3 or pos.shape[1:] != (NUM_JOINTS, 3) or pos.shape[0] < 1:
        raise HtpEdgeError(f"synthesize: bad positions. Expected world positions (T, {NUM_JOINTS}, 3), got "
                           f"{pos.shape}. Pass MotionClip.positions.")
    return pos


def synthesize(positions_world: np.ndarray, camera: Camera, rng: np.random.Generator,
               config: SynthConfig | None = None) -> Synth:
    """Project world positions (T, 17, 3) through ``camera`` and corrupt them as in ``config``."""
    config = config or SynthConfig()
    cam = camera.world_to_camera(_validate_positions(positions_world))  # (T, 17, 3)
    clean = camera.project(cam)  # (T, 17, 2)
    shape = clean.shape[:2]
    noisy = clean + rng.normal(0.0, config.jitter_px, size=clean.shape) if config.jitter_px > 0 else clean.copy()
    confidence = rng.uniform(*config.confidence_range, size=shape)
    outlier = rng.random(shape) < config.outlier_prob
    offsets = rng.uniform(-config.outlier_px, config.outlier_px, size=clean.shape)
    noisy = np.where(outlier[..., None], noisy + offsets, noisy)
    confidence = np.where(outlier, rng.uniform(*config.outlier_confidence_range, size=shape), confidence)
    kept = rng.random(shape) >= config.dropout_prob
    noisy = _forward_fill(noisy, kept)
    confidence = np.where(kept, confidence, 0.0)
    root = cam[:, :1]  # (T, 1, 3)
    pose3d = cam - root
    pose3d[:, 0] = 0.0
    return Synth(kp2d_px=noisy.astype(np.float32), confidence=confidence.astype(np.float32),
                 pose3d=pose3d.astype(np.float32), root_cam=root[:, 0].astype(np.float32))


def mirror_pair(kp2d_norm: np.ndarray, pose3d: np.ndarray, confidence: np.ndarray | None = None):
    """Mirror a 2D/3D pair: swap left and right joints and negate the lateral (x) axis.

    ``kp2d_norm`` (..., 17, 2) must be screen-normalised (x centred on the principal point, see
    :func:`htp_edge.pose.normalize.normalize_screen`) and ``pose3d`` (..., 17, 3) in the camera
    frame; mirroring twice gives the input back. Returns ``(kp2d, pose3d)`` or, with
    ``confidence`` (..., 17), ``(kp2d, pose3d, confidence)``.
    """
    kp2d, pose = np.asarray(kp2d_norm), np.asarray(pose3d)
    if kp2d.shape[-2:] != (NUM_JOINTS, 2) or pose.shape[-2:] != (NUM_JOINTS, 3):
        raise HtpEdgeError(f"mirror: bad shapes. Expected (..., {NUM_JOINTS}, 2) and (..., {NUM_JOINTS}, 3), "
                           f"got {kp2d.shape} and {pose.shape}. Pass normalised 2D and camera-frame 3D.")
    out = (flip_pose(kp2d), flip_pose(pose))
    if confidence is None:
        return out
    return out + (np.asarray(confidence)[..., flip_permutation()],)
