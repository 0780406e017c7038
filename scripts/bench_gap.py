#!/usr/bin/env python3
"""The runtime's denoise stage beside a bare InferenceSession.run of the same graph and feed.

Alternates, per iteration: a default ``onnxruntime.InferenceSession.run`` of the denoiser feed
the runtime builds, then ``Lifter.lift`` with the runtime's thread settings (planner on the
calling thread, no spinning), then with ONNX Runtime's defaults for both sessions (``legacy``:
what the runtime did before), and with ``--cpu-graph`` the runtime on the fused CPU companion
(``runtime-cpu``; its max |diff| is then the fusion's). Prints medians and the ratio to bare.

usage: python scripts/bench_gap.py [--onnx FILE.onnx] [--iters 50] [--threads N] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys

DEFAULT_ONNX = "htp_edge/checkpoints/htp-small_c1_h1_flip.onnx"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--onnx", default=DEFAULT_ONNX)
    p.add_argument("--iters", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--settle-ms", type=float, default=10.0, help="pause between contenders")
    p.add_argument("--threads", type=int, nargs="+", default=[0],
                   help="denoiser intra-op threads (0: ONNX Runtime's default); several: one variant each")
    p.add_argument("--spinning", choices=["default", "on", "off"], nargs="+", default=["default"],
                   help="denoiser spinning policy; several: one variant each")
    p.add_argument("--no-legacy", action="store_true", help="skip the ONNX Runtime-defaults variant")
    p.add_argument("--cpu-graph", action="store_true",
                   help="add the runtime on the CPU companion graph (x.cpu.onnx, made in the cache if missing)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    from htp_edge.bench.gap import GapConfig, measure_gap
    from htp_edge.runtime.lifter import Lifter
    spins = {"default": None, "on": True, "off": False}
    lifters = {}
    for threads in args.threads:
        for spin in args.spinning:
            name = "runtime" if len(args.threads) * len(args.spinning) == 1 else f"t{threads or 'def'}-spin-{spin}"
            lifters[name] = Lifter.load(args.onnx, threads=threads, spinning=spins[spin], cpu_graph=False)
    if args.cpu_graph:  # what the runtime runs on the CPU: the fused companion, beside the plain bare run
        lifters["runtime-cpu"] = Lifter.load(args.onnx, cpu_graph=True)
    if not args.no_legacy:
        legacy = Lifter.load(args.onnx, cpu_graph=False)
        if legacy.graphs.planner is not None:  # the planner with the denoiser's (default) options
            from htp_edge.runtime.backends import make_runner
            legacy.graphs.planner.deactivate()
            legacy.graphs.planner = make_runner("onnxruntime", legacy.graphs.planner.artifact)
            legacy.graphs.planner.activate()
        lifters["legacy"] = legacy
    report = measure_gap(args.onnx, lifters, GapConfig(iters=args.iters, warmup=args.warmup,
                                                        settle_ms=args.settle_ms))
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{args.onnx}: {args.iters} iterations, alternated; bare session.run p50 {report['bare']['p50_ms']:.2f} ms")
    print(f"  {'variant':<18}{'denoise p50':>13}{'vs bare':>9}{'lift total p50':>16}{'vs bare':>9}{'max |diff|':>12}")
    for name in lifters:
        r = report[name]
        print(f"  {name:<18}{r['denoise_p50_ms']:>10.2f} ms{r['denoise_vs_bare']:>8.2f}x"
              f"{r['total_p50_ms']:>13.2f} ms{r['total_vs_bare']:>8.2f}x{r['max_abs_diff_vs_bare']:>12.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
