"""`htp-edge eval`: MPJPE / P-MPJPE on the real-motion test split."""
from __future__ import annotations

import sys

from htp_edge.cli import args as argtypes

HELP = ("accuracy (MPJPE, P-MPJPE in mm) of a checkpoint, ONNX file or engine on the real-motion test split, or on "
        "Human3.6M / MPI-INF-3DHP with D3DP's protocols")


def add_arguments(p) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="bundled name (d3dp-small, htp-small) or .pt/.bin")
    src.add_argument("--onnx", help="an .onnx exported by htp-edge export (ONNX Runtime)")
    src.add_argument("--engine", help="a TensorRT .engine built by htp-edge build")
    src.add_argument("--baseline", choices=["mean-pose"], help="evaluate a trivial baseline instead")
    p.add_argument("--backend", default=None, help="torch, onnxruntime or tensorrt (default: from the source)")
    p.add_argument("--split", default="test")
    p.add_argument("--steps", type=argtypes.steps, default=1, help="DDIM steps K")
    p.add_argument("--hypotheses", type=argtypes.hypotheses, default=None,
                   help="hypotheses H (a static graph fixes it)")
    p.add_argument("--no-flip", action="store_true")
    p.add_argument("--aggregation", default="auto", choices=["auto", "mean", "jpma"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-sequences", type=argtypes.positive_int, default=None)
    p.add_argument("--per-sequence", action="store_true", help="include the per-sequence table")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--stream", action="store_true",
                   help="score the streaming path frame by frame: causal (newest frame) and centred (middle frame) "
                        "beside the offline lift, on the same frames")
    p.add_argument("--views", default=None, choices=["aimed", "approach", "cross"],
                   help="the real-motion split seen by a robot's fixed camera: people approaching from 8 m to "
                        "1.5 m or crossing the view (aimed: today's cameras), scored per clip and distance band")
    p.add_argument("--reframe", action="store_true",
                   help="lift each clip as a virtual camera aimed at the person sees it (Lifter reframe=True)")
    from htp_edge.data.datasets import add_dataset_arguments
    add_dataset_arguments(p)  # --split train scores --subjects-train


def run(args) -> dict:
    from htp_edge.data.datasets import dataset_config
    from htp_edge.evaluation.evaluate import EvalConfig, evaluate_source, mean_pose_baseline
    source = args.checkpoint or args.onnx or args.engine
    backend = args.backend or ("tensorrt" if args.engine else "onnxruntime" if args.onnx else "torch")
    hyps = args.hypotheses
    if hyps is None and not args.onnx and not args.engine:
        hyps = 1
    cfg = EvalConfig(backend=backend, split=args.split, steps=args.steps, hypotheses=hyps or 1, flip=not args.no_flip,
                     aggregation=args.aggregation, seed=args.seed, max_sequences=args.max_sequences,
                     cache_dir=args.cache_dir)
    dataset = dataset_config(args)
    if args.views and (dataset.name != "motion" or args.baseline):
        from htp_edge.errors import HtpEdgeError
        raise HtpEdgeError(f"eval: --views renders the built-in real-motion split. Expected it without --dataset "
                           f"{dataset.name} and --baseline, got them together. Drop one.")
    if args.reframe and (args.stream or args.baseline):
        from htp_edge.errors import HtpEdgeError
        raise HtpEdgeError("eval: --reframe changes how the model is fed. Expected a model source without --stream "
                           "or --baseline, got them together. Drop --reframe.")
    if dataset.name != "motion":
        return _run_dataset(args, cfg, source, dataset)
    if args.views and not args.stream:
        from htp_edge.evaluation.views import evaluate_views
        if args.onnx or args.engine:
            cfg = _layout_from_graph(cfg, source, args)
        return evaluate_views(source, args.views, cfg, progress=not args.json and sys.stderr.isatty(),
                              reframe=args.reframe)
    if args.stream:
        from htp_edge.evaluation.streaming import evaluate_streaming
        if args.onnx or args.engine:
            cfg = _layout_from_graph(cfg, source, args)
        return evaluate_streaming(source, cfg, progress=not args.json and sys.stderr.isatty(), view=args.views)
    if args.baseline:
        report = mean_pose_baseline(cfg)
    else:
        if args.onnx or args.engine:
            cfg = _layout_from_graph(cfg, source, args)
        report = evaluate_source(source, cfg, progress=not args.json and sys.stderr.isatty(), reframe=args.reframe)
    if not args.per_sequence:
        report.pop("per_sequence", None)
    return report


def _run_dataset(args, cfg, source, dataset) -> dict:
    """D3DP's protocol on Human3.6M or MPI-INF-3DHP (per action / per test sequence)."""
    from htp_edge.errors import HtpEdgeError
    from htp_edge.evaluation.protocols import evaluate_dataset
    if args.stream or args.baseline:
        flag = "--stream" if args.stream else "--baseline"
        raise HtpEdgeError(f"eval: {flag} scores the built-in real-motion split only. Expected --dataset motion with "
                           f"it, got --dataset {dataset.name}. Drop {flag}.")
    if args.onnx or args.engine:
        cfg = _layout_from_graph(cfg, source, args)
    report = evaluate_dataset(source, cfg, dataset, progress=not args.json and sys.stderr.isatty(),
                              reframe=args.reframe)
    if not args.per_sequence and isinstance(report.get("per_sequence"), list):
        report.pop("per_sequence")
    return report


def _layout_from_graph(cfg, source, args):
    """H and flip of a static graph unless given."""
    import dataclasses

    from htp_edge.artifacts.manifest import engine_graph_meta
    from htp_edge.artifacts.onnx_meta import read_graph_meta
    meta = read_graph_meta(source) if args.onnx else engine_graph_meta(source)
    hypotheses = meta.hypotheses if args.hypotheses is None else args.hypotheses
    return dataclasses.replace(cfg, hypotheses=hypotheses, flip=meta.flip)


def _format_dataset(r: dict) -> str:
    c = r.get("config", {})
    head = (f"{r['dataset']['name']} ({r['protocol']}): {r['sequences']} sequences, {r['frames']} frames, "
            f"{r['clips']} clips (K={c.get('steps')}, H={c.get('hypotheses')}, flip={c.get('flip')}, "
            f"{c.get('aggregation_used')})")
    if "per_action" in r:
        lines = [head, f"  MPJPE {r['mpjpe_mm']:.1f} mm   P-MPJPE {r['p_mpjpe_mm']:.1f} mm   (mean over "
                       f"{r['actions']} actions)"]
        lines += [f"  {a:>28}: MPJPE {v['mpjpe_mm']:.1f} mm, P-MPJPE {v['p_mpjpe_mm']:.1f} mm"
                  for a, v in r["per_action"].items()]
    else:
        lines = [head, f"  MPJPE {r['mpjpe_mm']:.1f} mm   PCK@150 {r['pck150_pct']:.1f} %   AUC {r['auc_pct']:.1f} %   "
                       f"(mean over {r['sequences']} test sequences)"]
        lines += [f"  {s:>8}: MPJPE {v['mpjpe_mm']:.1f} mm, PCK {v['pck150_pct']:.1f} %, AUC {v['auc_pct']:.1f} %"
                  for s, v in r["per_sequence"].items()]
    for mode, m in r.get("hypothesis_metrics", {}).items():
        lines.append(f"  {mode:>8}: " + ", ".join(f"{k} {v:.1f}" for k, v in m.items()))
    return "\n".join(lines)


def _format_views(r: dict) -> str:
    lines = [f"{r['view']} view{' (reframed)' if r['reframe'] else ''}: {r['sequences']} sequences, {r['frames']} "
             f"frames", f"  MPJPE {r['mpjpe_mm']:.1f} mm (mean over {len(r['per_group'])} clip groups "
             f"{r['mean_over_groups_mm']:.1f} mm)   P-MPJPE {r['p_mpjpe_mm']:.1f} mm"]
    lines += [f"  {g:>32}: MPJPE {v['mpjpe_mm']:.1f} mm" for g, v in r["per_group"].items()]
    lines += [f"  {b:>32}: MPJPE {v['mpjpe_mm']:.1f} mm over {v['frames']} frames" for b, v in r["per_band"].items()]
    return "\n".join(lines)


def format_text(r: dict) -> str:
    if "view" in r:
        return _format_views(r)
    if "protocol" in r:
        return _format_dataset(r)
    if "causal" in r:
        return "\n".join([f"streaming ({r.get('stream_view', 'aimed')} view), window {r['window']}, {r['frames']} "
                           f"frames scored in both modes:"]
                         + [f"  {m:>8}: MPJPE {r[m]['mpjpe_mm']:.1f} mm, P-MPJPE {r[m]['p_mpjpe_mm']:.1f} mm"
                            for m in ("causal", "centred", "offline")]
                         + [f"  causal costs {r['causal_vs_centred_pct']:+.1f} % over centred"])
    c = r.get("config", {})
    lines = [f"{r['sequences']} sequences, {r['frames']} frames, {r['clips']} clips "
             f"(K={c.get('steps')}, H={c.get('hypotheses')}, flip={c.get('flip')}, "
             f"{c.get('aggregation_used', c.get('baseline'))})",
             f"  MPJPE {r['mpjpe_mm']:.1f} mm   P-MPJPE {r['p_mpjpe_mm']:.1f} mm   "
             f"(without head joints: {r['mpjpe_no_head_mm']:.1f} / {r['p_mpjpe_no_head_mm']:.1f} mm)"]
    for src, s in r.get("per_source", {}).items():
        lines.append(f"  {src:>10}: MPJPE {s['mpjpe_mm']:.1f} mm, P-MPJPE {s['p_mpjpe_mm']:.1f} mm")
    return "\n".join(lines)
