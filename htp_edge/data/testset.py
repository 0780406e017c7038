"""The fixed evaluation set: every test clip seen by several seeded virtual cameras."""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from htp_edge.data.camera import Camera, CameraConfig, sample_camera
from htp_edge.data.motion import MotionClip
from htp_edge.data.synth import SynthConfig, synthesize
from htp_edge.errors import HtpEdgeError
from htp_edge.pose.skeleton import NUM_JOINTS


@dataclass(frozen=True, eq=False)
class TestSequence:
    """One evaluation sequence (also the record type of :func:`htp_edge.data.load_videopose3d`).

    Attributes:
        name: e.g. ``"climb/seq4/cam0"``.
        source: ``"climb"``, ``"deepmimic"``, ``"videopose3d"``, ...
        kp2d_px: (T, 17, 2) float32 2D keypoints in pixels.
        confidence: (T, 17) float32 in [0, 1].
        width, height: image size in pixels (for :func:`htp_edge.pose.normalize.normalize_screen`).
        pose3d: (T, 17, 3) float32 camera-frame positions relative to the root, metres.
        root_cam: (T, 3) float32 absolute root in the camera frame, metres.
        camera: the camera, or ``None`` when its intrinsics are unknown.
    """

    __test__ = False  # not a pytest test class

    name: str
    source: str
    kp2d_px: np.ndarray
    confidence: np.ndarray
    width: int
    height: int
    pose3d: np.ndarray
    root_cam: np.ndarray
    camera: Camera | None = None

    def __post_init__(self) -> None:
        kp = np.asarray(self.kp2d_px, dtype=np.float32)
        frames = kp.shape[0] if kp.ndim == 3 else -1
        expected = {"kp2d_px": (frames, NUM_JOINTS, 2), "confidence": (frames, NUM_JOINTS),
                    "pose3d": (frames, NUM_JOINTS, 3), "root_cam": (frames, 3)}
        for name, shape in expected.items():
            value = np.asarray(getattr(self, name), dtype=np.float32)
            if frames < 1 or value.shape != shape:
                raise HtpEdgeError(f"test sequence {self.name}: bad {name}. Expected shape {shape} "
                                   f"(T >= 1 frames), got {value.shape}. Give all arrays the same T.")
            object.__setattr__(self, name, value)
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise HtpEdgeError(f"test sequence {self.name}: bad image size. Expected positive width and "
                               f"height, got {self.width}x{self.height}. Pass the image size in pixels.")

    @property
    def num_frames(self) -> int:
        return int(self.kp2d_px.shape[0])


@dataclass(frozen=True)
class TestSetConfig:
    """Cameras per clip (spread evenly in yaw from a random start), camera and noise settings."""

    __test__ = False

    cameras_per_clip: int = 4
    camera: CameraConfig = field(default_factory=CameraConfig)
    synth: SynthConfig = field(default_factory=SynthConfig)

    def __post_init__(self) -> None:
        if int(self.cameras_per_clip) < 1:
            raise HtpEdgeError(f"test set config: bad cameras_per_clip. Expected >= 1, got "
                               f"{self.cameras_per_clip}. Use e.g. 4.")


def clip_rng(seed: int, name: str, stream: int) -> np.random.Generator:
    """A Generator fixed by (seed, clip name, stream >= 0), independent of the other clips."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode("utf-8")), int(stream)])


def make_test_set(clips: Sequence[MotionClip], seed: int = 0, config: TestSetConfig | None = None,
                  split: str | None = "test") -> list[TestSequence]:
    """Deterministic evaluation sequences: each clip of ``split`` through ``cameras_per_clip`` cameras.

    Camera k of a clip sits at yaw ``yaw0 + k * 360 / cameras_per_clip`` around the clip's mean
    root (``yaw0`` drawn per clip); the other camera parameters and the noise are drawn from a
    Generator seeded by (seed, clip name, k + 1), so a clip's sequences do not depend on which other
    clips are passed. ``split=None`` uses every given clip.
    """
    config = config or TestSetConfig()
    out = []
    for clip in clips:
        if split is not None and clip.split != split:
            continue
        yaw0 = clip_rng(seed, clip.name, 0).uniform(-180.0, 180.0)
        for k in range(int(config.cameras_per_clip)):
            rng = clip_rng(seed, clip.name, k + 1)
            yaw = yaw0 + 360.0 * k / config.cameras_per_clip
            camera = sample_camera(rng, config.camera, clip.positions, yaw_deg=yaw)
            synth = synthesize(clip.positions, camera, rng, config.synth)
            out.append(TestSequence(
                name=f"{clip.name}/cam{k}", source=clip.source, kp2d_px=synth.kp2d_px,
                confidence=synth.confidence, width=camera.width, height=camera.height,
                pose3d=synth.pose3d, root_cam=synth.root_cam, camera=camera,
            ))
    return out
