"""`htp-edge export`: one static-shape ONNX per pruning path, simplified, checked and verified."""
from __future__ import annotations

import sys

from htp_edge.cli import args as argtypes

HELP = "export a denoiser (d3dp or htp) to static-shape ONNX with parity and TensorRT-compatibility checks"


def add_arguments(p) -> None:
    p.add_argument("--model", default="htp", help="architecture: d3dp, htp, d3dp-small or htp-small (default htp)")
    p.add_argument("--checkpoint", default=None, help="bundled name (d3dp-small, htp-small) or .pt/.bin (D3DP layout); "
                                                       "default: seeded random weights")
    p.add_argument("--frames", type=argtypes.frames, default=None, help="receptive field F (default: the model's)")
    p.add_argument("--clips", type=argtypes.positive_int, default=1, help="clips per engine call (static)")
    p.add_argument("--hypotheses", type=argtypes.hypotheses, default=1, help="hypotheses H per clip (static)")
    p.add_argument("--no-flip", action="store_true", help="export without the flip augmentation half of the batch")
    p.add_argument("--unrolled-steps", type=int, default=0, metavar="K",
                   help="export the whole K-step DDIM sampler as one graph (noise as an input)")
    p.add_argument("--no-simplify", action="store_true", help="skip onnxsim/onnxslim")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="output FILE.onnx (FILE.planner.onnx and FILE.json beside it)")
    p.add_argument("--target", default="tensorrt", choices=["tensorrt", "cpu"],
                   help="cpu: also write FILE.cpu.onnx, a CPU-only ONNX Runtime companion (attention fused; "
                        "the runtime prefers it on the CPU). The .onnx itself is the same for both targets")
    p.add_argument("--onnx", default=None, help="with --target cpu: make the CPU companion of this exported graph "
                                                "instead of exporting")


def run(args) -> dict:
    from htp_edge.errors import HtpEdgeError
    from htp_edge.export.config import ExportConfig
    from htp_edge.export.onnx_export import export_onnx
    if args.onnx:
        if args.target != "cpu":
            raise HtpEdgeError("export: --onnx makes a CPU companion of an exported graph. Expected --target cpu, "
                               f"got --target {args.target}.")
        return _cpu_companion(args.onnx, args.out)
    if not args.out:
        raise HtpEdgeError("export: no output. Expected --out FILE.onnx, got none.")

    cfg = ExportConfig(model=args.model, checkpoint=args.checkpoint, frames=args.frames, clips=args.clips,
                       hypotheses=args.hypotheses, flip=not args.no_flip, unrolled_steps=args.unrolled_steps,
                       simplify=not args.no_simplify, seed=args.seed)
    quiet = args.json
    report = export_onnx(cfg, args.out, progress=(lambda m: None) if quiet else (lambda m: print(m, file=sys.stderr)))
    if args.target == "cpu":
        report["cpu"] = _cpu_companion(report["onnx"], None)
    return report


def _cpu_companion(onnx_path: str, out) -> dict:
    from htp_edge.export.cpu_fusion import write_cpu_graph
    return write_cpu_graph(onnx_path, out)


def format_text(r: dict) -> str:
    if "fused_attention" in r:
        return _cpu_text(r)
    planner = f" and {r['planner_onnx']}" if r.get("planner_onnx") else ""
    lines = [f"wrote {r['onnx']}{planner}",
             f"  inputs  {r['inputs']}", f"  outputs {r['outputs']}",
             f"  opset {r['opset']}, {r['nodes']} nodes; {r['macs_per_pass'] / 1e9:.3f} GMACs per pass "
             f"(graph MatMul/Gemm count: {r['graph_vs_analytic']:.4f} x analytic)",
             f"  parity vs torch: max abs diff {r['max_abs_diff_vs_torch']:.2e}, kept indices identical: "
             f"{r['kept_indices_identical']}",
             f"next: htp-edge quantize --onnx {r['onnx']} --precision fp16 --out ...   or   "
             f"htp-edge bench --onnx {r['onnx']} --backend onnxruntime"]
    if r.get("cpu"):
        lines.insert(1, _cpu_text(r["cpu"]))
    return "\n".join(lines)


def _cpu_text(r: dict) -> str:
    return (f"wrote {r['onnx']} (CPU only: {r['fused_attention']} attention blocks fused; max abs diff vs "
            f"{r['source']} {r['max_abs_diff']:.1e}); ONNX Runtime on the CPU runs it in place of the plain graph")
