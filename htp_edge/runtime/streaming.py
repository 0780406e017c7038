"""Frame-by-frame lifting for robots: push one frame of 2D keypoints, get the newest 3D pose.

A ring buffer holds the last ``window`` frames (bounded memory). Every ``hop`` pushes, once
the window is full, the buffer is lifted as one clip and the output frame's pose is returned:
``causal`` returns the newest frame (no added latency), ``centred`` the middle frame (half a
window of latency, lower error). Missing joints (confidence <= 0 or NaN) are filled inside the
window — interpolated between observations, held at the ends — and never propagate NaN.
``push`` is safe to call from a producer thread while another thread reads the results.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from htp_edge.errors import HtpEdgeError
from htp_edge.pose.geometry import Intrinsics
from htp_edge.pose.inputs import check_pixels, fill_missing, numeric_array, to_h36m
from htp_edge.pose.normalize import normalize_screen
from htp_edge.pose.skeleton import NUM_JOINTS

MODES = ("causal", "centred")


@dataclass(frozen=True)
class StreamConfig:
    window: int | None = None   # default: the model's receptive field F
    hop: int = 1
    mode: str = "causal"
    format: str = "h36m"
    latency_history: int = 1000

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise HtpEdgeError(f"stream: unknown mode. Expected one of {', '.join(MODES)}, got {self.mode!r}.")
        if self.hop < 1:
            raise HtpEdgeError(f"stream: hop must be >= 1, got {self.hop}.")
        if self.window is not None and self.window < 1:
            raise HtpEdgeError(f"stream: window must be >= 1, got {self.window}.")


class StreamingLifter:
    """Wraps a :class:`htp_edge.runtime.lifter.Lifter` for one stream of frames."""

    def __init__(self, lifter, width: float, height: float, window: int | None = None, hop: int = 1,
                 mode: str = "causal", format: str = "h36m", intrinsics: Intrinsics | None = None) -> None:
        self.config = StreamConfig(window=window, hop=hop, mode=mode, format=format)
        self.lifter, self.width, self.height = lifter, float(width), float(height)
        normalize_screen(np.zeros(2), width, height)  # validates the size
        self.window = self.config.window or lifter.frames
        self.intrinsics = intrinsics or Intrinsics.default(width, height)
        self._xy: deque = deque(maxlen=self.window)
        self._conf: deque = deque(maxlen=self.window)
        self._lock = threading.Lock()
        self._since_run = 0
        self.frames_pushed = 0
        self.last_pose: np.ndarray | None = None
        self.last_latency_ms: float | None = None
        self.latencies_ms: deque = deque(maxlen=self.config.latency_history)

    def _parse(self, frame_px) -> tuple[np.ndarray, np.ndarray]:
        """Validate one frame completely before it can touch the buffer."""
        arr = numeric_array(frame_px, "stream frame", "(17, 2) or (17, 3)")
        if arr.shape not in ((NUM_JOINTS, 2), (NUM_JOINTS, 3)):
            raise HtpEdgeError(f"stream frame: wrong shape. Expected (17, 2) or (17, 3), got {tuple(arr.shape)}.")
        arr = check_pixels(arr, "stream frame", allow_nan=True)  # NaN marks a missing joint
        conf = arr[:, 2] if arr.shape[1] == 3 else np.ones(NUM_JOINTS, np.float32)
        conf = np.where(np.isnan(arr[:, :2]).any(-1) | np.isnan(conf), 0.0, conf).astype(np.float32)
        xy, conf = to_h36m(arr[None, :, :2], conf[None], self.config.format)
        return xy[0], conf[0]

    def push(self, frame_px) -> np.ndarray | None:
        """Add one frame; returns the output frame's (17, 3) pose, or None while filling / between hops."""
        xy, conf = self._parse(frame_px)
        with self._lock:
            t0 = time.perf_counter()
            self._xy.append(xy)
            self._conf.append(conf)
            self.frames_pushed += 1
            self._since_run += 1
            if len(self._xy) < self.window or (self.last_pose is not None and self._since_run < self.config.hop):
                return None
            self._since_run = 0
            pose = self._run()
            self.last_latency_ms = (time.perf_counter() - t0) * 1e3
            self.latencies_ms.append(self.last_latency_ms)
            self.last_pose = pose
            return pose

    def _run(self) -> np.ndarray:
        xy = np.stack(self._xy)  # (W, 17, 2)
        conf = np.stack(self._conf)  # (W, 17)
        if not (conf > 0).any():
            return np.zeros((NUM_JOINTS, 3), np.float32) if self.last_pose is None else self.last_pose
        xy = fill_missing(xy, conf)
        poses = self.lifter.lift(xy, self.width, self.height, intrinsics=self.intrinsics)  # (W, 17, 3)
        index = -1 if self.config.mode == "causal" else self.window // 2
        return poses[index]

    @property
    def output_delay_frames(self) -> int:
        """How many frames the returned pose lags the newest pushed frame."""
        return 0 if self.config.mode == "causal" else self.window - 1 - self.window // 2

    def reset(self) -> None:
        with self._lock:
            self._xy.clear()
            self._conf.clear()
            self._since_run = 0
            self.last_pose = None
