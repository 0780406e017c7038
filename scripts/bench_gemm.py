#!/usr/bin/env python3
"""This CPU's FP32 GEMM rate beside a graph's achieved GMAC/s, alternated, with the graph's
per-op profile (ONNX Runtime's profiler: where the time goes).

Rates: ``square`` (numpy 2048^3), ``square ORT`` (the same product as one ONNX Runtime MatMul:
MLAS, the kernels the graph runs on), ``model shapes`` (numpy on exactly the graph's matrix
products), ``graph`` (one session.run of the graph on the feed the runtime builds); the roofline
is the fastest of the three references.

usage: python scripts/bench_gemm.py [--onnx FILE.onnx ...] [--threads N] [--iters 30] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys

DEFAULT_ONNX = ["htp_edge/checkpoints/htp-small_c1_h1_flip.onnx", "htp_edge/checkpoints/htp-small_c8_h1_flip.onnx"]


def ort_square_runner(n: int = 2048, threads: int = 0):
    """A no-argument callable running an (n, n) @ (n, n) FP32 MatMul in ONNX Runtime (both
    operands are inputs, so nothing is folded away): MLAS, the GEMM the graphs' kernels use."""
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "square",
                              [helper.make_tensor_value_info(k, TensorProto.FLOAT, [n, n]) for k in "ab"],
                              [helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), sess_options=opts, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    feed = {k: rng.standard_normal((n, n), dtype=np.float32) for k in "ab"}
    return lambda: session.run(["c"], feed)


def measure(path: str, threads: int, iters: int, profile_runs: int) -> dict:
    from htp_edge.bench.gap import recorded_feed
    from htp_edge.bench.gemm import GemmRateConfig, gemm_shapes, graph_runner, measure_rates
    square = GemmRateConfig().square
    from htp_edge.bench.profile import profile_graph, summarize_profile
    from htp_edge.bench.run import walking_keypoints
    from htp_edge.runtime.lifter import Lifter
    with Lifter.load(path, threads=threads, cpu_graph=False) as lifter:  # exactly this graph
        feed = recorded_feed(lifter, walking_keypoints(lifter.frames * lifter.config.clips_per_call))
        nodes = profile_graph(path, feed, runs=profile_runs, threads=threads)
        summary = summarize_profile(nodes)
        session = lifter.graphs.denoiser.session
        rates = measure_rates(graph_runner(session, feed), summary["macs"], gemm_shapes(nodes),
                              GemmRateConfig(iters=iters), run_square_ort=ort_square_runner(square, threads=threads))
    return {"onnx": path, "threads": threads, **rates, "profile": summary}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--onnx", nargs="+", default=DEFAULT_ONNX)
    p.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0: default)")
    p.add_argument("--iters", type=int, default=30)
    p.add_argument("--profile-runs", type=int, default=20)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    from htp_edge.bench.profile import format_profile
    reports = [measure(path, args.threads, args.iters, args.profile_runs) for path in args.onnx]
    if args.json:
        print(json.dumps(reports))
        return 0
    for r in reports:
        g = r["gmacs_per_s"]
        print(f"{r['onnx']} (threads {r['threads'] or 'default'}): session.run p50 {r['graph_ms_p50']:.2f} ms")
        print(f"  GMAC/s: square GEMM numpy {g['square']:.1f} / ONNX Runtime {g['square_ort']:.1f}, the model's "
              f"GEMM shapes {g['model_shapes']:.1f}, graph {g['graph']:.1f} -> {r['graph_vs_roofline_pct']:.0f} % "
              f"of the roofline ({r['roofline_gmacs_per_s']:.1f}), {r['graph_vs_model_shapes_pct']:.0f} % of its "
              f"own shapes on numpy")
        print(format_profile(r["profile"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
