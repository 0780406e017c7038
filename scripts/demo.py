#!/usr/bin/env python3
"""The main job end to end: export -> engine (TensorRT when present, else ONNX Runtime) ->
lift a held-out real clip -> per-stage latency table, MPJPE, and two plots.

usage: python scripts/demo.py [--checkpoint htp-small] [--out out/demo] [--iters 10]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def _have_tensorrt() -> bool:
    from htp_edge.bench.platform import cuda_device, tensorrt_version
    return tensorrt_version() is not None and cuda_device() is not None


def _export(checkpoint: str, out: Path) -> Path:
    from htp_edge.export.config import ExportConfig
    from htp_edge.export.onnx_export import export_onnx
    from htp_edge.model.checkpoint import load_model
    onnx = out / f"{checkpoint}.onnx"
    arch = load_model(checkpoint)[0].config.name
    rep = export_onnx(ExportConfig(model=arch, checkpoint=checkpoint), onnx, progress=lambda m: print(m))
    print(f"exported {onnx}: {rep['nodes']} nodes, {rep['macs_per_pass'] / 1e9:.3f} GMACs per pass, "
          f"parity vs torch {rep['max_abs_diff_vs_torch']:.1e}")
    return onnx


def _engine(onnx: Path) -> tuple[Path, str]:
    """Build TensorRT engines where TensorRT and a GPU exist; otherwise run the ONNX on ONNX Runtime."""
    if not _have_tensorrt():
        print("TensorRT/GPU not present: running the ONNX graph on ONNX Runtime (CPU)")
        return onnx, "onnxruntime"
    from htp_edge.engines.builder import BuildConfig, build_engine
    engine = onnx.with_suffix(".engine")
    build_engine(onnx, engine, BuildConfig())
    planner = onnx.with_suffix(".planner.onnx")
    if planner.is_file():
        build_engine(planner, onnx.with_suffix(".planner.engine"), BuildConfig())
    print(f"built {engine}")
    return engine, "tensorrt"


def _held_out_sequence():
    from htp_edge.evaluation.evaluate import EvalConfig, test_sequences
    seqs = test_sequences(EvalConfig())
    return next(s for s in seqs if s.name.startswith("climb/")), seqs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default="htp-small")
    p.add_argument("--out", default="out/demo")
    p.add_argument("--iters", type=int, default=10)
    args = p.parse_args(argv)
    from htp_edge.bench.plot import plot_stage_bars
    from htp_edge.bench.stats import StageTimes
    from htp_edge.errors import HtpEdgeError
    from htp_edge.evaluation.evaluate import camera_intrinsics, scores
    from htp_edge.runtime.lifter import Lifter
    from htp_edge.viz import plot_skeletons
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        artifact, backend = _engine(_export(args.checkpoint, out))
        seq, _ = _held_out_sequence()
        lifter = Lifter.load(artifact, backend=backend)
        kp = np.concatenate([seq.kp2d_px, seq.confidence[..., None]], -1)
        intr = camera_intrinsics(seq.camera)
        lifter.lift(kp, seq.width, seq.height, intrinsics=intr)  # warm-up
        rec = StageTimes()
        for _ in range(args.iters):
            poses = lifter.lift(kp, seq.width, seq.height, intrinsics=intr)
            with rec.iteration():
                for k, v in lifter.last_timings.items():
                    if k != "total":
                        rec.add(k, v)
    except HtpEdgeError as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        return 2
    summary = rec.summary(frames_per_iteration=seq.num_frames)
    s = scores(poses, seq.pose3d)
    print(f"\nheld-out clip {seq.name}: {seq.num_frames} frames at 30 fps, backend {backend}, {args.iters} runs")
    print(f"  {'stage':<14}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    for name, st in list(summary["stages"].items()) + [("total", summary["total"])]:
        print(f"  {name:<14}{st['p50_ms']:>10.2f}{st['p90_ms']:>10.2f}{st['p99_ms']:>10.2f}{st['mean_ms']:>10.2f}")
    print(f"  throughput {summary['frames_per_s']:.0f} frames/s")
    print(f"  MPJPE {s['mpjpe_mm']:.1f} mm, P-MPJPE {s['p_mpjpe_mm']:.1f} mm "
          f"(without head joints {s['mpjpe_no_head_mm']:.1f} / {s['p_mpjpe_no_head_mm']:.1f} mm)")
    skel = plot_skeletons(poses, out / "demo_skeleton.png", title=f"{seq.name}: prediction vs ground truth",
                          reference=seq.pose3d)
    lat = plot_stage_bars([{"label": f"{args.checkpoint} [{backend}]", **summary}], out / "demo_latency.png",
                          title=f"per-stage latency, {seq.num_frames}-frame clip")
    (out / "demo.json").write_text(json.dumps({"sequence": seq.name, "backend": backend, **s, **summary}, indent=2))
    print(f"  plots: {skel}, {lat}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
