"""Where a graph's time goes: ONNX Runtime's per-node profile, summarised per op type.

Runs a graph with ONNX Runtime's profiler on a feed, then reads the JSON it writes: every
kernel's duration, op type and input/output shapes. Matrix products (MatMul, Gemm, FusedMatMul
and the quantised forms) get their multiply-accumulates from those shapes, so the profile also
says how fast the GEMM kernels themselves run (GMAC/s) and how much time the rest (transposes,
norms, softmax, reshapes) takes. numpy and onnxruntime only: runs on the device.
"""
from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import Mapping

import numpy as np

from htp_edge.errors import HtpEdgeError

# op types whose time is a matrix product (MACs from shapes)
MATMUL_OPS = ("MatMul", "Gemm", "FusedMatMul", "MatMulInteger", "DynamicQuantizeMatMul", "QLinearMatMul",
              "MatMulIntegerToFloat", "FusedGemm", "Attention", "QAttention")


@dataclass(frozen=True)
class NodeTime:
    name: str
    op: str
    us: float          # mean kernel microseconds per run
    macs: int          # 0 for non-matmul ops
    inputs: tuple      # input shapes


def node_macs(op: str, inputs: list, outputs: list) -> int:
    """MACs of one matrix-product kernel from its profiled shapes (0 for other ops). A fused
    ``Attention`` (x (B, S, D), W (D, 3E)) counts its qkv GEMM and its two products, 2 B S^2 E."""
    if op in ("Attention", "QAttention") and len(inputs) >= 2 and len(inputs[0]) == 3:
        # the profile lists no initializers: the second input is W (D, 3E) or, without it, the bias (3E,)
        (b, s, d), e3 = inputs[0], inputs[1][-1] if len(inputs[1]) == 2 else inputs[1][0]
        return b * s * d * e3 + 2 * b * s * s * (e3 // 3)
    if op not in MATMUL_OPS or not inputs or not outputs or not outputs[0]:
        return 0
    a, out = inputs[0], outputs[0]
    if not a:
        return 0
    if op in ("Gemm", "FusedGemm"):
        return prod(out) * (prod(a) // out[0])  # A is (M, K) or (K, M)
    k = a[-1] if len(a) < 2 or a[-2] == out[-2] else a[-2]  # FusedMatMul may transpose A
    return prod(out) * k


def _shapes(entries) -> list:
    return [tuple(next(iter(e.values()))) for e in entries or []]


def parse_profile(path, skip: int = 0) -> list[NodeTime]:
    """Per-node mean kernel time from an ONNX Runtime profile JSON, dropping each node's first
    ``skip`` runs (warm-up)."""
    events = json.loads(Path(path).read_text())
    durations: dict[str, list] = defaultdict(list)
    info: dict[str, tuple] = {}
    for e in events:
        if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time"):
            continue
        name, args = e["name"][: -len("_kernel_time")], e.get("args", {})
        durations[name].append(float(e["dur"]))
        if name not in info:
            op = args.get("op_name", "?")
            ins, outs = _shapes(args.get("input_type_shape")), _shapes(args.get("output_type_shape"))
            info[name] = (op, tuple(ins), node_macs(op, ins, outs))
    return [NodeTime(n, info[n][0], float(np.mean(d[skip:] or d)), info[n][2], info[n][1])
            for n, d in durations.items()]


def profile_graph(onnx_path, feed: Mapping[str, np.ndarray], runs: int = 20, warmup: int = 5,
                  threads: int = 0, optimization: str = "all") -> list[NodeTime]:
    """Run ``onnx_path`` ``warmup + runs`` times under the profiler: per-node times of the last ``runs``."""
    from htp_edge.runtime.backends.onnxruntime_backend import OnnxRuntimeRunner
    if runs < 1 or warmup < 0:
        raise HtpEdgeError(f"profile: runs must be >= 1 and warmup >= 0, got runs={runs}, warmup={warmup}.")
    with tempfile.TemporaryDirectory() as tmp:
        runner = OnnxRuntimeRunner(onnx_path, providers=["CPUExecutionProvider"], threads=threads,
                                   optimization=optimization, profile_prefix=os.path.join(tmp, "ort"))
        with runner:
            for _ in range(warmup + runs):
                runner.infer(feed)
            return parse_profile(runner.end_profile(), skip=warmup)


def summarize_profile(nodes: list[NodeTime]) -> dict:
    """Per op type: ms per run, share of kernel time, node count; and the GEMM kernels' GMAC/s."""
    by_op: dict[str, list] = defaultdict(lambda: [0.0, 0, 0])
    for n in nodes:
        by_op[n.op][0] += n.us
        by_op[n.op][1] += 1
        by_op[n.op][2] += n.macs
    total_us = sum(v[0] for v in by_op.values())
    mm_us = sum(v[0] for v in by_op.values() if v[2])
    macs = sum(v[2] for v in by_op.values())
    ops = {op: {"ms": us / 1e3, "share_pct": 100 * us / total_us if total_us else 0.0, "nodes": count,
                "gmacs_per_s": (m / (us / 1e6) / 1e9) if m and us else None}
           for op, (us, count, m) in sorted(by_op.items(), key=lambda kv: -kv[1][0])}
    return {"kernel_ms": total_us / 1e3, "matmul_ms": mm_us / 1e3, "macs": macs,
            "matmul_share_pct": 100 * mm_us / total_us if total_us else 0.0,
            "matmul_gmacs_per_s": macs / (mm_us / 1e6) / 1e9 if mm_us else None, "ops": ops}


def format_profile(summary: dict, top: int = 12) -> str:
    lines = [f"  kernels {summary['kernel_ms']:.2f} ms per run; matrix products {summary['matmul_ms']:.2f} ms "
             f"({summary['matmul_share_pct']:.0f} %), {summary['macs'] / 1e9:.3f} GMAC at "
             f"{summary['matmul_gmacs_per_s'] or 0:.1f} GMAC/s",
             f"  {'op':<26}{'ms/run':>9}{'share':>8}{'nodes':>7}{'GMAC/s':>9}"]
    for op, r in list(summary["ops"].items())[:top]:
        rate = f"{r['gmacs_per_s']:.1f}" if r["gmacs_per_s"] else ""
        lines.append(f"  {op:<26}{r['ms']:>9.3f}{r['share_pct']:>7.1f}%{r['nodes']:>7}{rate:>9}")
    return "\n".join(lines)
