"""The runtime's gap to a bare ``InferenceSession.run``: same graph, same feed, side by side.

One lift records the exact denoiser feed the runtime builds (:class:`RecordingRunner`); then
every iteration times, one after the other, a plain ``onnxruntime.InferenceSession`` with its
default options running that feed, and each lifter's ``lift`` (its ``denoise`` stage and its
total). Alternating in one process keeps the comparison fair on a shared, noisy machine; a
short pause between the contenders lets the previous one's idle workers stop spinning, so one
contender's thread pool does not tax the next. Results are medians and ratios to bare.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from htp_edge.bench.run import walking_keypoints
from htp_edge.errors import HtpEdgeError
from htp_edge.runtime.backends.base import Runner


class RecordingRunner(Runner):
    """Wraps an active runner and keeps a copy of the last feed it was given."""

    def __init__(self, inner: Runner) -> None:
        super().__init__()
        self.inner, self.backend, self.last_feed = inner, inner.backend, None
        self.is_active = inner.is_active

    def input_specs(self):
        return self.inner.input_specs()

    def output_specs(self):
        return self.inner.output_specs()

    def _infer(self, feed):
        self.last_feed = {k: np.array(v, copy=True) for k, v in feed.items()}
        out = self.inner.infer(feed)
        self.last_timings = self.inner.last_timings
        return out


def recorded_feed(lifter, keypoints: np.ndarray, width: float = 1000.0, height: float = 1000.0) -> dict:
    """The denoiser feed of the last engine call of ``lifter.lift(keypoints)``."""
    inner = lifter.graphs.denoiser
    recorder = RecordingRunner(inner)
    lifter.graphs.denoiser = recorder
    try:
        lifter.lift(keypoints, width, height)
    finally:
        lifter.graphs.denoiser = inner
    return recorder.last_feed


@dataclass(frozen=True)
class GapConfig:
    iters: int = 50
    warmup: int = 5
    settle_ms: float = 10.0  # pause between contenders (idle pools stop spinning)

    def __post_init__(self) -> None:
        if self.iters < 1 or self.warmup < 0 or self.settle_ms < 0:
            raise HtpEdgeError(f"bench gap: iters must be >= 1, warmup and settle_ms >= 0, got iters={self.iters}, "
                               f"warmup={self.warmup}, settle_ms={self.settle_ms}.")


def bare_session(path):
    """``onnxruntime.InferenceSession(path)`` on the CPU with ONNX Runtime's default options."""
    from htp_edge.artifacts.onnx_meta import import_onnxruntime
    ort = import_onnxruntime()
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def measure_gap(onnx_path, lifters: Mapping[str, object], cfg: GapConfig = GapConfig()) -> dict:
    """Median ms of bare ``session.run`` and of each lifter's denoise stage and total, alternated.

    Every lifter runs the model of ``onnx_path`` (that graph, or its CPU companion); each one's
    outputs on its own recorded feed are compared with bare's (``max_abs_diff_vs_bare``).
    Returns ``{"bare": {...}, name: {...}, ...}`` with ``p50_ms`` and ratios.
    """
    if not lifters:
        raise HtpEdgeError("bench gap: no lifter to compare. Expected at least one, got none.")
    first = next(iter(lifters.values()))
    kp = walking_keypoints(first.frames * first.config.clips_per_call)
    feed = recorded_feed(first, kp)
    session = bare_session(onnx_path)
    names = [o.name for o in session.get_outputs()]
    bare_out = session.run(names, feed)
    samples: dict[str, dict[str, list]] = {"bare": {"run": []}}
    samples.update({name: {"denoise": [], "total": []} for name in lifters})
    pause = cfg.settle_ms / 1e3
    for i in range(cfg.warmup + cfg.iters):
        time.sleep(pause)
        t0 = time.perf_counter()
        session.run(names, feed)
        bare_ms = (time.perf_counter() - t0) * 1e3
        if i >= cfg.warmup:
            samples["bare"]["run"].append(bare_ms)
        for name, lifter in lifters.items():
            time.sleep(pause)
            lifter.lift(kp, 1000.0, 1000.0)
            if i >= cfg.warmup:
                samples[name]["denoise"].append(lifter.last_timings["denoise"])
                samples[name]["total"].append(lifter.last_timings["total"])
    return _report(samples, bare_out, names, lifters, kp)


def _report(samples, bare_out, names, lifters, kp) -> dict:
    bare = float(np.median(samples["bare"]["run"]))
    report = {"bare": {"p50_ms": bare, "n": len(samples["bare"]["run"])}}
    for name, lifter in lifters.items():
        out = lifter.graphs.denoiser.infer(recorded_feed(lifter, kp))  # same feed -> same outputs
        diff = max(float(np.max(np.abs(out[n].astype(np.float64) - b))) for n, b in zip(names, bare_out))
        den, tot = (float(np.median(samples[name][k])) for k in ("denoise", "total"))
        report[name] = {"denoise_p50_ms": den, "total_p50_ms": tot, "denoise_vs_bare": den / bare,
                        "total_vs_bare": tot / bare, "max_abs_diff_vs_bare": diff}
    return report
