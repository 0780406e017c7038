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
    p.add_argument("--out", required=True, help="output FILE.onnx (FILE.planner.onnx and FILE.json beside it)")


def run(args) -> dict:
    from htp_edge.export.config import ExportConfig
    from htp_edge.export.onnx_export import export_onnx

    cfg = ExportConfig(model=args.model, checkpoint=args.checkpoint, frames=args.frames, clips=args.clips,
                       hypotheses=args.hypotheses, flip=not args.no_flip, unrolled_steps=args.unrolled_steps,
                       simplify=not args.no_simplify, seed=args.seed)
    quiet = args.json
    return export_onnx(cfg, args.out, progress=(lambda m: None) if quiet else (lambda m: print(m, file=sys.stderr)))


def format_text(r: dict) -> str:
    planner = f" and {r['planner_onnx']}" if r.get("planner_onnx") else ""
    lines = [f"wrote {r['onnx']}{planner}",
             f"  inputs  {r['inputs']}", f"  outputs {r['outputs']}",
             f"  opset {r['opset']}, {r['nodes']} nodes; {r['macs_per_pass'] / 1e9:.3f} GMACs per pass "
             f"(graph MatMul/Gemm count: {r['graph_vs_analytic']:.4f} x analytic)",
             f"  parity vs torch: max abs diff {r['max_abs_diff_vs_torch']:.2e}, kept indices identical: "
             f"{r['kept_indices_identical']}",
             f"next: htp-edge quantize --onnx {r['onnx']} --precision fp16 --out ...   or   "
             f"htp-edge bench --onnx {r['onnx']} --backend onnxruntime"]
    return "\n".join(lines)
