"""One person's stream state: the frame validator and a bounded ring buffer of 2D keypoints.

Shared by :class:`~htp_edge.runtime.streaming.StreamingLifter` (one person) and
:class:`~htp_edge.runtime.multistream.MultiStreamLifter` (several, batched), so both lift a
window the same way.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from htp_edge.errors import HtpEdgeError
from htp_edge.pose.inputs import check_pixels, numeric_array, to_h36m
from htp_edge.pose.layouts import get_layout
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
        get_layout(self.format)  # an unknown format is refused here, not at the first frame
        if isinstance(self.hop, bool) or not isinstance(self.hop, int) or self.hop < 1:
            raise HtpEdgeError(f"stream: hop must be an integer >= 1, got {self.hop!r}.")
        if self.window is not None and (isinstance(self.window, bool) or not isinstance(self.window, int)
                                        or self.window < 1):
            raise HtpEdgeError(f"stream: window must be an integer >= 1, got {self.window!r}.")

    def output_index(self, window: int) -> int:
        """Which frame of the lifted window is returned: the newest (causal) or the middle."""
        return window - 1 if self.mode == "causal" else window // 2


def is_causal(lifter) -> bool:
    """Whether the lifter's graph is causal (metadata ``causal``): output frame t sees frames <= t only."""
    meta = getattr(getattr(lifter, "graphs", None), "meta", None)
    return bool(getattr(meta, "causal", False))


def check_mode(config: StreamConfig, lifter, what: str = "stream") -> None:
    """Refuse ``centred`` on a causal graph: its middle frame is predicted from the half window before
    it only, so centred would add half a window of latency for a worse pose than the newest frame's."""
    if config.mode == "centred" and is_causal(lifter):
        raise HtpEdgeError(f"{what}: mode 'centred' on a causal model. Expected mode 'causal' (the default: the "
                           f"newest frame, which a causal model predicts with the whole window), got 'centred'. "
                           f"For centred output use a non-causal model, e.g. htp-small.")


def parse_frame(frame_px, fmt: str, what: str = "stream frame") -> tuple[np.ndarray, np.ndarray]:
    """Validate one (K, 2|3) frame in layout ``fmt`` (K = 17 for h36m/coco) completely (before it
    can touch a buffer): H36M-ordered xy float32 (17, 2) and confidence (17,), NaN joints marked
    missing (confidence 0)."""
    k = get_layout(fmt).num_joints
    arr = numeric_array(frame_px, what, f"({k}, 2) or ({k}, 3)")
    if arr.shape not in ((k, 2), (k, 3)):
        raise HtpEdgeError(f"{what}: wrong shape. Expected ({k}, 2) or ({k}, 3) for format {fmt}, "
                           f"got {tuple(arr.shape)}.")
    arr = check_pixels(arr, what, allow_nan=True)  # NaN marks a missing joint
    conf = arr[:, 2] if arr.shape[1] == 3 else np.ones(k, np.float32)
    conf = np.where(np.isnan(arr[:, :2]).any(-1) | np.isnan(conf), 0.0, conf).astype(np.float32)
    xy, conf = to_h36m(arr[None, :, :2], conf[None], fmt)
    return xy[0], conf[0]


class TrackBuffer:
    """The last ``window`` frames of one person (bounded memory) and when its output is due."""

    def __init__(self, window: int, hop: int) -> None:
        self.window, self.hop = window, hop
        self.xy: deque = deque(maxlen=window)
        self.conf: deque = deque(maxlen=window)
        self.since_run = 0
        self.frames = 0
        self.missed = 0          # consecutive frames this track was absent
        self.last_pose: np.ndarray | None = None

    def append(self, xy: np.ndarray, conf: np.ndarray) -> None:
        self.xy.append(xy)
        self.conf.append(conf)
        self.frames += 1
        self.since_run += 1
        self.missed = 0

    @property
    def due(self) -> bool:
        """Full window, and a hop has passed since the last output (or none was given yet)."""
        return len(self.xy) >= self.window and (self.last_pose is None or self.since_run >= self.hop)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.stack(self.xy), np.stack(self.conf)  # (W, 17, 2), (W, 17)

    @property
    def seen(self) -> bool:
        """Whether any joint of the window was observed."""
        return any((c > 0).any() for c in self.conf)

    def unseen_pose(self) -> np.ndarray:
        """The output while no joint of the window was observed: the last pose, else the zero pose."""
        return self.last_pose if self.last_pose is not None else np.zeros((NUM_JOINTS, 3), np.float32)

    def clear(self) -> None:
        self.xy.clear()
        self.conf.clear()
        self.since_run = 0
        self.last_pose = None
