"""`htp-edge bench`: per-stage latency of the runtime on one backend."""
from __future__ import annotations

from htp_edge.cli import args as argtypes

HELP = "latency/throughput benchmark of the runtime, per stage (p50/p90/p99/mean/max), with a PNG"


def add_arguments(p) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="architecture preset with random weights (d3dp, htp, d3dp-small, htp-small) "
                                     "or a checkpoint name/path")
    src.add_argument("--onnx", help="an .onnx exported by htp-edge export")
    src.add_argument("--engine", help="a TensorRT .engine built by htp-edge build")
    from htp_edge.runtime.backends import backend_names
    p.add_argument("--backend", required=True, choices=backend_names())
    p.add_argument("--frames", type=argtypes.frames, default=None,
                   help="receptive field F for --model (default: the preset's)")
    p.add_argument("--steps", type=argtypes.steps, default=1, help="DDIM steps K")
    p.add_argument("--hypotheses", type=argtypes.hypotheses, default=1,
                   help="hypotheses H (for --model; a graph fixes it)")
    p.add_argument("--no-flip", action="store_true")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--iters", type=argtypes.positive_int, default=20)
    p.add_argument("--mode", default="latency", choices=["latency", "throughput"])
    p.add_argument("--clips", type=argtypes.positive_int, default=8, help="clips per iteration in throughput mode")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch/onnxruntime (0: default)")
    p.add_argument("--gemm-reference", action="store_true", help="also measure this machine's FP32 GEMM GMAC/s")
    p.add_argument("--plot", default=None, help="write per-stage stacked bars to this PNG")
    p.add_argument("--label", default=None, help="label of this run in the plot")


def run(args) -> dict:
    from htp_edge.bench.run import BenchConfig, gemm_peak_gmacs, run_bench
    cfg = BenchConfig(backend=args.backend, steps=args.steps, hypotheses=args.hypotheses, flip=not args.no_flip,
                      warmup=args.warmup, iters=args.iters, mode=args.mode, clips=args.clips, threads=args.threads)
    lifter, macs, label = _open(args, cfg)
    report = {"backend": args.backend, **run_bench(lifter, cfg, macs)}
    report["label"] = args.label or label
    report["graph"] = lifter.graphs.source  # the file that ran (a CPU companion x.cpu.onnx when present)
    report["macs_per_pass"] = macs
    if args.gemm_reference:
        report["gemm_reference_gmacs_per_s"] = gemm_peak_gmacs()
        if report.get("achieved_gmacs_per_s"):
            report["achieved_vs_gemm_pct"] = 100 * report["achieved_gmacs_per_s"] / report["gemm_reference_gmacs_per_s"]
    report["platform"] = _platform()
    if args.plot:
        from htp_edge.bench.plot import plot_stage_bars
        report["plot"] = str(plot_stage_bars([report], args.plot, title=f"htp-edge bench: {report['label']}"))
    lifter.close()
    return report


def _open(args, cfg):
    """A Lifter for the source, its MACs per pass and a label."""
    from htp_edge.runtime.lifter import Lifter
    opts = {"threads": cfg.threads} if cfg.threads and args.backend in ("onnxruntime", "openvino", "torch") else {}
    if args.model:
        source = _model_source(args, cfg)
        lifter = Lifter.load(source, backend=args.backend, steps=cfg.steps, hypotheses=cfg.hypotheses,
                             flip=cfg.flip, **opts)
    else:
        source = args.onnx or args.engine
        lifter = Lifter.load(source, backend=args.backend, steps=cfg.steps, **opts)
    meta = lifter.graphs.meta
    return lifter, _macs(meta), f"{meta.tag or source} [{args.backend}]"


def _model_source(args, cfg):
    """Presets with random weights become a seeded checkpoint in the cache (torch needed once)."""
    from pathlib import Path

    from htp_edge.artifacts.naming import BUNDLED, CHECKPOINT_SUFFIXES
    if args.model in BUNDLED or Path(args.model).suffix in CHECKPOINT_SUFFIXES:
        return args.model
    from htp_edge.model.checkpoint import random_checkpoint
    from htp_edge.model.config import preset
    return str(random_checkpoint(preset(args.model, args.frames)))


def _macs(meta):
    """Analytic MACs per denoiser pass: recorded at export; older graphs need the model code (torch)."""
    if meta.macs_per_pass is not None:
        return meta.macs_per_pass
    try:
        from htp_edge.model.checkpoint import config_from_dict
        from htp_edge.model.macs import count_macs
        return count_macs(config_from_dict(dict(meta.model))).total
    except (ImportError, KeyError, TypeError):
        return None


def _platform() -> dict:
    from htp_edge.bench.platform import detect_jetson, package_versions
    return {"versions": package_versions(), "jetson": detect_jetson()}


def format_text(r: dict) -> str:
    c = r["config"]
    lines = [f"{r['label']}: {c['mode']} mode, F={c['frames']}, K={c['steps']}, H={c['hypotheses']}, "
             f"flip={c['flip']}, {c['passes_per_iteration']} denoiser passes per iteration, {c['iters']} iterations",
             f"  graph {r.get('graph', '?')}",
             f"  {'stage':<16}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'mean ms':>10}{'max ms':>10}"]
    for name, s in list(r["stages"].items()) + [("total", r["total"])]:
        lines.append(f"  {name:<16}{s['p50_ms']:>10.2f}{s['p90_ms']:>10.2f}{s['p99_ms']:>10.2f}{s['mean_ms']:>10.2f}"
                     f"{s['max_ms']:>10.2f}")
    lines.append(f"  frames/s {r['frames_per_s']:.1f}; "
                 f"runtime overhead {r['runtime_overhead_pct']:.1f} % of the total; "
                 f"peak RSS {r['peak_rss_mib']:.0f} MiB")
    if r.get("achieved_gmacs_per_s"):
        ref = ""
        if r.get("gemm_reference_gmacs_per_s"):
            ref = f" vs GEMM {r['gemm_reference_gmacs_per_s']:.1f} ({r['achieved_vs_gemm_pct']:.0f} %)"
        lines.append(f"  denoiser {r['achieved_gmacs_per_s']:.1f} GMAC/s{ref}")
    if r.get("power"):
        p = r["power"]
        lines.append(f"  power: {p['mean_power_mw']:.0f} mW mean ({p['rail']}), "
                     f"{p['energy_per_inference_mj']:.1f} mJ per iteration")
    if r.get("plot"):
        lines.append(f"  plot: {r['plot']}")
    return "\n".join(lines)
