"""`htp-edge quantize`: FP16 or calibrated INT8 (explicit Q/DQ) variants of an exported ONNX."""
from __future__ import annotations

import sys

from htp_edge.cli import args as argtypes

HELP = "make an FP16, INT8 Q/DQ (TensorRT) or INT8 dynamic (CPU) variant of an exported ONNX"
PRECISIONS = ("fp16", "int8", "int8-dynamic", "int8-cpu")


def add_arguments(p) -> None:
    p.add_argument("--onnx", required=True, help="an FP32 .onnx written by htp-edge export")
    p.add_argument("--precision", required=True, choices=PRECISIONS,
                   help="fp16 (FP32 I/O, sensitive ops in FP32), int8 (symmetric Q/DQ on MatMul/Gemm, calibrated; "
                        "the TensorRT format), int8-dynamic (ONNX Runtime CPU format, no calibration) or int8-cpu "
                        "(int8-dynamic on the CPU companion graph, fused attention as QAttention; ONNX Runtime "
                        "CPU only)")
    p.add_argument("--calibration", default=None, help="INT8: a recipe .json (default calibration/recipes/"
                                                       "default.json) or a recorded calibration .npz")
    p.add_argument("--calibrate-method", default="minmax", choices=["minmax", "percentile", "entropy"])
    p.add_argument("--calibration-dir", default="calibration/out", help="where a recorded set is written")
    p.add_argument("--float-pairs", type=int, default=1,
                   help="INT8: keep the first N block pairs (full-frame, before pruning) in float (default 1)")
    p.add_argument("--out", required=True, help="output .onnx")
    p.add_argument("--no-gate", action="store_true",
                   help="keep the graph even when its MPJPE rises over FP32's by more than the gate (the summary says)")
    p.add_argument("--gate-mm", type=float, default=None,
                   help="largest allowed MPJPE increase over FP32 in mm (default: the precision's, "
                        "htp_edge/tolerances.py: fp16 0.2, int8 1.0)")
    p.add_argument("--gate-sequences", type=argtypes.positive_int, default=None,
                   help="test-split sequences the gate evaluates (default: all)")
    from htp_edge.data.datasets import add_dataset_arguments
    add_dataset_arguments(p)  # h36m/3dhp: calibrate on the training subjects, gate on the test subjects


def run(args) -> dict:
    import shutil
    from pathlib import Path

    from htp_edge.artifacts.files import ArtifactSet
    from htp_edge.artifacts.naming import planner_onnx
    from htp_edge.artifacts.onnx_meta import read_graph_meta
    from htp_edge.errors import GateFailed, HtpEdgeError
    from htp_edge.precision.apply import copy_graph_meta, quantize
    src, out = Path(args.onnx), Path(args.out)
    if out.suffix != ".onnx":
        raise HtpEdgeError(f"quantize: --out must be an .onnx file, got {args.out!r}.")
    from htp_edge.data.datasets import dataset_config
    dataset = dataset_config(args)
    meta = read_graph_meta(src)
    planner = planner_onnx(src) if planner_onnx(src).is_file() else None
    outputs = [out, planner_onnx(out) if planner else None]
    with ArtifactSet(outputs, inputs=[src, planner], what="quantize") as staged:
        if dataset.name == "motion":
            report = quantize(src, staged[out], args.precision, calibration=args.calibration,
                              method=args.calibrate_method, calibration_dir=args.calibration_dir,
                              progress=not args.json, float_pairs=args.float_pairs)
        else:
            report = _quantize_on_dataset(args, src, staged[out], dataset)
        copy_graph_meta(staged[out], meta)
        if planner:  # the token-scoring planner stays FP32
            shutil.copyfile(planner, staged[planner_onnx(out)])
        if not args.json:
            print("quantize: MPJPE gate: FP32 and the new graph on the test split ...", file=sys.stderr)
        gate = _gate(args, src, staged[out], dataset)
        report = staged.rewrite(report)
        if not gate["ok"] and not args.no_gate:
            raise GateFailed(f"{args.precision} raised the test-split MPJPE by {gate['delta_mm']:.2f} mm over FP32 "
                             f"({gate['mpjpe_mm']:.2f} vs {gate['mpjpe_fp32_mm']:.2f} mm). Expected at most "
                             f"{gate['gate_mm']} mm. Nothing was written; --no-gate keeps the graph anyway.")
    if planner:
        report["planner_onnx"] = str(planner_onnx(out))
    report["gate"] = {**gate, "enforced": not args.no_gate}
    report.setdefault("calibration_sha256", None)
    report["next"] = (f"htp-edge eval --onnx {out}{_dataset_flags(dataset)}   |   "
                      f"htp-edge build --onnx {out} --out engines/out/")
    if not args.json:
        print(f"wrote {out}", file=sys.stderr)
    return report


def _gate(args, src, candidate, dataset) -> dict:
    """The MPJPE gate on the test split of the chosen data (the built-in split or the dataset's test subjects)."""
    if dataset.name == "motion":
        from htp_edge.precision.apply import mpjpe_gate
        return mpjpe_gate(src, candidate, args.precision, max_sequences=args.gate_sequences, gate_mm=args.gate_mm)
    from htp_edge.evaluation.protocols import dataset_gate
    return dataset_gate(src, candidate, args.precision, dataset, max_sequences=args.gate_sequences,
                        gate_mm=args.gate_mm)


def _quantize_on_dataset(args, src, out, dataset) -> dict:
    """quantize with calibration clips and recorded x_t from ``dataset``'s training subjects and the FP32
    comparison on its test subjects."""
    from htp_edge.export.compare import compare_onnx_files
    from htp_edge.precision.apply import quantize
    from htp_edge.precision.calibration import calibration_set, heldout_feeds
    from htp_edge.tolerances import normalize_precision
    calibration, desc = args.calibration, None
    if args.precision == "int8" and not str(args.calibration or "").endswith(".npz"):
        if not args.json:
            print(f"quantize: recording the calibration set (FP32 sampler on {dataset.name} training-subject "
                  f"clips) ...", file=sys.stderr)
        _, _, desc = calibration_set(src, args.calibration, out_dir=args.calibration_dir, dataset=dataset)
        calibration = desc["saved"]
    report = quantize(src, out, args.precision, calibration=calibration, method=args.calibrate_method,
                      calibration_dir=args.calibration_dir, progress=False, compare=False,
                      float_pairs=args.float_pairs)
    if desc is not None:
        report["calibration"] = desc
    rep = compare_onnx_files(src, out, heldout_feeds(src, dataset), tolerances=normalize_precision(args.precision))
    report["vs_fp32"] = {"ok": rep.ok, "feeds": rep.feeds, "max_abs": rep.max_abs,
                         "agreement": {o.name: o.agreement for o in rep.outputs if o.agreement is not None},
                         "dataset": dataset.name}
    return report


def _dataset_flags(dataset) -> str:
    d = dataset.describe()
    if dataset.name == "motion":
        return ""
    keypoints = f" --keypoints {d['keypoints']}" if "keypoints" in d else ""
    return f" --dataset {dataset.name} --data-dir {d['data_dir']}{keypoints}"
