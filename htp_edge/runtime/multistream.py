"""Several people at once: one ring buffer per track, every due track lifted in one batch.

``push({track_id: (17, 2|3) px, ...})`` validates every frame first (a bad frame touches no
buffer), appends each to its track, and lifts all tracks whose output is due together: their
windows become one batch of clips for the graph's static clip batch (``clips_per_call``; export
or load the model with ``clips_per_call >= max_tracks`` for one engine call per hop). A track's
noise comes from the seed and its clip index only, so a track gets exactly the poses a
:class:`~htp_edge.runtime.streaming.StreamingLifter` of that track alone would give.

Lifecycle: a new id opens a track; an id absent for ``track_timeout`` consecutive pushes is
dropped (its memory freed); more than ``max_tracks`` live ids is an error, or with
``on_overflow="drop-oldest"`` the least recently seen track makes room. Memory is bounded by
``max_tracks x window`` frames. ``push`` is safe from a producer thread while another reads.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Mapping

import numpy as np

from htp_edge.errors import HtpEdgeError
from htp_edge.pose.geometry import Intrinsics
from htp_edge.pose.normalize import normalize_screen
from htp_edge.runtime.tracks import StreamConfig, TrackBuffer, check_mode, parse_frame

OVERFLOW = ("error", "drop-oldest")


class MultiStreamLifter:
    """Wraps a :class:`htp_edge.runtime.lifter.Lifter` for several people in one stream."""

    def __init__(self, lifter, width: float, height: float, max_tracks: int = 8, window: int | None = None,
                 hop: int = 1, mode: str = "causal", format: str = "h36m", track_timeout: int = 30,
                 on_overflow: str = "error", intrinsics: Intrinsics | None = None, small=None) -> None:
        self.config = StreamConfig(window=window, hop=hop, mode=mode, format=format)
        check_mode(self.config, lifter, "multi-stream")
        for name, value in (("max_tracks", max_tracks), ("track_timeout", track_timeout)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise HtpEdgeError(f"multi-stream: {name} must be an integer >= 1, got {value!r}.")
        if on_overflow not in OVERFLOW:
            raise HtpEdgeError(f"multi-stream: unknown on_overflow. Expected one of {', '.join(OVERFLOW)}, "
                               f"got {on_overflow!r}.")
        normalize_screen(np.zeros(2), width, height)  # validates the size
        self.lifter, self.width, self.height = lifter, float(width), float(height)
        if small is not None and (small.frames != lifter.frames or
                                  small.config.clips_per_call >= lifter.config.clips_per_call):
            raise HtpEdgeError("multi-stream: small must be the same model with a smaller clip batch (e.g. the "
                               "one-clip graph beside the batched one).")
        self.small = small
        self._call_ms: dict[int, float] = {}  # running ms per engine call, per lifter (once measured)
        self.max_tracks, self.track_timeout, self.on_overflow = max_tracks, track_timeout, on_overflow
        self.window = self.config.window or lifter.frames
        self.intrinsics = intrinsics or Intrinsics.default(width, height)
        self.tracks: dict[int, TrackBuffer] = {}
        self._last_seen: dict[int, int] = {}
        self._lock = threading.Lock()
        self.pushes = 0
        self.dropped: list[int] = []
        self.last_latency_ms: float | None = None
        self.latencies_ms: deque = deque(maxlen=self.config.latency_history)
        self.last_batch = 0  # tracks lifted together by the last push
        self.last_lifter = lifter

    @property
    def calls_per_hop(self) -> int:
        """Engine calls a hop with ``max_tracks`` due tracks takes (1 when the graph's clip batch fits)."""
        return -(-self.max_tracks // self.lifter.config.clips_per_call)

    def push(self, frames: Mapping[int, object]) -> dict[int, np.ndarray]:
        """Add one frame per visible person; returns ``{track_id: (17, 3)}`` for tracks whose output is due."""
        if not isinstance(frames, Mapping):
            raise HtpEdgeError(f"multi-stream: push takes a mapping {{track_id: (17, 2|3) keypoints}}, "
                               f"got {type(frames).__name__}.")
        parsed = {}
        for tid, frame in frames.items():
            if isinstance(tid, bool) or not isinstance(tid, (int, np.integer)):
                raise HtpEdgeError(f"multi-stream: track ids must be integers, got {tid!r}.")
            parsed[int(tid)] = parse_frame(frame, self.config.format, what=f"track {tid} frame")
        with self._lock:
            t0 = time.perf_counter()
            self._admit(parsed)
            self.pushes += 1
            for tid, (xy, conf) in parsed.items():
                self.tracks[tid].append(xy, conf)
                self._last_seen[tid] = self.pushes
            self._expire(parsed)
            due = [tid for tid in parsed if self.tracks[tid].due]
            out = self._run(due) if due else {}
            if due:
                self.last_latency_ms = (time.perf_counter() - t0) * 1e3
                self.latencies_ms.append(self.last_latency_ms)
            return out

    def _admit(self, parsed: dict) -> None:
        new = [tid for tid in parsed if tid not in self.tracks]
        live = len(self.tracks) + len(new)
        if live > self.max_tracks:
            if self.on_overflow == "error":
                raise HtpEdgeError(f"multi-stream: {live} live tracks. Expected at most max_tracks={self.max_tracks} "
                                   f"(raise it, lower track_timeout, or use on_overflow='drop-oldest').")
            absent = sorted((t for t in self.tracks if t not in parsed), key=lambda t: self._last_seen[t])
            if len(absent) < live - self.max_tracks:
                raise HtpEdgeError(f"multi-stream: {len(parsed)} people in one frame. Expected at most "
                                   f"max_tracks={self.max_tracks}.")
            for tid in absent[: live - self.max_tracks]:
                self._drop(tid)
        for tid in new:
            self.tracks[tid] = TrackBuffer(self.window, self.config.hop)

    def _expire(self, parsed: dict) -> None:
        for tid in [t for t in self.tracks if t not in parsed]:
            self.tracks[tid].missed += 1
            if self.tracks[tid].missed >= self.track_timeout:
                self._drop(tid)

    def _drop(self, tid: int) -> None:
        del self.tracks[tid]
        self._last_seen.pop(tid, None)
        self.dropped.append(tid)

    def _run(self, due: list[int]) -> dict[int, np.ndarray]:
        out, lift_ids = {}, []
        for tid in due:
            track = self.tracks[tid]
            track.since_run = 0
            if track.seen:
                lift_ids.append(tid)
            else:
                out[tid] = track.last_pose = track.unseen_pose()
        if lift_ids:
            windows = [self.tracks[tid].arrays() for tid in lift_ids]
            lifter = self._pick(len(lift_ids))
            t0 = time.perf_counter()
            poses = lifter.lift_windows(windows, self.width, self.height, self.intrinsics)  # [(W, 17, 3)]
            calls = -(-len(lift_ids) // lifter.config.clips_per_call)
            ms = (time.perf_counter() - t0) * 1e3 / calls
            known = self._call_ms.get(id(lifter))
            self._call_ms[id(lifter)] = ms if known is None else 0.8 * known + 0.2 * ms
            self.last_lifter = lifter
            index = self.config.output_index(self.window)
            for tid, p in zip(lift_ids, poses):
                self.tracks[tid].last_pose = p[index]
                out[tid] = p[index]
        self.last_batch = len(lift_ids)
        return out

    def _pick(self, n: int):
        """The lifter with the shorter expected hop for ``n`` windows (calls x measured ms per call);
        results are the same either way (per-clip noise), only the time differs."""
        if self.small is None:
            return self.lifter
        per_clip = [self._call_ms[id(x)] / x.config.clips_per_call for x in (self.lifter, self.small)
                    if id(x) in self._call_ms]
        guess = min(per_clip) if per_clip else 1.0  # unmeasured: cost proportional to the clip batch

        def hop_ms(x):
            call = self._call_ms.get(id(x), guess * x.config.clips_per_call)
            return -(-n // x.config.clips_per_call) * call
        return min((self.lifter, self.small), key=hop_ms)

    def reset(self) -> None:
        with self._lock:
            self.tracks.clear()
            self._last_seen.clear()


def open_batched(source, backend: str | None = None, max_tracks: int = 8, **lifter_options):
    """``(lifter, small)`` for several people: a bundled checkpoint on ONNX Runtime gets its shipped
    ``max_tracks``-clip graph (every due person in one engine call) with the one-clip graph as
    ``small``; anything else is opened as it is, with ``small=None``. ``lifter_options`` go to
    :meth:`Lifter.load` (e.g. ``reframe=True``)."""
    from htp_edge.artifacts.naming import BUNDLED, ENGINE_SUFFIXES, GraphLayout, bundled_onnx
    from htp_edge.runtime.lifter import Lifter
    backend = backend or ("tensorrt" if str(source).endswith(ENGINE_SUFFIXES) else "onnxruntime")
    if (str(source) in BUNDLED and backend == "onnxruntime" and max_tracks > 1
            and bundled_onnx(str(source), GraphLayout(clips=max_tracks)).is_file()):
        return (Lifter.load(source, backend=backend, clips_per_call=max_tracks, **lifter_options),
                Lifter.load(source, backend=backend, **lifter_options))
    return Lifter.load(source, backend=backend, **lifter_options), None
