"""`htp-edge build`: ONNX -> TensorRT engine with its manifest (needs TensorRT on this machine)."""
from __future__ import annotations

HELP = "build a TensorRT engine (plain plan + <engine>.json manifest) from an ONNX file; needs TensorRT"


def add_arguments(p) -> None:
    p.add_argument("--onnx", required=True, help="the ONNX to build (FP32, FP16 or Q/DQ INT8 from htp-edge quantize)")
    p.add_argument("--out", required=True,
                   help="FILE.engine, or a folder: the name is then <onnx stem>_<precision>_sm<cc>.engine")
    p.add_argument("--profile", default="desktop",
                   help="device profile: desktop, orin-agx, orin-nx, orin-nano or a profile JSON (default desktop)")
    p.add_argument("--workspace", type=int, default=None, metavar="MIB",
                   help="builder workspace in MiB (default: the profile's)")
    p.add_argument("--opt-level", type=int, default=None, metavar="0-5",
                   help="builder optimisation level (default: the profile's, 3)")
    p.add_argument("--dla-core", type=int, default=None, metavar="N",
                   help="opt in to DLA core N with GPU fallback (Orin AGX/NX; default: GPU only)")
    p.add_argument("--fp16-flag", action="store_true",
                   help="TensorRT 10 only: weakly typed BuilderFlag.FP16 on an FP32 ONNX instead of an FP16 ONNX")
    p.add_argument("--timing-cache", default=None, metavar="auto|none|PATH",
                   help="timing cache: auto (one per GPU and TensorRT version beside the engine), none, or a file")
    p.add_argument("--no-planner", action="store_true",
                   help="do not also build the TCEP planner (<onnx stem>.planner.onnx) when it sits beside the ONNX")


def run(args) -> dict:
    from htp_edge.artifacts.naming import is_planner, planner_engine, planner_onnx
    from htp_edge.engines.builder import build_engine, planner_config
    from htp_edge.engines.config import BuildConfig

    config = BuildConfig.from_profile(
        args.profile, workspace_mib=args.workspace, builder_optimization_level=args.opt_level,
        dla_core=args.dla_core, fp16_flag_fallback=True if args.fp16_flag else None,
        timing_cache=args.timing_cache)
    result = build_engine(args.onnx, args.out, config)
    summary = _summary(result)
    planner_src = planner_onnx(args.onnx)
    if not args.no_planner and not is_planner(args.onnx) and planner_src.is_file():
        planner = build_engine(planner_src, planner_engine(result.engine), planner_config(config))
        summary["planner_engine"] = str(planner.engine)
        summary["planner_manifest"] = str(planner.manifest)
    summary["next"] = f"htp-edge bench --engine {result.engine} --backend tensorrt"
    return summary


def _summary(result) -> dict:
    data = result.manifest_data
    device = data.get("device") or {}
    return {
        "engine": str(result.engine),
        "manifest": str(result.manifest),
        "inspector": str(result.inspector) if result.inspector else None,
        "timing_cache": str(result.timing_cache) if result.timing_cache else None,
        "precision": data["precision"]["name"],
        "tensorrt": data["tensorrt"]["version"],
        "gpu": device.get("name"),
        "compute_capability": device.get("compute_capability"),
        "dla_core": data.get("dla_core"),
        "build_s": round(result.build_seconds, 2),
    }


def format_text(r: dict) -> str:
    lines = [f"engine    {r['engine']}  ({r['precision']}, TensorRT {r['tensorrt']}, "
             f"{r['gpu'] or 'unknown GPU'} sm {r['compute_capability'] or '?'}, {r['build_s']} s)",
             f"manifest  {r['manifest']}"]
    if r.get("inspector"):
        lines.append(f"layers    {r['inspector']}")
    if r.get("planner_engine"):
        lines.append(f"planner   {r['planner_engine']}")
    lines.append(f"next      {r['next']}")
    return "\n".join(lines)
