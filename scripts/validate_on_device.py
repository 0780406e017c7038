"""Validate a TensorRT engine on the device against ONNX Runtime outputs saved on the workstation.

On the workstation (ONNX Runtime, no GPU needed) save inputs and reference outputs::

    python scripts/validate_on_device.py --save-reference ref.npz --onnx htp_fp16.onnx [--inputs feed.npz]

On the device (TensorRT + cuda-python or pycuda; no ONNX Runtime needed) build or take an engine,
compare it with the reference (atol per precision on poses in metres, max |diff|, MPJPE delta in
mm), summarise the engine inspector (per-layer precision, fused attention) and time it::

    python scripts/validate_on_device.py --engine htp_fp16_sm87.engine --reference ref.npz
    python scripts/validate_on_device.py --onnx htp_fp16.onnx --profile orin-agx --out engines/out/ --reference ref.npz

Exit status: 0 all outputs within tolerance, 1 some outside, 2 error (one line on stderr).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from htp_edge.errors import HtpEdgeError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="validate_on_device", description=__doc__.splitlines()[0])
    p.add_argument("--save-reference", metavar="REF.npz",
                   help="workstation mode: run --onnx with ONNX Runtime and save")
    p.add_argument("--inputs", metavar="FEED.npz", help="inputs for --save-reference (default: synthetic, --seed)")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic inputs (default 0)")
    p.add_argument("--onnx", help="the ONNX (reference source, or to build the engine from on the device)")
    p.add_argument("--engine", help="device mode: an existing engine")
    p.add_argument("--reference", metavar="REF.npz", help="device mode: the file written by --save-reference")
    p.add_argument("--profile", default="desktop", help="build profile when building from --onnx (default desktop)")
    p.add_argument("--out", help="engine file or folder when building from --onnx (default: beside the ONNX)")
    p.add_argument("--precision", choices=("fp32", "fp16", "int8"), help="tolerance row (default: the manifest's)")
    p.add_argument("--iters", type=int, default=100, help="timed iterations (default 100)")
    p.add_argument("--warmup", type=int, default=10, help="untimed warm-up iterations (default 10)")
    p.add_argument("--cuda", default="auto", choices=("auto", "cuda-python", "pycuda"), help="CUDA binding")
    p.add_argument("--cuda-graph", action="store_true", help="replay the execute call as a CUDA graph")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def save_mode(args) -> dict:
    import numpy as np

    from htp_edge.engines.validation import save_reference

    if not args.onnx:
        raise HtpEdgeError("validate: --save-reference needs --onnx. Expected the ONNX to run, got none.")
    inputs = None
    if args.inputs:
        with np.load(args.inputs, allow_pickle=False) as data:
            inputs = {k: data[k] for k in data.files}
    meta = save_reference(args.onnx, args.save_reference, inputs=inputs, seed=args.seed)
    return {"reference": args.save_reference, **meta,
            "next": "on the device: python scripts/validate_on_device.py --engine ENGINE"
                    f" --reference {args.save_reference}"}


def device_mode(args) -> dict:
    from htp_edge.artifacts.manifest import manifest_from_file
    from htp_edge.artifacts.naming import inspector_path, manifest_path
    from htp_edge.engines.validation import load_reference, summarize_inspector, time_runner
    from htp_edge.runtime.backends import make_runner
    from htp_edge.runtime.compare import compare_outputs
    from htp_edge.tolerances import device_tolerances

    if not args.reference:
        raise HtpEdgeError("validate: device mode needs --reference. Expected the .npz from "
                           "--save-reference, got none.")
    inputs, reference, meta = load_reference(args.reference)
    engine = Path(args.engine) if args.engine else _build(args)
    manifest = manifest_from_file(manifest_path(engine)) or {}
    precision = args.precision or _precision(manifest, meta)
    with make_runner("tensorrt", engine, cuda=args.cuda, use_cuda_graph=args.cuda_graph) as runner:
        report = compare_outputs(reference, runner.infer(inputs), device_tolerances(precision), tool="tensorrt")
        comparison = {"precision": precision, "atol_m": device_tolerances(precision)["*"].atol, **report.to_json()}
        timing = time_runner(runner, inputs, iters=args.iters, warmup=args.warmup)
    layers = inspector_path(engine)
    return {"engine": str(engine), "reference": args.reference,
            "tensorrt": (manifest.get("tensorrt") or {}).get("version"),
            "gpu": (manifest.get("device") or {}).get("name"),
            "comparison": comparison, "passed": comparison["passed"],
            "inspector": summarize_inspector(layers) if layers.is_file() else None, "timing": timing}


def _build(args) -> Path:
    from htp_edge.engines.builder import build_engine
    from htp_edge.engines.config import BuildConfig

    if not args.onnx:
        raise HtpEdgeError("validate: device mode needs --engine or --onnx. Expected an engine or an "
                           "ONNX to build, got neither.")
    out = Path(args.out) if args.out else Path(args.onnx).parent
    return build_engine(args.onnx, out, BuildConfig.from_profile(args.profile)).engine


def _precision(manifest: dict, meta: dict) -> str:
    from htp_edge.engines.validation import device_precision

    for name in ((manifest.get("precision") or {}).get("name"), meta.get("precision")):
        if name and name != "unknown":
            return device_precision(name)
    return "fp32"


def format_text(result: dict) -> str:
    if "comparison" not in result:
        return f"reference {result['reference']} from {result['onnx']} ({result['precision']})\nnext: {result['next']}"
    comp = result["comparison"]
    lines = [f"engine {result['engine']} (TensorRT {result['tensorrt']}, {result['gpu']}) vs {result['reference']}, "
             f"{comp['precision']} atol {comp['atol_m']} m"]
    for name, row in comp["outputs"].items():
        verdict = "ok" if row["passed"] else "FAIL"
        detail = (f"agreement {row['agreement']:.4f}" if "agreement" in row else
                                      f"max |diff| {row['max_abs_diff']:.3g} m" +
                                      (f", MPJPE delta {row['mpjpe_delta_mm']:.3f} mm"
                                       if "mpjpe_delta_mm" in row else ""))
        lines.append(f"  {name:>12}: {detail}  [{verdict}]")
    if result["inspector"]:
        ins = result["inspector"]
        lines.append(f"  layers: {ins['layers']} {ins['per_precision']}, attention fused: {ins['attention_fused']}")
    total = result["timing"]["total"]
    lines.append(f"  latency: p50 {total['p50_ms']:.3f} ms, p90 {total['p90_ms']:.3f} ms, p99 {total['p99_ms']:.3f} ms "
                 f"({result['timing']['iters']} iterations)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = save_mode(args) if args.save_reference else device_mode(args)
    except HtpEdgeError as exc:
        print(f"validate_on_device: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result) if args.json else format_text(result))
    return 0 if result.get("passed", True) else 1


if __name__ == "__main__":
    sys.exit(main())
