#!/usr/bin/env python3
"""Soak test: push many frames through a StreamingLifter and report memory over time.

usage: python scripts/soak.py [--frames 10000] [--checkpoint htp-small] [--backend onnxruntime]
Exits 1 if the resident memory in the second half grows by more than --tolerance percent.
"""
from __future__ import annotations

import argparse
import json
import sys
import time


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=10000)
    p.add_argument("--checkpoint", default="htp-small")
    p.add_argument("--backend", default="onnxruntime")
    p.add_argument("--tolerance", type=float, default=5.0, help="allowed RSS growth, percent")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    import numpy as np

    from htp_edge.bench.memory import current_rss_mib
    from htp_edge.bench.run import walking_keypoints
    from htp_edge.bench.stats import summarize
    from htp_edge.runtime.lifter import Lifter
    from htp_edge.runtime.streaming import StreamingLifter
    stream = StreamingLifter(Lifter.load(args.checkpoint, backend=args.backend), 1000, 1000)
    kp = walking_keypoints(600)
    rss, t0 = [], time.perf_counter()
    for i in range(args.frames):
        frame = kp[i % len(kp)].copy()
        if i % 97 == 0:
            frame[i % 17] = np.nan  # occasional dropped joint
        stream.push(frame)
        if i % 500 == 0:
            rss.append((i, current_rss_mib()))
    seconds = time.perf_counter() - t0
    half = [m for i, m in rss if i >= args.frames // 2]
    growth = 100.0 * (max(half) - half[0]) / half[0]
    lat = summarize(list(stream.latencies_ms))
    result = {"frames": args.frames, "seconds": seconds, "frames_per_s": args.frames / seconds,
              "rss_mib": rss, "rss_growth_second_half_pct": growth, "latency_ms": lat}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.frames} frames in {seconds:.1f} s ({args.frames / seconds:.1f} frames/s); per-output latency "
              f"p50 {lat['p50_ms']:.2f} ms, p99 {lat['p99_ms']:.2f} ms")
        print(f"RSS MiB every 500 frames: {[round(m, 1) for _, m in rss]}")
        print(f"RSS growth over the second half: {growth:.2f} % (limit {args.tolerance} %)")
    return 0 if growth <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
