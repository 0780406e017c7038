#!/usr/bin/env python3
"""Benchmark several models/precisions side by side in one process and one figure.

usage: python scripts/bench_compare.py --run d3dp=model:d3dp --run htp=model:htp --frames 243 \
           --no-flip --iters 5 --plot out/compare.png [--json out/compare.json]
A run is LABEL=KIND:SOURCE with KIND model (a preset, random weights, or checkpoint) or onnx.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _parse_run(text: str) -> tuple[str, str, str]:
    label, _, spec = text.partition("=")
    kind, _, source = spec.partition(":")
    if not label or kind not in ("model", "onnx") or not source:
        raise argparse.ArgumentTypeError(f"expected LABEL=model:NAME or LABEL=onnx:PATH, got {text!r}")
    return label, kind, source


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", action="append", type=_parse_run, required=True)
    p.add_argument("--backend", default="onnxruntime")
    p.add_argument("--frames", type=int, default=None)
    p.add_argument("--steps", type=int, default=1)
    p.add_argument("--no-flip", action="store_true")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--plot", default=None)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    from htp_edge.bench.plot import plot_stage_bars
    from htp_edge.cli import cmd_bench
    from htp_edge.errors import HtpEdgeError
    results = []
    for label, kind, source in args.run:
        ns = argparse.Namespace(model=source if kind == "model" else None, onnx=source if kind == "onnx" else None,
                                engine=None, backend=args.backend, frames=args.frames, steps=args.steps,
                                hypotheses=1, no_flip=args.no_flip, warmup=args.warmup, iters=args.iters,
                                mode="latency", clips=1, threads=args.threads, gemm_reference=False, plot=None,
                                label=label)
        try:
            r = cmd_bench.run(ns)
        except HtpEdgeError as exc:
            print(f"bench_compare: error: {label}: {exc}", file=sys.stderr)
            return 2
        results.append(r)
        t = r["total"]
        print(f"{label:>24}: total p50 {t['p50_ms']:9.2f} ms, mean {t['mean_ms']:9.2f} ms, "
              f"{r['frames_per_s']:8.1f} frames/s, denoiser {r.get('achieved_gmacs_per_s') or 0:.1f} GMAC/s")
    base = results[0]["total"]["p50_ms"]
    for r in results[1:]:
        print(f"{r['label']} vs {results[0]['label']}: {base / r['total']['p50_ms']:.2f}x faster (p50 total)")
    if args.plot:
        print(f"plot: {plot_stage_bars(results, args.plot, title='htp-edge: side-by-side latency')}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
