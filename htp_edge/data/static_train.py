"""Static-camera training views: a fixed camera, and a person moving along a path through its view.

The default training camera is aimed at each chunk's mean root, so inside a window a person's
image size and position hardly change. A robot's (or a ceiling's) camera is fixed while people
walk or run toward, away from and across it. :func:`static_view` places a training chunk on a
straight path in front of such a camera:

- camera height from a robot's (0.8 m) to a ceiling's (3 m), tilted to look at the middle of the
  path at chest height; wide to normal lenses with mild barrel distortion;
- the path starts anywhere 1.5-8 m away inside the view (log-uniform in depth) and runs toward
  or away from the camera (half of them) or in any direction on the floor, at 0 (standing) to
  3 m/s (running); the body faces its direction of travel (with a random
  turn), or any direction when it stands;
- the camera's frame rate is drawn from 15-60 fps and the chunk is resampled in time
  (:func:`resample_time`), so a window spans 0.5x-2x the motion of a 30 fps window;
- every joint of every frame must be in the image; a draw that leaves the view is redrawn
  (``tries`` times), then given up (the sampler falls back to its aimed camera).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from htp_edge.data.camera import Camera, look_at
from htp_edge.data.static_views import check_min_max, facing_yaw, frames_in_view, place_on_path
from htp_edge.errors import HtpEdgeError

_CHEST_M = 1.0  # height the camera looks at on the path's middle


@dataclass(frozen=True)
class StaticCameraConfig:
    """Static-camera training views (a share ``prob`` of the chunks; 0 turns them off).

    Attributes:
        prob: chance a training chunk is seen by a static camera instead of the aimed one.
        height_m: camera height above the floor.
        distance_m: range of the path's depth in front of the camera (start and end).
        speed_mps: speed of the root along the path (0: standing in place).
        focal_px: focal length for the ``width`` x ``height`` image.
        radial_k1: first radial distortion coefficient (VideoPose3D convention; < 0 is barrel).
        fps: the camera's frame rate; the motion (at its own rate) is resampled to it.
        radial_share: share of paths heading toward or away from the camera (the rest: any
            direction); the start depth is log-uniform, so near starts are as common as far ones.
        tries: draws of a path before giving up on a chunk.
    """

    prob: float = 0.0
    height_m: tuple[float, float] = (0.8, 3.0)
    distance_m: tuple[float, float] = (1.5, 8.0)
    speed_mps: tuple[float, float] = (0.0, 3.0)
    focal_px: tuple[float, float] = (450.0, 1200.0)
    radial_k1: tuple[float, float] = (-0.08, 0.0)
    fps: tuple[float, float] = (15.0, 60.0)
    radial_share: float = 0.5
    width: int = 1000
    height: int = 1000
    tries: int = 8

    def __post_init__(self) -> None:
        for name in ("prob", "radial_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise HtpEdgeError(f"static cameras: bad {name}. Expected a probability in [0, 1], got "
                                   f"{getattr(self, name)}.")
        check_min_max("static cameras", self, ("height_m", "distance_m", "speed_mps", "focal_px", "fps"))
        if self.fps[0] <= 0 or self.distance_m[0] < 0.5 or self.tries < 1:
            raise HtpEdgeError(f"static cameras: bad settings. Expected fps > 0, distance >= 0.5 m and tries >= 1, "
                               f"got fps={self.fps}, distance_m={self.distance_m}, tries={self.tries}.")


def resample_time(positions: np.ndarray, frames: int) -> np.ndarray:
    """(T, J, 3) -> (frames, J, 3) by linear interpolation over the same time span."""
    t = np.linspace(0.0, positions.shape[0] - 1, frames)
    lo = np.floor(t).astype(int)
    hi = np.minimum(lo + 1, positions.shape[0] - 1)
    w = (t - lo)[:, None, None]  # (frames,) -> (frames, 1, 1)
    return (1.0 - w) * positions[lo] + w * positions[hi]


def source_frames(frames: int, camera_fps: float, source_fps: float) -> int:
    """Frames of ``source_fps`` motion that ``frames`` frames at ``camera_fps`` span."""
    return max(2, int(round((frames - 1) * source_fps / camera_fps)) + 1)


def _camera(cfg: StaticCameraConfig, rng: np.random.Generator, look_depth: float) -> Camera:
    height = rng.uniform(*cfg.height_m)
    focal = rng.uniform(*cfg.focal_px)
    eye = np.array([0.0, 0.0, height])
    rot, trans = look_at(eye, np.array([look_depth, 0.0, _CHEST_M]))
    return Camera(R=rot, t=trans, f=np.array([focal, focal]), c=np.array([cfg.width, cfg.height]) / 2.0,
                  k=np.array([rng.uniform(*cfg.radial_k1), 0.0, 0.0]), p=np.zeros(2),
                  width=int(cfg.width), height=int(cfg.height))


def _path(cfg: StaticCameraConfig, rng: np.random.Generator, frames: int, fps: float, focal: float):
    """A straight root path (frames, 2) on the floor (x: depth, y: lateral) and its heading."""
    near, far = cfg.distance_m
    start = np.array([np.exp(rng.uniform(np.log(near), np.log(far))), 0.0])  # log-uniform: as many near as far
    start[1] = rng.uniform(-1.0, 1.0) * 0.4 * cfg.width / focal * start[0]  # inside the view at that depth
    if rng.random() < cfg.radial_share:  # toward or away from the camera (give or take 20 degrees)
        toward = np.arctan2(-start[1], -start[0])
        heading = toward + (np.pi if rng.random() < 0.5 else 0.0) + rng.uniform(-0.35, 0.35)
    else:
        heading = rng.uniform(-np.pi, np.pi)
    length = rng.uniform(*cfg.speed_mps) * (frames - 1) / fps
    end = start + length * np.array([np.cos(heading), np.sin(heading)])
    if not near <= end[0] <= far:
        return None, heading
    return np.linspace(start, end, frames), heading


def static_view(positions: np.ndarray, rng: np.random.Generator, cfg: StaticCameraConfig, fps: float):
    """World positions (F, J, 3) of a chunk -> ``(camera, world)``: the chunk turned and moved
    along a path in front of a fixed camera, every joint of every frame in view; ``None`` when
    ``cfg.tries`` draws all left the view."""
    frames = positions.shape[0]
    facing = facing_yaw(positions)
    focal_guess = float(np.mean(cfg.focal_px))
    for _ in range(int(cfg.tries)):
        path, heading = _path(cfg, rng, frames, fps, focal_guess)
        if path is None:
            continue
        camera = _camera(cfg, rng, float(path[:, 0].mean()))
        moving = np.linalg.norm(path[-1] - path[0]) > 0.3
        yaw = (heading if moving else rng.uniform(-np.pi, np.pi)) - facing + rng.uniform(-0.5, 0.5)
        world = place_on_path(positions, yaw, path)
        if frames_in_view(camera, world).all():
            return camera, world
    return None
