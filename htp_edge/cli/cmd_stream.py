"""`htp-edge stream`: lift a live or recorded stream of several people's 2D keypoints."""
from __future__ import annotations

import contextlib
import sys

from htp_edge.cli import args as argtypes

HELP = "lift a stream of several people's 2D keypoints (.npy, JSON lines, stdin, udp://) to .jsonl or .mcap"


def add_arguments(p) -> None:
    from htp_edge.io.detectors import READERS
    from htp_edge.pose.layouts import FORMATS
    from htp_edge.runtime.backends import backend_names
    p.add_argument("input", help=".npy/.npz (one person), a .jsonl file, - (stdin), udp://HOST:PORT, or a detector's "
                                 "output (AlphaPose/MMPose .json, OpenPose folder); JSON lines are {\"t\": s, "
                                 "\"people\": [{\"id\": int, \"keypoints\": [[x, y, conf], ...]}]}")
    p.add_argument("--out", required=True, help="output .jsonl (one line per input frame) or .mcap (ROS 2 messages)")
    p.add_argument("--checkpoint", default=None, help="bundled name, .pt/.bin, .onnx or .engine (default htp-small)")
    p.add_argument("--backend", default=None, choices=backend_names())
    p.add_argument("--width", type=argtypes.positive_float, default=1000.0, help="image width in pixels")
    p.add_argument("--height", type=argtypes.positive_float, default=1000.0, help="image height in pixels")
    p.add_argument("--format", default=None, choices=FORMATS,
                   help="keypoint layout of the input (default h36m; for a detector's file guessed from its joint "
                        "count: 17 coco, 26 halpe26, 25 body25, 133 wholebody133)")
    p.add_argument("--reader", default=None, choices=READERS,
                   help="read INPUT as this detector's output (default: told from the file's content)")
    p.add_argument("--mode", default="causal", choices=["causal", "centred"])
    p.add_argument("--focal", type=argtypes.positive_float, default=None,
                   help="the camera's focal length in pixels (default H36M-like: 1.145 x the larger image side)")
    p.add_argument("--reframe", action="store_true",
                   help="lift each clip as a virtual camera aimed at the person sees it (fixed cameras: robots, "
                        "surveillance; give the real focal length with --focal)")
    p.add_argument("--hop", type=argtypes.positive_int, default=1)
    p.add_argument("--max-tracks", type=argtypes.positive_int, default=8)
    p.add_argument("--track-timeout", type=argtypes.positive_int, default=30,
                   help="frames before an absent id is dropped")
    p.add_argument("--fps", type=argtypes.positive_float, default=30.0,
                   help="frame rate of a .npy input or a detector's file")
    p.add_argument("--idle-timeout", type=argtypes.positive_float, default=None,
                   help="udp://: stop after this many seconds without a datagram (default: until Ctrl-C)")
    p.add_argument("--frame-id", default="camera", help="ROS frame id of the .mcap messages")
    p.add_argument("--skip-bad", action="store_true", help="skip bad input lines (counted) instead of stopping")
    p.add_argument("--plot", default=None, help="a .gif of the last 300 frames: 2D input beside the 3D skeletons, "
                                                "one colour per person")


class _Progress:
    """A live status line on a terminal (stderr), at most twice a second."""

    def __init__(self, enabled: bool) -> None:
        import time
        self.enabled, self._clock, self._last = enabled, time.perf_counter, 0.0

    def show(self, frames_in: int, poses_out: int, started: float, lat) -> None:
        now = self._clock()
        if not self.enabled or now - self._last < 0.5:
            return
        self._last = now
        rate = poses_out / max(now - started, 1e-9)
        p99 = f"{sorted(lat)[int(0.99 * (len(lat) - 1))]:.1f}" if lat else "-"
        print(f"\rstream: {frames_in} frames in, {poses_out} poses out, {rate:.0f} poses/s, p99 {p99} ms   ",
              end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.enabled:
            print(file=sys.stderr)


PLOT_FRAMES = 300


def _plot(recent, path, args) -> None:
    """Animate the buffered frames: one (T, 17, 2|3) track per id, NaN where absent or not yet lifted."""
    import numpy as np

    from htp_edge.pose.inputs import to_h36m
    from htp_edge.pose.layouts import get_layout
    from htp_edge.viz import animate
    ids = sorted({tid for people, _ in recent for tid in people})
    kp = {tid: np.full((len(recent), 17, 2), np.nan) for tid in ids}
    p3 = {tid: np.full((len(recent), 17, 3), np.nan) for tid in ids}
    joints = get_layout(args.format).num_joints
    for f, (people, poses) in enumerate(recent):
        for tid, xy in people.items():
            if xy.shape == (joints, 2):
                kp[tid][f] = to_h36m(xy[None], np.ones((1, joints), np.float32), args.format)[0][0]
        for tid, pose in poses.items():
            p3[tid][f] = pose
    keep = [tid for tid in ids if np.isfinite(p3[tid]).any()]
    if keep:
        animate({t: p3[t] for t in keep}, path, keypoints_2d={t: kp[t] for t in keep}, width=args.width,
                height=args.height, title=f"htp-edge stream ({len(keep)} people)")


def _intrinsics(args):
    from htp_edge.pose.geometry import Intrinsics
    if args.focal is None:
        return None
    return Intrinsics(args.focal, args.focal, args.width / 2, args.height / 2)


def _open_lifter(args):
    from htp_edge.artifacts.naming import DEFAULT_CHECKPOINT
    from htp_edge.runtime.multistream import open_batched
    source = args.checkpoint or DEFAULT_CHECKPOINT
    one_person = str(args.input).endswith((".npy", ".npz"))
    lifter, small = open_batched(source, args.backend, 1 if one_person else args.max_tracks, reframe=args.reframe)
    return lifter, small, source, lifter.graphs.denoiser.backend


def run(args) -> dict:
    import signal
    import time
    from collections import deque
    from pathlib import Path

    from htp_edge.artifacts.files import ArtifactSet
    from htp_edge.bench.stats import summarize
    from htp_edge.errors import HtpEdgeError
    from htp_edge.io.frames import BadLine, open_source
    from htp_edge.io.pose_out import SUFFIXES, open_sink
    from htp_edge.runtime.multistream import MultiStreamLifter
    out = Path(args.out)
    if out.suffix not in SUFFIXES:
        raise HtpEdgeError(f"stream: --out must end in {' or '.join(SUFFIXES)}, got {args.out!r}.")
    plot = Path(args.plot) if args.plot else None
    if plot is not None and plot.suffix.lower() not in (".gif", ".png"):
        raise HtpEdgeError(f"stream: --plot must be a .gif or .png file, got {args.plot!r}.")
    staging = ArtifactSet([out, plot], inputs=[args.input] if args.input != "-" and "://" not in args.input else [],
                          what="stream")
    frames = open_source(args.input, fps=args.fps, idle_timeout=args.idle_timeout, reader=args.reader)
    args.format = _resolve_format(args, frames)
    lifter, small, source, backend = _open_lifter(args)
    multi = MultiStreamLifter(lifter, args.width, args.height, max_tracks=args.max_tracks, hop=args.hop,
                              mode=args.mode, format=args.format, track_timeout=args.track_timeout, small=small,
                              intrinsics=_intrinsics(args))
    counts = {"frames_in": 0, "poses_out": 0, "skipped": 0}
    latencies, tracks, stopped = [], set(), "end of input"
    recent = deque(maxlen=PLOT_FRAMES)  # (2D people, 3D poses) of the last frames, for --plot
    progress = _Progress(sys.stderr.isatty() and not args.json)
    stop = _StopSignals()  # SIGINT/SIGTERM: at once while waiting for input, after the write within a frame
    previous = {s: signal.signal(s, stop.handler) for s in (signal.SIGINT, signal.SIGTERM)}
    started = time.perf_counter()
    try:
        with staging as staged:
            sink = open_sink(out, staged[out], frame_id=args.frame_id)
            try:
                for frame in frames:
                    if isinstance(frame, BadLine):
                        if not args.skip_bad:
                            raise frame
                        counts["skipped"] += 1
                        continue
                    with stop.deferred():  # a frame pushed is a frame written, even when interrupted
                        try:
                            poses = multi.push(frame.people)
                        except HtpEdgeError as exc:
                            if not args.skip_bad:
                                raise HtpEdgeError(f"line {frame.line}: {exc}") from None
                            counts["skipped"] += 1
                            continue
                        counts["frames_in"] += 1
                        tracks.update(frame.people)
                        latency = multi.last_latency_ms if poses else None
                        if poses:
                            latencies.append(latency)
                            counts["poses_out"] += len(poses)
                        sink.write(frame.t, poses, latency)
                    if plot is not None:
                        recent.append(({k: v[:, :2] for k, v in frame.people.items()}, poses))
                    progress.show(counts["frames_in"], counts["poses_out"], started, latencies[-200:])
            except KeyboardInterrupt:
                stopped = "interrupted (SIGINT/SIGTERM): output closed cleanly"
            finally:
                sink.close()
            if plot is not None and recent:
                _plot(recent, staged[plot], args)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        progress.done()
        lifter.close()
        if small is not None:
            small.close()
    seconds = time.perf_counter() - started
    lat = summarize(latencies) if latencies else None
    return {**counts, "tracks": len(tracks), "out": str(out), "source": str(source), "backend": backend,
            "clips_per_call": lifter.config.clips_per_call, "seconds": seconds,
            "poses_per_s": counts["poses_out"] / seconds if seconds > 0 else 0.0,
            "latency_ms": {"p50": lat["p50_ms"], "p99": lat["p99_ms"], "n": lat["n"]} if lat else None,
            "stopped": stopped, "dropped_tracks": len(multi.dropped), "plot": str(plot) if plot else None,
            "format": args.format}


class _StopSignals:
    """SIGINT/SIGTERM as KeyboardInterrupt: raised at once outside :meth:`deferred`, and at its
    end inside it, so a signal never falls between pushing a frame and writing its output."""

    def __init__(self) -> None:
        self.busy = self.pending = False

    def handler(self, signum, frame) -> None:
        if self.busy:
            self.pending = True
            return
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def deferred(self):
        self.busy = True
        try:
            yield
        finally:
            self.busy = False
        if self.pending:
            raise KeyboardInterrupt


def _resolve_format(args, frames) -> str:
    """--format, else for a detector's file the layout of its joint count, else h36m."""
    if args.format is not None:
        return args.format
    detections = getattr(frames, "detections", None)
    if detections is None or not detections.num_joints:
        return "h36m"
    from htp_edge.pose.layouts import guess_format
    return guess_format(detections.num_joints)
