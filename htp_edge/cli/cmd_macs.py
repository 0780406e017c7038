"""`htp-edge macs`: analytic MACs and parameters of one denoiser pass."""
from __future__ import annotations

from htp_edge.cli import args as argtypes

HELP = "analytic MACs per denoiser pass (one clip x one hypothesis) and parameter count"


def add_arguments(p) -> None:
    p.add_argument("--model", default="htp", help="d3dp, htp, d3dp-small or htp-small (default htp)")
    p.add_argument("--frames", type=argtypes.frames, default=None, help="receptive field F (default: the preset's)")


def run(args) -> dict:
    from htp_edge.model.config import preset
    from htp_edge.model.macs import count_macs, count_params

    cfg = preset(args.model, args.frames)
    rep = count_macs(cfg)
    base = count_macs(preset("d3dp-small" if "small" in args.model else "d3dp", cfg.frames))
    return {
        "model": args.model, "frames": cfg.frames, "params": count_params(cfg),
        "macs_per_pass": rep.total, "macs_per_frame": rep.total / cfg.frames,
        "linear_macs": rep.linear, "attention_macs": rep.attention,
        "ratio_vs_d3dp": rep.total / base.total, "frames_per_layer": [cfg.frames_at(i) for i in range(cfg.depth)],
        "stages": rep.stages,
        "convention": "MACs of one pass = one clip x one hypothesis; Linear in*out per token + QK^T and AV; "
                      "full inference = 2 (flip) x H x K passes",
    }


def format_text(r: dict) -> str:
    lines = [f"{r['model']} at F={r['frames']}: {r['params']:,} parameters",
             f"  {r['macs_per_pass'] / 1e9:.2f} GMACs per pass ({r['linear_macs'] / 1e9:.2f} linear + "
             f"{r['attention_macs'] / 1e9:.2f} attention), {r['macs_per_frame'] / 1e6:.1f} MMACs per frame, "
             f"{r['ratio_vs_d3dp']:.3f} x D3DP", f"  frames per block pair: {r['frames_per_layer']}"]
    lines += [f"  {k:>10}: {v / 1e9:8.3f} G" for k, v in r["stages"].items()]
    lines.append(f"  ({r['convention']})")
    return "\n".join(lines)
