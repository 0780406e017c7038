"""Frame-by-frame lifting for robots: push one frame of 2D keypoints, get the newest 3D pose.

A ring buffer holds the last ``window`` frames (bounded memory). Every ``hop`` pushes, once
the window is full, the buffer is lifted as one clip and the output frame's pose is returned:
``causal`` returns the newest frame (no added latency), ``centred`` the middle frame (half a
window of latency, lower error with a non-causal model). A causal model (graph metadata
``causal``, e.g. ``htp-small-causal``) streams in ``causal`` mode, the default; ``centred`` on it
is refused (:func:`~htp_edge.runtime.tracks.check_mode`). Missing joints (confidence <= 0 or NaN) are filled inside the
window — interpolated between observations, held at the ends — and never propagate NaN.
``push`` is safe to call from a producer thread while another thread reads the results.
Several people: :class:`~htp_edge.runtime.multistream.MultiStreamLifter` (one batched call).
"""
from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

from htp_edge.pose.geometry import Intrinsics
from htp_edge.pose.normalize import normalize_screen
from htp_edge.runtime.tracks import MODES, StreamConfig, TrackBuffer, check_mode, is_causal, parse_frame

__all__ = ["MODES", "StreamConfig", "StreamingLifter"]


class StreamingLifter:
    """Wraps a :class:`htp_edge.runtime.lifter.Lifter` for one stream of frames."""

    def __init__(self, lifter, width: float, height: float, window: int | None = None, hop: int = 1,
                 mode: str = "causal", format: str = "h36m", intrinsics: Intrinsics | None = None) -> None:
        self.config = StreamConfig(window=window, hop=hop, mode=mode, format=format)
        check_mode(self.config, lifter)
        self.lifter, self.width, self.height = lifter, float(width), float(height)
        normalize_screen(np.zeros(2), width, height)  # validates the size
        self.window = self.config.window or lifter.frames
        self.intrinsics = intrinsics or Intrinsics.default(width, height)
        self._track = TrackBuffer(self.window, self.config.hop)
        self._lock = threading.Lock()
        self.last_latency_ms: float | None = None
        self.latencies_ms: deque = deque(maxlen=self.config.latency_history)

    @property
    def causal(self) -> bool:
        """Whether the model is causal (its newest frame never waits for later frames)."""
        return is_causal(self.lifter)

    @property
    def frames_pushed(self) -> int:
        return self._track.frames

    @property
    def last_pose(self) -> np.ndarray | None:
        return self._track.last_pose

    def push(self, frame_px) -> np.ndarray | None:
        """Add one frame; returns the output frame's (17, 3) pose, or None while filling / between hops."""
        xy, conf = parse_frame(frame_px, self.config.format)
        with self._lock:
            t0 = time.perf_counter()
            track = self._track
            track.append(xy, conf)
            if not track.due:
                return None
            track.since_run = 0
            pose = self._run()
            self.last_latency_ms = (time.perf_counter() - t0) * 1e3
            self.latencies_ms.append(self.last_latency_ms)
            track.last_pose = pose
            return pose

    def _run(self) -> np.ndarray:
        track = self._track
        if not track.seen:
            return track.unseen_pose()
        poses = self.lifter.lift_windows([track.arrays()], self.width, self.height, self.intrinsics)[0]  # (W, 17, 3)
        return poses[self.config.output_index(self.window)]

    @property
    def output_delay_frames(self) -> int:
        """How many frames the returned pose lags the newest pushed frame."""
        return self.window - 1 - self.config.output_index(self.window)

    def reset(self) -> None:
        with self._lock:
            self._track.clear()
