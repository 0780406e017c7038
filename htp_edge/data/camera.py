"""Virtual pinhole cameras for synthesising 2D keypoints from world-space motion.

Camera frame: x right, y down, z forward (as in Human3.6M / VideoPose3D); world: Z-up metres.
Distortion follows VideoPose3D's ``project_to_2d`` on the normalised image plane u = (x/z, y/z):
``u * (1 + k1 r^2 + k2 r^4 + k3 r^6 + p1 u_x + p2 u_y) + [p1, p2] r^2`` with ``r^2 = |u|^2``
(VideoPose3D also clamps u to [-1, 1]; that is left out here).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from htp_edge.errors import HtpEdgeError
from htp_edge.pose.geometry import distort

H36M_FOCAL_PX = 1145.0


def _check_range(name: str, value: tuple[float, float], low: float, high: float, hint: str) -> None:
    ok = len(value) == 2 and all(np.isfinite(value)) and low <= value[0] <= value[1] <= high
    if not ok:
        raise HtpEdgeError(f"camera config: bad {name}. Expected (min, max) with {low} <= min <= max "
                           f"<= {high}, got {value}. {hint}")


@dataclass(frozen=True)
class CameraConfig:
    """Distribution of virtual cameras around a subject.

    Attributes:
        yaw_deg: azimuth range of the camera around the subject (degrees, world z axis).
        elevation_deg: camera height angle above the subject's root (degrees).
        distance_m: distance from the camera centre to the subject's mean root (metres).
        focal_px: focal length range (pixels); fx = fy.
        width, height: image size in pixels; the principal point is the image centre.
        radial: distortion k1, k2, k3 (VideoPose3D convention), default none.
        tangential: distortion p1, p2, default none.
        aim_offset_deg: largest pan and tilt (degrees; approximate, as they combine) of the
            viewing direction away from the subject, drawn uniformly per camera: the subject
            appears anywhere in the image, not only at its centre, as in real footage. (0, 0)
            aims at the subject.
        keep_in_view: when the camera is sampled for whole positions (T, 17, 3), move it back
            (distance x 1.1, at most 20 times) until every joint of every frame is in the image.
    """

    yaw_deg: tuple[float, float] = (-180.0, 180.0)
    elevation_deg: tuple[float, float] = (0.0, 25.0)
    distance_m: tuple[float, float] = (3.0, 6.0)
    focal_px: tuple[float, float] = (1100.0, 1200.0)
    width: int = 1000
    height: int = 1000
    radial: tuple[float, float, float] = (0.0, 0.0, 0.0)
    tangential: tuple[float, float] = (0.0, 0.0)
    aim_offset_deg: tuple[float, float] = (0.0, 0.0)
    keep_in_view: bool = True

    def __post_init__(self) -> None:
        _check_range("yaw_deg", self.yaw_deg, -360.0, 360.0, "Use degrees.")
        _check_range("elevation_deg", self.elevation_deg, -89.0, 89.0, "Keep the camera off the vertical.")
        _check_range("distance_m", self.distance_m, 0.5, 100.0, "Use metres, e.g. (3, 6).")
        _check_range("focal_px", self.focal_px, 1.0, 1e5, f"Use pixels, e.g. around {H36M_FOCAL_PX}.")
        if not (int(self.width) > 0 and int(self.height) > 0):
            raise HtpEdgeError(f"camera config: bad image size. Expected positive width and height, got "
                               f"{self.width}x{self.height}. Use e.g. 1000x1000.")
        if len(self.aim_offset_deg) != 2 or not all(0.0 <= a < 60.0 for a in self.aim_offset_deg):
            raise HtpEdgeError(f"camera config: bad aim_offset_deg. Expected (pan, tilt) in [0, 60) degrees, got "
                               f"{self.aim_offset_deg}. Use e.g. (15, 15), or (0, 0) to aim at the subject.")
        if len(self.radial) != 3 or len(self.tangential) != 2:
            raise HtpEdgeError(f"camera config: bad distortion. Expected 3 radial and 2 tangential "
                               f"coefficients, got {len(self.radial)} and {len(self.tangential)}. "
                               f"Pass k=(k1, k2, k3), p=(p1, p2).")


@dataclass(frozen=True, eq=False)
class Camera:
    """A calibrated camera: ``x_cam = R @ x_world + t``, then pinhole + distortion to pixels.

    Attributes:
        R: (3, 3) world->camera rotation. t: (3,) translation (metres).
        f: (2,) focal lengths px. c: (2,) principal point px.
        k: (3,) radial distortion. p: (2,) tangential distortion.
        width, height: image size px.
    """

    R: np.ndarray
    t: np.ndarray
    f: np.ndarray
    c: np.ndarray
    k: np.ndarray
    p: np.ndarray
    width: int
    height: int

    def __post_init__(self) -> None:
        for name, shape in (("R", (3, 3)), ("t", (3,)), ("f", (2,)), ("c", (2,)), ("k", (3,)), ("p", (2,))):
            value = np.array(getattr(self, name), dtype=np.float64)
            if value.shape != shape or not np.all(np.isfinite(value)):
                raise HtpEdgeError(f"camera: bad {name}. Expected finite shape {shape}, got {value.shape}. "
                                   f"Check the camera parameters.")
            value.setflags(write=False)
            object.__setattr__(self, name, value)
        if not np.allclose(self.R @ self.R.T, np.eye(3), atol=1e-6) or np.linalg.det(self.R) < 0:
            raise HtpEdgeError("camera: R is not a rotation. Expected an orthonormal matrix with det +1, "
                               f"got det {np.linalg.det(self.R):.4f}. Pass world->camera rotation.")
        if np.any(self.f <= 0) or int(self.width) <= 0 or int(self.height) <= 0:
            raise HtpEdgeError(f"camera: bad intrinsics. Expected positive focal lengths and image size, "
                               f"got f={self.f}, size={self.width}x{self.height}. Use pixels.")

    @property
    def centre_world(self) -> np.ndarray:
        """Camera centre (3,) in world coordinates."""
        return -self.R.T @ self.t

    def world_to_camera(self, points_world: np.ndarray) -> np.ndarray:
        """World points (..., 3) -> camera frame (..., 3)."""
        return np.asarray(points_world, dtype=np.float64) @ self.R.T + self.t

    def camera_to_world(self, points_cam: np.ndarray) -> np.ndarray:
        """Camera-frame points (..., 3) -> world (..., 3)."""
        return (np.asarray(points_cam, dtype=np.float64) - self.t) @ self.R

    def distort(self, xy: np.ndarray) -> np.ndarray:
        """Normalised image-plane points (..., 2) -> distorted normalised points (..., 2)."""
        return distort(xy, self.k, self.p)

    def undistort(self, xy_distorted: np.ndarray, iterations: int = 30) -> np.ndarray:
        """Invert :meth:`distort` by fixed-point iteration (exact when there is no distortion)."""
        xy = np.array(xy_distorted, dtype=np.float64)
        if not (np.any(self.k) or np.any(self.p)):
            return xy
        for _ in range(iterations):
            xy = xy + (xy_distorted - self.distort(xy))
        return xy

    def project(self, points_cam: np.ndarray) -> np.ndarray:
        """Camera-frame points (..., 3) with z > 0 -> pixels (..., 2)."""
        pts = np.asarray(points_cam, dtype=np.float64)
        z = pts[..., 2:3]
        if np.any(z <= 1e-6):
            raise HtpEdgeError(f"camera projection: points behind or on the camera. Expected depth z > 0, "
                               f"got min z {float(z.min()):.3f} m. Move the camera away from the subject.")
        return self.f * self.distort(pts[..., :2] / z) + self.c

    def back_project(self, px: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Pixels (..., 2) and camera-frame depth z (...) -> camera-frame points (..., 3)."""
        xy = self.undistort((np.asarray(px, dtype=np.float64) - self.c) / self.f)
        z = np.asarray(depth, dtype=np.float64)[..., None]  # (...) -> (..., 1)
        return np.concatenate([xy * z, z], axis=-1)


def look_at(eye: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World->camera ``(R, t)`` for a camera at ``eye`` looking at ``target``, world z up."""
    forward = target - eye
    forward = forward / np.linalg.norm(forward)
    right = np.cross(forward, np.array([0.0, 0.0, 1.0]))
    if np.linalg.norm(right) < 1e-9:
        raise HtpEdgeError("camera: looking straight up or down. Expected an elevation within +-89 deg, got "
                           "a vertical view. Narrow the elevation range.")
    right = right / np.linalg.norm(right)
    down = np.cross(forward, right)
    rot = np.stack([right, down, forward])  # rows: camera x, y, z axes in world coordinates
    return rot, -rot @ eye


def subject_target(target_world: np.ndarray) -> np.ndarray:
    """A look-at point (3,): itself for a (3,) point, the mean root for positions (T, 17, 3)."""
    target = np.asarray(target_world, dtype=np.float64)
    if target.shape == (3,):
        return target
    if target.ndim == 3 and target.shape[-1] == 3:
        return target[:, 0].mean(axis=0)
    raise HtpEdgeError(f"camera target: bad shape. Expected a point (3,) or positions (T, J, 3), got "
                       f"{target.shape}. Pass the subject's world positions.")


def sample_camera(rng: np.random.Generator, config: CameraConfig, target_world: np.ndarray,
                  yaw_deg: float | None = None) -> Camera:
    """A random camera from ``config`` looking at the subject's mean root (turned away from it by
    up to ``config.aim_offset_deg``).

    ``target_world`` is a point (3,) or world positions (T, 17, 3); ``yaw_deg`` fixes the
    azimuth instead of sampling it. With positions and ``config.keep_in_view`` the camera
    backs off along its viewing ray until all joints project inside the image.
    """
    target = subject_target(target_world)
    yaw = np.deg2rad(rng.uniform(*config.yaw_deg) if yaw_deg is None else yaw_deg)
    elevation = np.deg2rad(rng.uniform(*config.elevation_deg))
    distance = rng.uniform(*config.distance_m)
    focal = rng.uniform(*config.focal_px)
    direction = np.array([np.cos(elevation) * np.cos(yaw), np.cos(elevation) * np.sin(yaw), np.sin(elevation)])
    pan, tilt = (np.tan(np.deg2rad(rng.uniform(-a, a))) if a > 0 else 0.0 for a in config.aim_offset_deg)
    right, down = look_at(target + direction, target)[0][:2]  # the plane across the viewing ray
    points = np.asarray(target_world, dtype=np.float64) if config.keep_in_view else None
    for _ in range(21):
        aim = target + distance * (pan * right + tilt * down)  # turns the view by (pan, tilt)
        camera = _camera_at(config, target + distance * direction, aim, focal)
        if points is None or points.ndim != 3 or _in_view(camera, points):
            break
        distance *= 1.1
    return camera


def _camera_at(config: CameraConfig, eye: np.ndarray, target: np.ndarray, focal: float) -> Camera:
    rot, trans = look_at(eye, target)
    return Camera(R=rot, t=trans, f=np.array([focal, focal]), c=np.array([config.width, config.height]) / 2.0,
                  k=np.array(config.radial), p=np.array(config.tangential),
                  width=int(config.width), height=int(config.height))


def _in_view(camera: Camera, points_world: np.ndarray) -> bool:
    """Whether all points (..., 3) are in front of the camera and project inside the image."""
    cam = camera.world_to_camera(points_world)
    if np.any(cam[..., 2] <= 0.1):
        return False
    px = camera.project(cam)
    return bool(np.all(px >= 0) and np.all(px[..., 0] <= camera.width) and np.all(px[..., 1] <= camera.height))
