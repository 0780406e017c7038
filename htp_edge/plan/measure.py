"""Accuracy and latency of one setting: the evaluation and the bench that ``htp-edge eval`` and
``htp-edge bench`` run, on the same graph.

Latency is the bench's latency mode: one F-frame clip per call (a new pose from a sliding
window), warm-up discarded, p50 and p99 of the whole ``Lifter.lift`` call (every stage:
preprocess, plan, denoise, aggregate, postprocess).
"""
from __future__ import annotations

from dataclasses import dataclass

from htp_edge.errors import HtpEdgeError
from htp_edge.plan.grid import Setting


@dataclass(frozen=True)
class MeasureConfig:
    backend: str = "onnxruntime"
    split: str = "test"
    max_sequences: int | None = None
    seed: int = 0
    iters: int = 5           # per round (PlanConfig.rounds)
    warmup: int = 1
    threads: int = 0

    def __post_init__(self) -> None:
        if self.iters < 1 or self.warmup < 0:
            raise HtpEdgeError(f"plan: bench iterations must be >= 1 and warm-up >= 0, got iters={self.iters}, "
                               f"warmup={self.warmup}.")
        if self.max_sequences is not None and self.max_sequences < 1:
            raise HtpEdgeError(f"plan: --max-sequences must be >= 1, got {self.max_sequences}.")

    @property
    def backend_options(self) -> dict:
        return {"threads": self.threads} if self.threads else {}

    def data_json(self) -> dict:
        """The data selection (part of the accuracy cache key)."""
        return {"split": self.split, "max_sequences": self.max_sequences, "seed": self.seed}

    def bench_json(self) -> dict:
        """The bench settings (part of the latency cache key)."""
        return {"iters": self.iters, "warmup": self.warmup, "threads": self.threads}


def accuracy(source: str, setting: Setting, cfg: MeasureConfig) -> dict:
    """MPJPE / P-MPJPE (mm) of ``source`` at ``setting`` on the chosen split."""
    from htp_edge.evaluation.evaluate import EvalConfig, evaluate_source
    ecfg = EvalConfig(backend=cfg.backend, split=cfg.split, steps=setting.steps, hypotheses=setting.hypotheses,
                      flip=setting.flip, seed=cfg.seed, max_sequences=cfg.max_sequences)
    report = evaluate_source(source, ecfg, **cfg.backend_options)
    return {"mpjpe_mm": report["mpjpe_mm"], "p_mpjpe_mm": report["p_mpjpe_mm"], "frames": report["frames"],
            "sequences": report["sequences"]}


def latency(source: str, setting: Setting, cfg: MeasureConfig) -> dict:
    """p50 / p99 / mean (ms) of one lift of one clip, through :func:`htp_edge.bench.run.run_bench`."""
    from htp_edge.bench.run import BenchConfig, run_bench
    from htp_edge.runtime.lifter import Lifter
    bcfg = BenchConfig(backend=cfg.backend, steps=setting.steps, hypotheses=setting.hypotheses, flip=setting.flip,
                       warmup=cfg.warmup, iters=cfg.iters, threads=cfg.threads)
    lifter = Lifter.load(source, backend=cfg.backend, steps=setting.steps, hypotheses=setting.hypotheses,
                         flip=setting.flip, **cfg.backend_options)
    try:
        report = run_bench(lifter, bcfg)
    finally:
        lifter.close()
    total = report["total"]
    return {"p50_ms": total["p50_ms"], "p99_ms": total["p99_ms"], "mean_ms": total["mean_ms"]}
