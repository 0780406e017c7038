"""Fixed cameras over whole clips: the views a robot's camera gets.

The aimed test set (:func:`htp_edge.data.testset.make_test_set`) puts every camera on the clip's
mean root, so a person's image size hardly changes inside a window. Here the camera is fixed to a
robot (1.0-1.5 m high, wide lens, tilted slightly down) and the person moves through its view:

- ``approach``: the person comes toward the camera from about 8 m to 1.5 m at walking speed,
  facing it (the clip's own motion plus a steady approach; short clips cover a stretch of that
  path, the cameras of one clip spread their stretches over 8 m -> 1.5 m);
- ``cross``: the person walks across the view, side on, 2.5-6 m away, from one image edge to
  the other.

Every joint of every frame stays inside the image (the path is shortened where it would leave
it). The 3D target is the usual camera-frame, root-relative pose, and each sequence's per-frame
root depth (``root_cam[:, 2]``) gives the distance bands of the report.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from htp_edge.data.camera import Camera, look_at
from htp_edge.data.motion import MotionClip
from htp_edge.data.synth import SynthConfig, synthesize
from htp_edge.data.testset import TestSequence, clip_rng
from htp_edge.errors import HtpEdgeError

SCENARIOS = ("approach", "cross")
DISTANCE_BANDS_M = ((1.0, 2.5), (2.5, 4.0), (4.0, 6.0), (6.0, 8.5))
_R_HIP, _L_HIP = 1, 4


@dataclass(frozen=True)
class RobotViewConfig:
    """A robot's fixed camera and the person's path through its view.

    Attributes:
        scenario: ``"approach"`` or ``"cross"``.
        cameras_per_clip: sequences per clip (their paths spread over the scenario's range).
        height_m: camera height above the floor, drawn per sequence.
        tilt_deg: downward tilt of the optical axis, drawn per sequence.
        focal_px: focal length (fx = fy) for the ``width`` x ``height`` image (wide lenses).
        width, height: image size in pixels.
        radial: lens distortion k1, k2, k3 (VideoPose3D convention; known to the lifter).
        approach_m: (far, near) distances of the approach, metres.
        cross_depth_m: depth range of the crossing path, metres.
        speed_mps: walking speed range, metres per second.
    """

    scenario: str = "approach"
    cameras_per_clip: int = 4
    height_m: tuple[float, float] = (1.0, 1.5)
    tilt_deg: tuple[float, float] = (8.0, 14.0)
    focal_px: tuple[float, float] = (480.0, 560.0)
    width: int = 1000
    height: int = 1000
    radial: tuple[float, float, float] = (-0.02, 0.0, 0.0)
    approach_m: tuple[float, float] = (8.0, 1.5)
    cross_depth_m: tuple[float, float] = (2.5, 6.0)
    speed_mps: tuple[float, float] = (1.0, 1.6)

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise HtpEdgeError(f"robot view: unknown scenario. Expected one of {', '.join(SCENARIOS)}, got "
                               f"{self.scenario!r}.")
        if int(self.cameras_per_clip) < 1:
            raise HtpEdgeError(f"robot view: bad cameras_per_clip. Expected >= 1, got {self.cameras_per_clip}.")
        far, near = self.approach_m
        if not (1.0 <= near < far <= 20.0):
            raise HtpEdgeError(f"robot view: bad approach_m. Expected (far, near) with 1 <= near < far <= 20 m, "
                               f"got {self.approach_m}.")
        check_min_max("robot view", self, ("height_m", "tilt_deg", "focal_px", "cross_depth_m", "speed_mps"))


def check_min_max(what: str, config, fields: Sequence[str]) -> None:
    """Each of ``fields`` of ``config`` must be a finite ``(min, max)`` with 0 <= min <= max."""
    for name in fields:
        low, high = getattr(config, name)
        if not (np.isfinite(low) and np.isfinite(high) and 0.0 <= low <= high):
            raise HtpEdgeError(f"{what}: bad {name}. Expected (min, max) with 0 <= min <= max, got "
                               f"{getattr(config, name)}.")


def _robot_camera(cfg: RobotViewConfig, rng: np.random.Generator) -> Camera:
    """A camera at the world origin's floor point, ``height_m`` up, looking along +x, tilted down."""
    height = rng.uniform(*cfg.height_m)
    tilt = np.deg2rad(rng.uniform(*cfg.tilt_deg))
    focal = rng.uniform(*cfg.focal_px)
    eye = np.array([0.0, 0.0, height])
    rot, trans = look_at(eye, eye + np.array([np.cos(tilt), 0.0, -np.sin(tilt)]))
    return Camera(R=rot, t=trans, f=np.array([focal, focal]), c=np.array([cfg.width, cfg.height]) / 2.0,
                  k=np.array(cfg.radial), p=np.zeros(2), width=int(cfg.width), height=int(cfg.height))


def facing_yaw(positions: np.ndarray) -> float:
    """Mean facing direction (radians, world z) of a clip: up x (right hip - left hip)."""
    right = positions[:, _R_HIP, :2] - positions[:, _L_HIP, :2]  # (T, 2) horizontal
    facing = np.stack([-right[:, 1], right[:, 0]], axis=-1).mean(axis=0)  # z x r in the plane
    return float(np.arctan2(facing[1], facing[0]))


def place_on_path(positions: np.ndarray, yaw: float, path_xy: np.ndarray) -> np.ndarray:
    """Turn the clip about z by ``yaw``, take out its horizontal drift, stand it on ``path_xy`` (T, 2)."""
    c, s = np.cos(yaw), np.sin(yaw)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    turned = positions.astype(np.float64) @ rot.T  # (T, 17, 3)
    root_xy = turned[:, :1, :2]  # (T, 1, 2)
    out = turned.copy()
    out[..., :2] += path_xy[:, None, :] - root_xy
    out[..., 2] -= min(0.0, float(turned[..., 2].min()))  # feet on (not under) the floor
    return out


def frames_in_view(camera: Camera, world: np.ndarray, margin_px: float = 4.0) -> np.ndarray:
    """Per frame (T,): every joint in front of the camera and inside the image."""
    cam = camera.world_to_camera(world)  # (T, 17, 3)
    front = np.all(cam[..., 2] > 0.3, axis=-1)
    px = camera.f * camera.distort(cam[..., :2] / np.maximum(cam[..., 2:3], 0.3)) + camera.c
    inside = np.all((px >= margin_px) & (px <= np.array([camera.width, camera.height]) - margin_px), axis=(-1, -2))
    return front & inside


def _longest_run(flags: np.ndarray) -> tuple[int, int]:
    """``[first, last)`` of the longest run of True in ``flags`` (T,); (0, 0) when none."""
    best, start = (0, 0), None
    for i, flag in enumerate(list(flags) + [False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            best = max(best, (start, i), key=lambda r: r[1] - r[0])
            start = None
    return best


def _approach_path(cfg: RobotViewConfig, frames: int, fps: float, k: int, rng) -> tuple[np.ndarray, float]:
    """Root path (T, 2) toward the camera, and the yaw that faces the camera (-x)."""
    far, near = cfg.approach_m
    length = min(far - near, rng.uniform(*cfg.speed_mps) * frames / fps)
    spread = far - near - length
    end = near + spread * (k / max(cfg.cameras_per_clip - 1, 1))
    depth = np.linspace(end + length, end, frames)
    lateral = rng.uniform(-0.3, 0.3) + np.zeros(frames)
    return np.stack([depth, lateral], axis=-1), np.pi


def _cross_path(cfg: RobotViewConfig, frames: int, fps: float, k: int, rng, focal: float) -> tuple[np.ndarray, float]:
    """Root path (T, 2) across the view at a fixed depth, and the yaw that faces along it."""
    low, high = cfg.cross_depth_m
    depth = low + (high - low) * (k / max(cfg.cameras_per_clip - 1, 1))
    half_width = 0.5 * cfg.width / focal * depth - 0.6  # the body's half-extent stays in view
    length = min(2.0 * max(half_width, 0.1), rng.uniform(*cfg.speed_mps) * frames / fps)
    direction = 1.0 if k % 2 == 0 else -1.0
    lateral = direction * np.linspace(-length / 2.0, length / 2.0, frames)
    return np.stack([np.full(frames, depth), lateral], axis=-1), (np.pi / 2 if direction > 0 else -np.pi / 2)


def robot_view_sequence(clip: MotionClip, cfg: RobotViewConfig, k: int, seed: int = 0,
                        synth: SynthConfig | None = None) -> TestSequence | None:
    """Camera ``k`` of ``clip`` in ``cfg.scenario``; ``None`` when fewer than 2 frames stay in view."""
    rng = clip_rng(seed, f"{cfg.scenario}:{clip.name}", k + 1)
    camera = _robot_camera(cfg, rng)
    frames = clip.num_frames
    if cfg.scenario == "approach":
        path, heading = _approach_path(cfg, frames, clip.fps, k, rng)
    else:
        path, heading = _cross_path(cfg, frames, clip.fps, k, rng, float(camera.f[0]))
    yaw = heading - facing_yaw(clip.positions) + rng.uniform(-0.3, 0.3)
    world = place_on_path(clip.positions, yaw, path)
    first, last = _longest_run(frames_in_view(camera, world))
    if last - first < 2:
        return None
    world = world[first:last]
    s = synthesize(world, camera, rng, synth)
    return TestSequence(name=f"{cfg.scenario}/{clip.name}/cam{k}", source=clip.source, kp2d_px=s.kp2d_px,
                        confidence=s.confidence, width=camera.width, height=camera.height, pose3d=s.pose3d,
                        root_cam=s.root_cam, camera=camera)


def make_robot_views(clips: Sequence[MotionClip], cfg: RobotViewConfig | None = None, seed: int = 0,
                     split: str | None = "test", synth: SynthConfig | None = None) -> list[TestSequence]:
    """Deterministic sequences: every clip of ``split`` seen by ``cfg.cameras_per_clip`` robot cameras."""
    cfg = cfg or RobotViewConfig()
    out = []
    for clip in clips:
        if split is not None and clip.split != split:
            continue
        for k in range(int(cfg.cameras_per_clip)):
            seq = robot_view_sequence(clip, cfg, k, seed, synth)
            if seq is not None:
                out.append(seq)
    return out


def distance_band(depth_m: np.ndarray) -> np.ndarray:
    """Index into :data:`DISTANCE_BANDS_M` per depth (...), -1 outside every band."""
    depth = np.asarray(depth_m, dtype=np.float64)
    out = np.full(depth.shape, -1, dtype=np.int64)
    for i, (low, high) in enumerate(DISTANCE_BANDS_M):
        out[(depth >= low) & (depth < high)] = i
    return out


def band_name(index: int) -> str:
    low, high = DISTANCE_BANDS_M[index]
    return f"{low:g}-{high:g} m"
