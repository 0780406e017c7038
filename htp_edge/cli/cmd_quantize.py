"""`htp-edge quantize`: FP16 or calibrated INT8 (explicit Q/DQ) variants of an exported ONNX."""
from __future__ import annotations

import sys

HELP = "make an FP16, INT8 Q/DQ (TensorRT) or INT8 dynamic (CPU) variant of an exported ONNX"
PRECISIONS = ("fp16", "int8", "int8-dynamic")


def add_arguments(p) -> None:
    p.add_argument("--onnx", required=True, help="an FP32 .onnx written by htp-edge export")
    p.add_argument("--precision", required=True, choices=PRECISIONS,
                   help="fp16 (FP32 I/O, sensitive ops in FP32), int8 (symmetric Q/DQ on MatMul/Gemm, calibrated; "
                        "the TensorRT format) or int8-dynamic (ONNX Runtime CPU format, no calibration)")
    p.add_argument("--calibration", default=None, help="INT8: a recipe .json (default calibration/recipes/"
                                                       "default.json) or a recorded calibration .npz")
    p.add_argument("--calibrate-method", default="minmax", choices=["minmax", "percentile", "entropy"])
    p.add_argument("--calibration-dir", default="calibration/out", help="where a recorded set is written")
    p.add_argument("--float-pairs", type=int, default=1,
                   help="INT8: keep the first N block pairs (full-frame, before pruning) in float (default 1)")
    p.add_argument("--out", required=True, help="output .onnx")


def run(args) -> dict:
    import shutil
    from pathlib import Path

    from htp_edge.artifacts.onnx_meta import read_graph_meta
    from htp_edge.errors import HtpEdgeError
    from htp_edge.precision.apply import copy_graph_meta, quantize
    src, out = Path(args.onnx), Path(args.out)
    if out.suffix != ".onnx":
        raise HtpEdgeError(f"quantize: --out must be an .onnx file, got {args.out!r}.")
    meta = read_graph_meta(src)
    report = quantize(src, out, args.precision, calibration=args.calibration, method=args.calibrate_method,
                      calibration_dir=args.calibration_dir, progress=not args.json, float_pairs=args.float_pairs)
    copy_graph_meta(out, meta)
    planner = src.with_suffix(".planner.onnx")
    if planner.is_file():  # the token-scoring planner stays FP32
        shutil.copyfile(planner, out.with_suffix(".planner.onnx"))
        report["planner_onnx"] = str(out.with_suffix(".planner.onnx"))
    report.setdefault("calibration_sha256", None)
    report["next"] = f"htp-edge eval --onnx {out}   |   htp-edge build --onnx {out} --out engines/out/"
    if not args.json:
        print(f"wrote {out}", file=sys.stderr)
    return report
