"""`htp-edge plan`: MPJPE vs latency over a checkpoint's own knobs, the Pareto front, and the most
accurate setting under a latency budget with the commands that deploy it."""
from __future__ import annotations

import argparse
import sys

from htp_edge.cli import args as argtypes

HELP = ("sweep n1, f, DDIM steps, hypotheses, flip and precision; MPJPE and p50/p99 latency of each, the "
        "Pareto front, and the most accurate setting under --budget-ms with its export/quantize/build commands")
PRECISIONS = ("fp32", "fp16", "int8", "int8-dynamic", "int8-cpu")
FLIPS = {"on": True, "off": False}


def _list_of(parse_one, what: str):
    def parse(text: str):
        items = [t.strip() for t in text.split(",")]
        if not all(items):
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {what}, got {text!r}")
        values = tuple(parse_one(t) for t in items)
        if len(set(values)) != len(values):
            raise argparse.ArgumentTypeError(f"a value repeats in {text!r}")
        return values
    parse.__name__ = f"list of {what}"
    return parse


def _choice(options, what: str):
    def parse(text: str):
        if text not in options:
            raise argparse.ArgumentTypeError(f"unknown {what} {text!r}; expected one of {', '.join(options)}")
        return options[text] if isinstance(options, dict) else text
    return parse


def add_arguments(p) -> None:
    p.add_argument("--checkpoint", default="htp-small", help="bundled name (htp-small, d3dp-small) or .pt/.bin "
                                                             "(default htp-small)")
    p.add_argument("--backend", default="onnxruntime", choices=["onnxruntime", "openvino", "torch", "tensorrt"],
                   help="where to measure (default onnxruntime; openvino runs FP32; tensorrt is not swept yet)")
    p.add_argument("--budget-ms", type=argtypes.positive_float, default=None,
                   help="latency budget per lift of one clip: recommend the most accurate setting within it")
    p.add_argument("--budget-stat", default="p50", choices=["p50", "p99"],
                   help="which latency the budget bounds (default p50, the steady-state cost per call)")
    knobs = p.add_argument_group("grid (comma-separated lists; default: a small CPU grid around the trained n1/f)")
    knobs.add_argument("--n1", type=_list_of(argtypes.positive_int, "positive integers"), default=None,
                       help="TCEP's kept frames, e.g. 9,14,19")
    knobs.add_argument("--f", type=_list_of(argtypes.positive_int, "positive integers"), default=None,
                       help="MGPTP's kept tokens, e.g. 4,7")
    knobs.add_argument("--steps", type=_list_of(argtypes.steps, "DDIM step counts"), default=None,
                       help="DDIM steps K (default 1)")
    knobs.add_argument("--hypotheses", type=_list_of(argtypes.hypotheses, "hypothesis counts"), default=None,
                       help="hypotheses H (default 1)")
    knobs.add_argument("--flip", type=_list_of(_choice(FLIPS, "flip value"), "on/off"), default=None,
                       help="flip augmentation: on, off or on,off (default on,off)")
    knobs.add_argument("--precision", type=_list_of(_choice(PRECISIONS, "precision"), "precisions"), default=None,
                       help="fp32, fp16, int8 (Q/DQ), int8-dynamic, int8-cpu "
                            "(default on onnxruntime: fp32,int8-dynamic)")
    p.add_argument("--split", default="test", choices=["test", "train"], help="data split scored (default test)")
    p.add_argument("--max-sequences", type=argtypes.positive_int, default=None,
                   help="score only the first N sequences of the split (default all)")
    p.add_argument("--seed", type=int, default=0, help="diffusion noise seed of the evaluation")
    p.add_argument("--iters", type=argtypes.positive_int, default=5,
                   help="bench iterations per point and round (default 5)")
    p.add_argument("--warmup", type=int, default=1, help="bench warm-up iterations per point and round (default 1)")
    p.add_argument("--rounds", type=argtypes.positive_int, default=10,
                   help="latency passes over all points, alternated so that load on the machine spreads over every "
                        "point; p50/p99 = medians of the rounds' (default 10)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for onnxruntime/torch (0: default)")
    p.add_argument("--plot", default=None, help="write MPJPE vs p50 latency (front highlighted) to this PNG")
    p.add_argument("--export", default=None, metavar="DIR",
                   help="export (and quantize) the recommended setting into DIR")
    p.add_argument("--profile", default="desktop", help="device profile in the printed build command (default desktop)")
    p.add_argument("--refresh", action="store_true", help="measure again, ignoring cached results")
    p.add_argument("--cache-dir", default=None, help="where results and graphs are kept (default <cache>/plan)")


def config_from_args(args):
    from htp_edge.plan.measure import MeasureConfig
    from htp_edge.plan.sweep import PlanConfig
    overrides = tuple((k, getattr(args, k)) for k in ("n1", "f", "steps", "hypotheses", "flip", "precision")
                      if getattr(args, k) is not None)
    mcfg = MeasureConfig(backend=args.backend, split=args.split, max_sequences=args.max_sequences, seed=args.seed,
                         iters=args.iters, warmup=args.warmup, threads=args.threads)
    return PlanConfig(checkpoint=args.checkpoint, overrides=overrides, measure=mcfg, rounds=args.rounds,
                      budget_ms=args.budget_ms, budget_stat=args.budget_stat, cache_dir=args.cache_dir,
                      refresh=args.refresh)


def run(args) -> dict:
    from htp_edge.plan.sweep import attach_commands, export_recommended, run_plan
    cfg = config_from_args(args)
    report = run_plan(cfg, progress=not args.json and sys.stderr.isatty())
    report = attach_commands(report, cfg, args.export, args.profile)
    if report.get("message"):
        print(f"htp-edge plan: {report['message']}", file=sys.stderr)
    if args.plot:
        from htp_edge.plan.plot import plot_front
        rec = report["recommended"]
        report["plot"] = str(plot_front(
            report["points"], report["pareto"], args.plot, recommended=rec["index"] if rec else None,
            budget_ms=cfg.budget_ms if cfg.budget_stat == "p50" else None,
            title=f"htp-edge plan: {report['checkpoint']['source']} on {cfg.measure.backend}"))
    if args.export:
        report["export"] = export_recommended(report, cfg, args.export, quiet=True)
    return report


def format_text(r: dict) -> str:
    from htp_edge.plan.grid import Setting
    data = r["data"]
    seqs = data["max_sequences"] or "all"
    lines = [f"{r['checkpoint']['source']} on {r['backend']}: {len(r['points'])} settings ({r['measured']} measured, "
             f"{r['cached']} cached); MPJPE on the {data['split']} split ({seqs} sequences); latency of one lift "
             f"of one clip ({r['bench']['iters']} iterations x {r['bench']['rounds']} rounds)",
             f"  {'#':>3}  {'setting':<37}{'MPJPE mm':>10}{'p50 ms':>9}{'p99 ms':>9}  front"]
    front = set(r["pareto"])
    order = sorted(range(len(r["points"])), key=lambda i: r["points"][i]["p50_ms"])
    for i in order:
        p = r["points"][i]
        lines.append(f"  {i:>3}  {Setting.from_json(p['settings']).label():<37}{p['mpjpe_mm']:>10.2f}"
                     f"{p['p50_ms']:>9.2f}{p['p99_ms']:>9.2f}  {'*' if i in front else ''}")
    lines.append("Pareto front (lower MPJPE and lower p50), fastest first: "
                 + ", ".join(f"#{i} ({r['points'][i]['mpjpe_mm']:.1f} mm, {r['points'][i]['p50_ms']:.1f} ms)"
                             for i in r["pareto"]))
    for s in r["skipped"]:
        lines.append(f"  skipped n1={s['n1']} f={s['f']}: {s['reason']}")
    rec = r.get("recommended")
    if rec is not None:
        lines.append(f"recommended under {r['budget_ms']:g} ms ({r['budget_stat']}): #{rec['index']} "
                     f"{Setting.from_json(rec['settings']).label()}: MPJPE {rec['mpjpe_mm']:.2f} mm, "
                     f"p50 {rec['p50_ms']:.2f} ms, p99 {rec['p99_ms']:.2f} ms")
        for name in ("export", "quantize", "build", "eval"):
            if rec["commands"].get(name):
                lines.append(f"  {rec['commands'][name]}")
        if rec.get("build_note"):
            lines.append(f"  ({rec['build_note']})")
    elif r.get("budget_ms") is not None:
        lines.append(f"recommended: none ({r.get('message')})")
    if r.get("plot"):
        lines.append(f"plot: {r['plot']}")
    if r.get("export"):
        lines.append("exported: " + ", ".join(v.get("onnx", "?") for v in r["export"].values()))
    return "\n".join(lines)
