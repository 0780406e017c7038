"""The embeddable lifter: 2D keypoints in pixels -> root-relative 3D poses in metres.

Data flow: validate -> (COCO -> H36M) -> fill missing joints -> screen-normalise -> cut into
F-frame clips -> TCEP frame plan (once per clip) -> K DDIM steps x H hypotheses (+ flip),
batched into the graph's fixed batch -> aggregate (mean or JPMA with a least-squares root)
-> stitch clips -> root joint 0. Every stage is timed (``last_timings``, milliseconds).
No torch is imported unless the torch backend (or a one-time checkpoint export) is used.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from htp_edge.artifacts import names
from htp_edge.artifacts.graph_meta import GraphMeta
from htp_edge.artifacts.naming import DEFAULT_CHECKPOINT
from htp_edge.diffusion.aggregate import AGGREGATIONS, aggregate
from htp_edge.diffusion.sampler import DDIMSampler, SamplerConfig, draw_normal
from htp_edge.errors import HtpEdgeError
from htp_edge.pose.clipping import cut_clips, gather, stitch
from htp_edge.pose.geometry import Intrinsics
from htp_edge.pose.inputs import as_keypoints, fill_missing, to_h36m
from htp_edge.pose.normalize import normalize_screen
from htp_edge.pose.virtual_camera import reframe_clips, unframe
from htp_edge.runtime.sources import GraphSet, open_graphs

MAX_STEPS, MAX_HYPOTHESES, MAX_CLIPS = 1000, 64, 256
PAD_CLIP_ID = 2**32 - 1  # the noise stream of padding clips (outputs dropped)


@dataclass(frozen=True)
class LifterConfig:
    """Sampling settings; hypotheses/flip/clips-per-call must match a static graph's layout."""

    steps: int = 1
    hypotheses: int = 1
    flip: bool = True
    clips_per_call: int = 1
    aggregation: str = "auto"  # mean for H = 1, jpma otherwise
    seed: int = 0
    reframe: bool = False  # lift each clip as a virtual camera aimed at the person sees it (pose.virtual_camera)

    def __post_init__(self) -> None:
        if self.aggregation not in AGGREGATIONS + ("auto",):
            raise HtpEdgeError(f"lifter: unknown aggregation. Expected auto, mean or jpma, got {self.aggregation!r}.")
        for name, high in (("steps", MAX_STEPS), ("hypotheses", MAX_HYPOTHESES), ("clips_per_call", MAX_CLIPS)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
                raise HtpEdgeError(f"lifter: {name} must be an integer from 1 to {high}, got {value!r}.")

    @property
    def method(self) -> str:
        if self.aggregation == "auto":
            return "mean" if self.hypotheses == 1 else "jpma"
        return self.aggregation


class _Clock:
    """Accumulates milliseconds per stage for one call."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}

    def add(self, name: str, ms: float) -> None:
        self.ms[name] = self.ms.get(name, 0.0) + ms

    def time(self, name: str, t0: float) -> float:
        now = time.perf_counter()
        self.add(name, (now - t0) * 1e3)
        return now


class Lifter:
    """Lifts (T, 17, 2) pixel keypoints to (T, 17, 3) metres through any backend."""

    def __init__(self, graphs: GraphSet, config: LifterConfig = LifterConfig()) -> None:
        self.graphs, self.config = graphs, config
        meta = graphs.meta
        self.frames, self.joints = meta.frames, meta.joints
        self.unrolled = meta.unrolled
        self._check_layout(meta)
        steps = meta.steps if self.unrolled else config.steps
        self.sampler = DDIMSampler(SamplerConfig(steps=steps, hypotheses=config.hypotheses, flip=config.flip))
        self.last_timings: dict[str, float] = {}
        self.last_kept: np.ndarray | None = None
        self.last_plan: dict[str, np.ndarray] = {}
        self._lock = threading.RLock()
        graphs.activate()

    @classmethod
    def load(cls, source=DEFAULT_CHECKPOINT, backend: str = "onnxruntime", steps: int | None = None,
             hypotheses: int | None = None, flip: bool | None = None, aggregation: str = "auto", seed: int = 0,
             clips_per_call: int | None = None, reframe: bool = False, **backend_options) -> "Lifter":
        """Open a bundled name, .pt/.bin, .onnx or .engine; a static graph sets H, flip and clips."""
        steps = 1 if steps is None else steps
        wanted = LifterConfig(steps=steps, hypotheses=1 if hypotheses is None else hypotheses,
                              clips_per_call=1 if clips_per_call is None else clips_per_call)  # refuse bad values first
        graphs = open_graphs(source, backend, hypotheses=wanted.hypotheses, flip=True if flip is None else flip,
                             clips=wanted.clips_per_call, **backend_options)
        meta = graphs.meta
        cfg = LifterConfig(steps=steps, hypotheses=meta.hypotheses if hypotheses is None else hypotheses,
                           flip=meta.flip if flip is None else flip,
                           clips_per_call=meta.clips if clips_per_call is None else clips_per_call,
                           aggregation=aggregation, seed=seed, reframe=bool(reframe))
        try:
            return cls(graphs, cfg)
        except BaseException:
            graphs.deactivate()
            raise

    def _check_layout(self, meta: GraphMeta) -> None:
        c = self.config
        if meta.batch is None:  # eager torch: any layout
            return
        want = {"hypotheses": c.hypotheses, "flip": c.flip, "clips": c.clips_per_call}
        got = {"hypotheses": meta.hypotheses, "flip": meta.flip, "clips": meta.clips}
        if want != got:
            raise HtpEdgeError(f"lifter: the graph was exported for {got}. Expected settings to match it, got {want}. "
                               f"Re-export with --hypotheses/--no-flip/--clips to change the layout.")

    # -- public API ------------------------------------------------------------------------------
    def lift(self, keypoints_px, width: float, height: float, format: str = "h36m",
             intrinsics: Intrinsics | None = None, return_hypotheses: bool = False):
        """(T, 17, 2|3) pixels -> (T, 17, 3) root-relative metres (camera frame).

        Thread-safe: calls from several threads are serialised on one lock (the runners, e.g.
        TensorRT's single execution context, hold one set of buffers); ``last_timings`` belongs
        to the most recent call. For parallel lifting, open one Lifter per thread.
        """
        with self._lock:
            return self._lift(keypoints_px, width, height, format, intrinsics, return_hypotheses)

    def _lift(self, keypoints_px, width, height, format, intrinsics, return_hypotheses):
        clock, t0 = _Clock(), time.perf_counter()
        xy, conf = to_h36m(*as_keypoints(keypoints_px), format)
        clock.time("preprocess", t0)
        (out,), hyps = self._lift_windows([(xy, conf)], width, height, intrinsics, clock)
        if return_hypotheses:
            return out, hyps
        return out

    def lift_windows(self, windows, width: float, height: float, intrinsics: Intrinsics | None = None):
        """Several validated, H36M-ordered windows ``[(xy (W, 17, 2) px, confidence (W, 17)), ...]``
        -> ``[(W, 17, 3) m]``, all clips in one batch of engine calls (the streaming runtimes' path).
        Each window is lifted exactly as :meth:`lift` would lift it alone."""
        with self._lock:
            return self._lift_windows(windows, width, height, intrinsics, _Clock())[0]

    def _lift_windows(self, windows, width, height, intrinsics, clock: _Clock):
        """fill -> normalise -> cut every window; lift all clips together (each clip's noise from its
        index within its window); aggregate and stitch per window. Returns (poses, hypotheses)."""
        t0 = time.perf_counter()
        intr = intrinsics or Intrinsics.default(width, height)
        prepared = []
        for xy, conf in windows:
            xy = fill_missing(xy, conf)
            cuts = cut_clips(len(xy), self.frames)
            if self.config.reframe:
                virtual, views = reframe_clips(gather(xy, cuts, self.frames), gather(conf, cuts, self.frames),
                                               intr, width)
                size = views[0].size
                prepared.append((xy, conf, cuts, normalize_screen(virtual, size, size), views))
            else:
                prepared.append((xy, conf, cuts, gather(normalize_screen(xy, width, height), cuts, self.frames), None))
        clips = np.concatenate([p[3] for p in prepared])  # (sum C, F, J, 2)
        ids = np.concatenate([np.arange(len(p[3])) for p in prepared])  # clip index within its window
        clock.time("preprocess", t0)
        hyps = self._lift_clips(clips, clock, clip_ids=ids)  # (sum C, H, F, J, 3)
        outs, parts, start = [], [], 0
        for xy, conf, cuts, own, views in prepared:
            t0 = time.perf_counter()
            part = hyps[start:start + len(own)]
            start += len(own)
            if views is not None:
                part = unframe(part, views)  # each clip's virtual camera frame -> the real one
            parts.append(part)
            poses = aggregate(part, self.config.method, kp_px=gather(xy, cuts, self.frames), intr=intr,
                              confidence=gather(conf, cuts, self.frames))
            t0 = clock.time("aggregate", t0)
            out = stitch(poses, cuts, len(xy))
            out[:, 0] = 0.0
            clock.time("postprocess", t0)
            outs.append(out)
        self.last_timings = {**clock.ms, "total": sum(clock.ms.values())}
        return outs, (np.concatenate(parts) if self.config.reframe else hyps)

    def lift_clips(self, clips: np.ndarray, clock: _Clock | None = None) -> np.ndarray:
        """Normalised clips (C, F, J, 2) -> hypotheses (C, H, F, J, 3), in fixed-size batches."""
        with self._lock:
            return self._lift_clips(clips, clock or _Clock())

    def clip_generators(self, clip_ids) -> list[np.random.Generator]:
        """One noise Generator per clip, from the seed and the clip's index in its sequence: a
        clip's noise never depends on which clips share its engine call."""
        return [np.random.default_rng([self.config.seed, int(i)]) for i in clip_ids]

    def _lift_clips(self, clips: np.ndarray, clock: _Clock, clip_ids=None) -> np.ndarray:
        gens = self.clip_generators(range(len(clips)) if clip_ids is None else clip_ids)
        b = self.config.clips_per_call
        outs, kept, plans = [], [], []
        for start in range(0, len(clips), b):
            group, rngs = clips[start:start + b], gens[start:start + b]
            pad = b - len(group)
            if pad:  # padding clips repeat the last one; their outputs are dropped
                group = np.concatenate([group, np.repeat(group[-1:], pad, 0)])
                rngs = rngs + self.clip_generators([PAD_CLIP_ID] * pad)
            hyps, k, p = self._run_group(group.astype(np.float32), rngs, clock)
            outs.append(hyps[: b - pad])
            kept.append(k)
            plans.append(p)
        self.last_kept = kept[-1] if kept else None
        self.last_plan = {k: np.concatenate([p[k] for p in plans])[: len(clips)] for k in plans[-1]}
        return np.concatenate(outs)

    # -- one fixed batch of clips --------------------------------------------------------------
    def _run_group(self, group: np.ndarray, rng, clock: _Clock):
        t0 = time.perf_counter()
        plan = {}
        if self.graphs.planner is not None:
            plan = self.graphs.planner.infer({names.KEYPOINTS_2D: group})
            clock.time("plan", t0)
        if self.unrolled:
            return self._run_unrolled(group, plan, rng, clock)
        kept = []

        def denoise(x2d, x_t, t, p):
            out = self.graphs.denoiser.infer({names.KEYPOINTS_2D: x2d, names.NOISY_POSE: x_t, names.TIMESTEP: t, **p})
            for name, ms in self.graphs.denoiser.last_timings.items():
                clock.add(f"denoise.{name}" if name != "compute" else "denoise", ms)
            kept.append(out.get(names.KEPT_FRAMES))
            return out[names.POSE_3D]

        t0 = time.perf_counter()
        before = sum(v for k, v in clock.ms.items() if k.startswith("denoise"))
        res = self.sampler.sample(denoise, group, rng, plan)
        spent = (time.perf_counter() - t0) * 1e3
        clock.add("sampler", spent - (sum(v for k, v in clock.ms.items() if k.startswith("denoise")) - before))
        return res.final, kept[-1], plan

    def _run_unrolled(self, group, plan, rng, clock: _Clock):
        s = self.sampler.config
        noise = draw_normal(rng, (s.steps, len(group), s.hypotheses, self.frames, self.joints, 3), axis=1)
        feed = {names.KEYPOINTS_2D: group, names.NOISE: noise, **plan}
        t0 = time.perf_counter()
        out = self.graphs.denoiser.infer(feed)[names.POSE_3D]
        clock.time("denoise", t0)
        return out, None, plan

    def close(self) -> None:
        self.graphs.deactivate()

    def __enter__(self) -> "Lifter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
