"""This machine's FP32 GEMM rate beside a graph's achieved rate, measured alternately.

Three rates in GMAC/s, each iteration timing all three one after the other (medians over
iterations, so a noisy, shared machine loads them alike):

* ``square``: numpy/BLAS on one n x n x n product (the CPU's GEMM rate on a friendly shape);
* ``square_ort`` (when a runner is given, e.g. ``scripts/bench_gemm.py``'s): the same product as a
  one-node ONNX Runtime MatMul, i.e. MLAS, the GEMM the graph's own kernels use; numpy's BLAS
  and MLAS differ by up to 2x on some CPUs; the roofline is the fastest of the references;
* ``model_shapes``: numpy/BLAS on exactly the weight GEMMs the graph runs (shapes from ONNX
  Runtime's profile; a (..., M, K) @ (K, N) product with a weight matrix is run as one
  (prod(...) * M, K) @ (K, N) GEMM, as ONNX Runtime does; a fused Attention's qkv projection
  is one of them). The small per-head products (q k^T, a v; a few % of the MACs) are left out:
  numpy loops over them in Python-sized pieces, which would measure numpy, not the CPU;
* ``graph``: the graph's multiply-accumulates over one ``session.run``.

Every contender starts after a ``settle_ms`` pause, so that ONNX Runtime's spinning workers from
the previous call have gone to sleep and do not take a core from the next one.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from math import prod
from typing import Mapping, Sequence

import numpy as np

from htp_edge.bench.profile import MATMUL_OPS, NodeTime
from htp_edge.errors import HtpEdgeError


@dataclass(frozen=True)
class GemmShape:
    """One product: ``batch`` independent (m, k) @ (k, n) GEMMs."""

    batch: int
    m: int
    k: int
    n: int

    @property
    def macs(self) -> int:
        return self.batch * self.m * self.k * self.n


def gemm_shapes(nodes: Sequence[NodeTime]) -> list[GemmShape]:
    """The weight GEMMs of a profiled graph as shapes: every product except activation @
    activation ones (both operands of the same rank >= 3, e.g. q @ k^T)."""
    out = []
    for node in nodes:
        if node.op not in MATMUL_OPS or not node.macs or is_batched_product(node):
            continue
        a = node.inputs[0]
        k = a[-1]
        rows = prod(a) // k  # (..., M, K) @ (K, N): one GEMM over all leading rows
        if node.op in ("Attention", "QAttention"):  # only its qkv projection (the profile lists its bias)
            out.append(GemmShape(1, rows, k, node.inputs[1][-1] if len(node.inputs[1]) == 2 else node.inputs[1][0]))
        else:
            out.append(GemmShape(1, rows, k, node.macs // (rows * k)))
    return out


def is_batched_product(node: NodeTime) -> bool:
    """Activation @ activation (attention's per-head products), not a product with weights."""
    return len(node.inputs) >= 2 and len(node.inputs[0]) >= 3 and len(node.inputs[1]) == len(node.inputs[0])


class _Operands:
    """Random float32 operands of each shape, made once."""

    def __init__(self, shapes: Sequence[GemmShape], seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.pairs = [(rng.standard_normal((s.batch, s.m, s.k) if s.batch > 1 else (s.m, s.k), dtype=np.float32),
                       rng.standard_normal((s.batch, s.k, s.n) if s.batch > 1 else (s.k, s.n), dtype=np.float32))
                      for s in shapes]
        self.macs = sum(s.macs for s in shapes)

    def run(self) -> float:
        t0 = time.perf_counter()
        for a, b in self.pairs:
            np.matmul(a, b)
        return time.perf_counter() - t0


@dataclass(frozen=True)
class GemmRateConfig:
    iters: int = 30
    warmup: int = 3
    square: int = 2048
    settle_ms: float = 10.0

    def __post_init__(self) -> None:
        if self.iters < 1 or self.warmup < 0 or self.square < 16 or self.settle_ms < 0:
            raise HtpEdgeError(f"gemm rate: iters must be >= 1, warmup >= 0 and square >= 16, got "
                               f"iters={self.iters}, warmup={self.warmup}, square={self.square} (settle_ms >= 0).")


def measure_rates(run_graph, graph_macs: int, shapes: Sequence[GemmShape],
                  cfg: GemmRateConfig = GemmRateConfig(), run_square_ort=None) -> dict:
    """Median GMAC/s of the square GEMM (numpy, and ONNX Runtime when ``run_square_ort`` is
    given), the graph's GEMM shapes on numpy, and ``run_graph()``, alternated per iteration; with
    the graph's rate as a share of each reference and of the roofline (the fastest reference)."""
    square = _Operands([GemmShape(1, cfg.square, cfg.square, cfg.square)])
    model = _Operands(shapes)
    contenders = {"square": square.run, "model_shapes": model.run, "graph": _timed(run_graph)}
    macs = {"square": square.macs, "model_shapes": model.macs, "graph": graph_macs}
    if run_square_ort is not None:
        contenders["square_ort"], macs["square_ort"] = _timed(run_square_ort), square.macs
    times: dict[str, list] = {k: [] for k in contenders}
    for i in range(cfg.warmup + cfg.iters):
        for key, run in contenders.items():
            time.sleep(cfg.settle_ms / 1e3)
            elapsed = run()
            if i >= cfg.warmup:
                times[key].append(elapsed)
    rates = {k: macs[k] / float(np.median(v)) / 1e9 for k, v in times.items()}
    # the roofline is the fastest GEMM seen: on a shared 2-vCPU VM short products are slowed most
    # (1024^3 ran at 21-32 GMAC/s while D3DP's (8262 x 512) @ (512 x 2048) ran at 72)
    roof = max(rates["square"], rates.get("square_ort", 0.0), rates["model_shapes"])
    return {"gmacs_per_s": rates, "graph_ms_p50": float(np.median(times["graph"])) * 1e3,
            "roofline_gmacs_per_s": roof,
            "graph_vs_roofline_pct": 100 * rates["graph"] / roof,
            "graph_vs_square_pct": 100 * rates["graph"] / rates["square"],
            "graph_vs_model_shapes_pct": 100 * rates["graph"] / rates["model_shapes"] if model.macs else None,
            "iters": cfg.iters}


def _timed(run):
    def timed() -> float:
        t0 = time.perf_counter()
        run()
        return time.perf_counter() - t0
    return timed


def graph_runner(session, feed: Mapping[str, np.ndarray]):
    """A no-argument callable running ``session`` on ``feed`` (outputs discarded)."""
    names = [o.name for o in session.get_outputs()]
    return lambda: session.run(names, feed)
