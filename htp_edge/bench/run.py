"""The latency test: time the runtime on one input, per stage, through any backend.

Latency mode lifts one clip (F frames) per iteration, synchronously, and reports per-stage
p50/p90/p99/mean/max; throughput mode lifts ``clips`` clips per iteration and reports frames/s.
Warm-up iterations are discarded. The "runtime overhead" is everything that is not a backend
call (pre/post-processing, sampler arithmetic, aggregation) as a share of the total.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from htp_edge.errors import HtpEdgeError

MODES = ("latency", "throughput")
BACKEND_STAGES = ("plan", "denoise")


@dataclass(frozen=True)
class BenchConfig:
    backend: str = "onnxruntime"
    steps: int = 1
    hypotheses: int = 1
    flip: bool = True
    warmup: int = 3
    iters: int = 20
    mode: str = "latency"
    clips: int = 8          # clips per iteration in throughput mode
    threads: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise HtpEdgeError(f"bench: unknown mode. Expected one of {', '.join(MODES)}, got {self.mode!r}.")
        if self.iters < 1 or self.warmup < 0:
            raise HtpEdgeError(f"bench: iterations must be >= 1 and warm-up >= 0, got iters={self.iters}, "
                               f"warmup={self.warmup}.")


def walking_keypoints(frames: int, width: float = 1000.0, height: float = 1000.0, seed: int = 0) -> np.ndarray:
    """A plausible moving 2D skeleton (F, 17, 2) in pixels for timing (values do not affect cost)."""
    rng = np.random.default_rng(seed)
    base = np.array([[0, 0], [-12, 0], [-14, 45], [-15, 90], [12, 0], [14, 45], [15, 90], [0, -25], [0, -50],
                     [0, -60], [0, -75], [18, -48], [25, -20], [28, 5], [-18, -48], [-25, -20], [-28, 5]], float) * 2.5
    t = np.arange(frames)[:, None, None]
    swing = np.sin(t / 6.0) * np.array([1.0, 0.2]) * 15 * (np.arange(17)[None, :, None] % 3 == 2)
    pts = base[None] + swing + rng.normal(scale=1.5, size=(frames, 17, 2))
    return (pts + np.array([width / 2, height / 2])).astype(np.float32)


def run_bench(lifter, cfg: BenchConfig, macs_per_pass: int | None = None) -> dict:
    """Time ``lifter`` on synthetic keypoints; returns the report (stages, total, frames/s, memory...)."""
    from htp_edge.bench.memory import gpu_memory, peak_rss_mib
    from htp_edge.bench.power import PowerSampler
    from htp_edge.bench.stats import StageTimes
    frames = lifter.frames * (cfg.clips if cfg.mode == "throughput" else 1)
    kp = walking_keypoints(frames, seed=cfg.seed)
    for _ in range(cfg.warmup):
        lifter.lift(kp, 1000, 1000)
    rec = StageTimes()
    sampler = PowerSampler()
    sampler.start()
    t0 = time.perf_counter()
    for _ in range(cfg.iters):
        lifter.lift(kp, 1000, 1000)
        with rec.iteration():
            for name, ms in lifter.last_timings.items():
                if name != "total":
                    rec.add(name, ms)
    t1 = time.perf_counter()
    sampler.stop()
    report = rec.summary(frames_per_iteration=frames)
    report.update(_derived(report, lifter, cfg, macs_per_pass, frames))
    report["power"] = sampler.report(t0, t1, cfg.iters)
    report["peak_rss_mib"] = peak_rss_mib()
    report["gpu_memory"] = gpu_memory()
    lc = lifter.config
    report["config"] = {**asdict(cfg), "steps": lifter.sampler.config.steps, "hypotheses": lc.hypotheses,
                        "flip": lc.flip, "frames": lifter.frames, "frames_per_iteration": frames,
                        "passes_per_iteration": _passes(lifter, frames)}
    return report


def _passes(lifter, frames: int) -> int:
    clips = -(-frames // lifter.frames)
    return clips * lifter.sampler.config.steps * lifter.sampler.config.passes_per_step


def _derived(report: dict, lifter, cfg: BenchConfig, macs_per_pass, frames: int) -> dict:
    stages = report["stages"]
    mean = {k: v["mean_ms"] for k, v in stages.items()}
    backend_ms = sum(v for k, v in mean.items() if k.split(".")[0] in BACKEND_STAGES)
    total = report["total"]["mean_ms"]
    out = {"backend_ms_mean": backend_ms, "runtime_overhead_pct": 100.0 * (total - backend_ms) / total}
    den = sum(v for k, v in mean.items() if k.startswith("denoise"))
    if macs_per_pass and den > 0:
        out["achieved_gmacs_per_s"] = _passes(lifter, frames) * macs_per_pass / (den / 1e3) / 1e9
    return out


def gemm_peak_gmacs(n: int = 1024, repeats: int = 5) -> float:
    """This machine's FP32 GEMM rate (numpy/BLAS, n x n x n), in GMAC/s: the reference for MAC/s."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return n ** 3 / best / 1e9
