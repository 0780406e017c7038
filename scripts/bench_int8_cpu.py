#!/usr/bin/env python3
"""INT8 on ONNX Runtime's CPU beside FP32: the shipped CPU recipes on the plain and the CPU companion graphs.

Variants, alternated per iteration (the order rotated) on the feed the runtime builds (medians, speed-up vs FP32
plain): FP32 plain, FP32 CPU graph, ``quantize --precision int8-dynamic`` (MatMul/Gemm, 7-bit
weights, the scoring path, input/output layers and token recovery float) and
``quantize --precision int8-cpu`` (the same on the CPU graph, with the fused attention blocks that
carry no logit bias as QAttention). The recipes are those of :mod:`htp_edge.precision.apply`;
their MPJPE gate is ``htp-edge quantize``'s. Needs onnx (workstation); writes only into a
temporary folder.

usage: python scripts/bench_int8_cpu.py [--onnx G.onnx] [--iters 40]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_ONNX = "htp_edge/checkpoints/htp-small_c1_h1_flip.onnx"


def variants(src: Path, tmp: Path) -> dict[str, Path]:
    from htp_edge.export.cpu_fusion import write_cpu_graph
    from htp_edge.precision.apply import quantize
    out = {"fp32": src, "fp32-cpu": Path(write_cpu_graph(src, tmp / "g.cpu.onnx")["onnx"])}
    for precision in ("int8-dynamic", "int8-cpu"):
        out[precision] = tmp / f"{precision}.onnx"
        with contextlib.redirect_stderr(io.StringIO()):  # the quantiser's pre-processing hint
            quantize(src, out[precision], precision, progress=False, compare=False)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--onnx", default=DEFAULT_ONNX)
    p.add_argument("--iters", type=int, default=40)
    args = p.parse_args(argv)
    import numpy as np

    from htp_edge.bench.gap import bare_session, recorded_feed
    from htp_edge.bench.run import walking_keypoints
    from htp_edge.runtime.lifter import Lifter
    with Lifter.load(args.onnx, cpu_graph=False) as lifter:
        feed = recorded_feed(lifter, walking_keypoints(lifter.frames * lifter.config.clips_per_call))
    with tempfile.TemporaryDirectory() as tmp:
        sessions = {k: bare_session(v) for k, v in variants(Path(args.onnx), Path(tmp)).items()}
        ref = sessions["fp32"].run(None, feed)[0]
        diff = {k: float(np.abs(s.run(None, feed)[0] - ref).max()) for k, s in sessions.items()}
        times = {k: [] for k in sessions}
        order = list(sessions)
        for i in range(args.iters):
            for k in order[i % len(order):] + order[:i % len(order)]:  # rotated: no variant always runs first
                s = sessions[k]
                time.sleep(0.02)  # ONNX Runtime's spinning workers of the previous call go to sleep
                t0 = time.perf_counter()
                s.run(None, feed)
                times[k].append(time.perf_counter() - t0)
    base = float(np.median(times["fp32"]))
    print(f"{args.onnx}: {args.iters} iterations, alternated")
    print(f"  {'variant':<22}{'p50 ms':>10}{'vs fp32':>10}{'max |diff| m':>14}")
    for k, t in times.items():
        print(f"  {k:<22}{np.median(t) * 1e3:>10.2f}{base / np.median(t):>9.2f}x{diff[k]:>14.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
