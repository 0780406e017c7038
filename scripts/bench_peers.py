#!/usr/bin/env python3
"""htp-edge beside what a user would pick instead: the same graph and feed on every peer, in one run.

usage: python scripts/bench_peers.py [--model htp-small] [--model htp-small/c8] [--model d3dp-small]
           [--model d3dp:243] [--peers ort,htp-edge,htp-edge-lift,openvino,htp-edge-openvino,torch,torch-compile]
           [--iters 30] [--warmup 3] [--threads N] [--plot peers.png] [--json peers.json]

A model is NAME[:FRAMES][/cCLIPS]: a bundled checkpoint (htp-small, d3dp-small) or a preset with
seeded random weights (d3dp, htp; timing only). Each peer runs one denoiser call on the graph's
fixed batch (flip x clips), fed exactly what htp-edge's Lifter sends on a walking clip (captured
from a real lift), except ``htp-edge-lift``: the whole Lifter.lift (planner, pre/post-processing).
Calls are interleaved: every iteration runs each peer once, in an order rotated per iteration;
figures are medians (p50) and p99 over the iterations. The roofline is this CPU's FP32 GEMM rate,
timed inside the same loop: at the model's MLP shape (numpy and torch) and 1024^3 (numpy), the
fastest of them.
Before timing, every peer's outputs are checked against bare ONNX Runtime's on the same feed
with the FP32 tolerances of htp_edge.tolerances. Peers that are not installed are skipped.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


def _blas_threads_from_argv(argv) -> None:
    """numpy's OpenBLAS reads its thread count once, at import: set it to --threads before that."""
    for i, arg in enumerate(argv):
        value = arg.split("=", 1)[1] if arg.startswith("--threads=") else (
            argv[i + 1] if arg == "--threads" and i + 1 < len(argv) else None)
        if value and value.isdigit() and int(value) > 0:
            os.environ.setdefault("OPENBLAS_NUM_THREADS", value)
            return
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # the default of --threads


if __name__ == "__main__":
    _blas_threads_from_argv(sys.argv[1:])

import numpy as np  # noqa: E402 - after the BLAS thread count is set

PEERS = ("ort", "htp-edge", "htp-edge-lift", "openvino", "htp-edge-openvino", "torch", "torch-compile")
GEMMS = ("gemm-numpy", "gemm-torch")
DEFAULT_MODELS = ("htp-small", "htp-small/c8", "d3dp-small")
SIZE = 1000.0  # image width and height of the synthetic clip, pixels


class Missing(Exception):
    """A peer that cannot run here (its package is not installed); the run skips it."""


@dataclass(frozen=True)
class ModelSpec:
    """NAME[:FRAMES][/cCLIPS]"""

    name: str
    frames: int | None = None
    clips: int = 1

    def __post_init__(self) -> None:
        from htp_edge.errors import HtpEdgeError
        if self.clips < 1 or (self.frames is not None and self.frames < 1):
            raise HtpEdgeError(f"bench_peers: frames and clips must be >= 1, got {self.label}.")

    @classmethod
    def parse(cls, text: str) -> "ModelSpec":
        m = re.fullmatch(r"([\w.-]+?)(?::(\d+))?(?:/c(\d+))?", text)
        if not m:
            raise argparse.ArgumentTypeError(f"expected NAME[:FRAMES][/cCLIPS] (e.g. htp-small/c8, d3dp:243), "
                                             f"got {text!r}")
        return cls(m[1], int(m[2]) if m[2] else None, int(m[3]) if m[3] else 1)

    @property
    def label(self) -> str:
        return self.name + (f":{self.frames}" if self.frames else "") + (f"/c{self.clips}" if self.clips > 1 else "")


@dataclass
class Case:
    """One model: its ONNX graph, the checkpoint it came from, the captured feed and its costs."""

    spec: ModelSpec
    checkpoint: str
    onnx: Path
    meta: object                      # GraphMeta
    feed: dict[str, np.ndarray]       # one denoiser call, as the Lifter sends it
    keypoints: np.ndarray             # (F * clips, 17, 2) pixels: the clip lifted by htp-edge-lift
    macs_per_call: float | None
    gemm_shape: tuple[int, int, int]  # (tokens, embed, hidden) of one MLP matmul on this batch

    @property
    def frames_per_call(self) -> int:
        return self.meta.frames * self.meta.clips


@dataclass
class Peer:
    """One contender: ``call()`` runs once on the case's feed and returns its outputs (or None)."""

    name: str
    kind: str                         # graph | pipeline | gemm
    call: Callable[[], dict | None]
    setup_s: float = 0.0
    close: Callable[[], None] = lambda: None
    times_ms: list[float] = field(default_factory=list)
    macs: float = 0.0                 # gemm peers: MACs of one call


# -- cases --------------------------------------------------------------------------------------
def checkpoint_for(spec: ModelSpec) -> str:
    """A bundled name as is; a preset (or a bundled name at other frames) as a seeded random checkpoint."""
    from htp_edge.artifacts.naming import BUNDLED
    from htp_edge.model.config import preset
    if spec.name in BUNDLED and spec.frames in (None, preset(spec.name).frames):
        return spec.name
    from htp_edge.model.checkpoint import random_checkpoint
    return str(random_checkpoint(preset(spec.name, spec.frames)))


def prepare_case(spec: ModelSpec, threads: int) -> Case:
    from htp_edge.artifacts.naming import GraphLayout
    from htp_edge.artifacts.onnx_meta import read_graph_meta
    from htp_edge.bench.run import walking_keypoints
    from htp_edge.export.runtime_graphs import cached_export
    from htp_edge.runtime.lifter import Lifter
    ckpt = checkpoint_for(spec)
    onnx = cached_export(ckpt, GraphLayout(clips=spec.clips, hypotheses=1, flip=True))
    meta = read_graph_meta(onnx)
    keypoints = walking_keypoints(meta.frames * meta.clips)
    with Lifter.load(str(onnx), backend="onnxruntime", threads=threads) as lifter:
        feed = capture_feed(lifter, keypoints)
    model = dict(meta.model)
    c = int(model.get("embed_dim", 512))
    hidden = int(c * float(model.get("mlp_ratio", 2.0)))
    tokens = meta.batch * meta.frames * meta.joints
    macs = meta.macs_per_pass * meta.batch if meta.macs_per_pass else None
    return Case(spec, ckpt, Path(onnx), meta, feed, keypoints, macs, (tokens, c, hidden))


def capture_feed(lifter, keypoints: np.ndarray) -> dict[str, np.ndarray]:
    """The first denoiser feed of one real lift of ``keypoints``."""
    runner = lifter.graphs.denoiser
    seen: list[dict] = []
    original = runner.infer

    def recording(feed):
        seen.append({k: np.array(v, copy=True) for k, v in feed.items()})
        return original(feed)

    runner.infer = recording
    try:
        lifter.lift(keypoints, SIZE, SIZE)
    finally:
        del runner.infer  # back to the class method
    return seen[0]


# -- peers --------------------------------------------------------------------------------------
def _need(module: str, hint: str):
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        raise Missing(f"{module} is not installed ({hint})") from None


def peer_ort(case: Case, threads: int) -> Peer:
    ort = _need("onnxruntime", "pip install onnxruntime")
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(str(case.onnx), sess_options=opts, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return Peer("ort", "graph", lambda: dict(zip(names, sess.run(names, case.feed))))


def _runner_peer(name: str, backend: str, case: Case, threads: int) -> Peer:
    from htp_edge.runtime.backends import backend_names, make_runner
    if backend not in backend_names():
        raise Missing(f"no {backend} backend registered")
    runner = make_runner(backend, case.onnx, threads=threads)
    runner.activate()
    return Peer(name, "graph", lambda: runner.infer(case.feed), close=runner.deactivate)


def peer_htp_edge(case: Case, threads: int) -> Peer:
    return _runner_peer("htp-edge", "onnxruntime", case, threads)


def peer_htp_edge_openvino(case: Case, threads: int) -> Peer:
    _need("openvino", "pip install htp_edge[openvino]")
    return _runner_peer("htp-edge-openvino", "openvino", case, threads)


def peer_htp_edge_lift(case: Case, threads: int) -> Peer:
    from htp_edge.runtime.lifter import Lifter
    lifter = Lifter.load(str(case.onnx), backend="onnxruntime", threads=threads)

    def call():
        lifter.lift(case.keypoints, SIZE, SIZE)
    return Peer("htp-edge-lift", "pipeline", call, close=lifter.close)


def peer_openvino(case: Case, threads: int) -> Peer:
    ov = _need("openvino", "pip install openvino")
    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}  # FP32, as the other peers
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    compiled = ov.Core().compile_model(str(case.onnx), "CPU", config)
    request = compiled.create_infer_request()
    outputs = [(p.get_any_name(), p) for p in compiled.outputs]

    def call():
        result = request.infer(case.feed)
        return {name: np.asarray(result[port]) for name, port in outputs}
    return Peer("openvino", "graph", call)


def _torch_module(case: Case, threads: int):
    """The eager DenoiserGraph of the checkpoint the ONNX was exported from, and its I/O names."""
    torch = _need("torch", "pip install torch")
    from htp_edge.artifacts.naming import GraphLayout
    from htp_edge.export.runtime_graphs import torch_graphs
    if threads:
        torch.set_num_threads(threads)
    meta = case.meta
    graphs = torch_graphs(case.checkpoint, GraphLayout(clips=meta.clips, hypotheses=meta.hypotheses, flip=meta.flip))
    runner = graphs.denoiser
    return torch, runner.module.eval(), runner.input_names, runner.output_names


def _torch_call(torch, module, case: Case, input_names, output_names):
    args = [torch.from_numpy(case.feed[n]) for n in input_names]

    def call():
        with torch.inference_mode():
            out = module(*args)
        out = out if isinstance(out, tuple) else (out,)
        return {n: o.numpy() for n, o in zip(output_names, out)}
    return call


def peer_torch(case: Case, threads: int) -> Peer:
    torch, module, ins, outs = _torch_module(case, threads)
    return Peer("torch", "graph", _torch_call(torch, module, case, ins, outs))


def peer_torch_compile(case: Case, threads: int) -> Peer:
    torch, module, ins, outs = _torch_module(case, threads)
    compiled = torch.compile(module, dynamic=False)  # inductor; compiles on the first call
    return Peer("torch-compile", "graph", _torch_call(torch, compiled, case, ins, outs))


PEAK_GEMM = 1024  # the square GEMM of the CPU's peak rate


def gemm_peers(case: Case, threads: int) -> list[Peer]:
    """The roofline, timed in the same loop: FP32 GEMM at the model's MLP shape (tokens x embed) @
    (embed x hidden) with numpy and torch, and a 1024^3 numpy GEMM (the CPU's peak rate)."""
    m, k, n = case.gemm_shape
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((m, k), dtype=np.float32), rng.standard_normal((k, n), dtype=np.float32)
    sq = rng.standard_normal((PEAK_GEMM, PEAK_GEMM), dtype=np.float32)
    peers = [Peer("gemm-numpy", "gemm", lambda: {"y": a @ b}, macs=m * k * n),
             Peer(f"gemm-numpy-{PEAK_GEMM}", "gemm", lambda: {"y": sq @ sq}, macs=PEAK_GEMM ** 3)]
    try:
        torch = _need("torch", "pip install torch")
    except Missing:
        return peers
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)

    def call():
        with torch.inference_mode():
            return {"y": torch.matmul(ta, tb)}
    peers.insert(1, Peer("gemm-torch", "gemm", call, macs=m * k * n))
    return peers


FACTORIES: dict[str, Callable[[Case, int], Peer]] = {
    "ort": peer_ort, "htp-edge": peer_htp_edge, "htp-edge-lift": peer_htp_edge_lift, "openvino": peer_openvino,
    "htp-edge-openvino": peer_htp_edge_openvino, "torch": peer_torch, "torch-compile": peer_torch_compile,
}


def open_peers(case: Case, names, threads: int, log=print) -> tuple[list[Peer], dict[str, str]]:
    """Create, and warm once (torch.compile compiles here), every peer that can run; the rest skipped."""
    peers, skipped = [], {}
    for name in names:
        t0 = time.perf_counter()
        try:
            peer = FACTORIES[name](case, threads)
            peer.call()
        except Missing as exc:
            skipped[name] = str(exc)
            log(f"bench_peers: skipped {name}: {exc}")
            continue
        peer.setup_s = time.perf_counter() - t0
        peers.append(peer)
    return peers, skipped


# -- parity -------------------------------------------------------------------------------------
def parity(outputs: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> dict:
    """Outputs vs bare ORT's with the FP32 tolerances (htp_edge.runtime.compare, the one comparator):
    max |diff| over float outputs, smallest agreement over index outputs."""
    from htp_edge.errors import HtpEdgeError
    from htp_edge.runtime.compare import compare_outputs
    try:
        rep = compare_outputs(reference, outputs, "fp32")
    except HtpEdgeError as exc:  # an output missing or of another shape
        return {"ok": False, "max_abs_diff": float("inf"), "index_agreement": None, "error": str(exc)}
    floats = [o.max_abs for o in rep.outputs if o.agreement is None]
    indices = [o.agreement for o in rep.outputs if o.agreement is not None]
    return {"ok": rep.ok, "max_abs_diff": max(floats, default=0.0), "index_agreement": min(indices, default=None),
            "outputs": rep.to_json()["outputs"]}


# -- timing -------------------------------------------------------------------------------------
def interleave(peers: list[Peer], iters: int, warmup: int, progress=None) -> None:
    """``warmup + iters`` rounds; each round calls every peer once, order rotated per round."""
    for i in range(warmup + iters):
        shift = i % len(peers)
        for peer in peers[shift:] + peers[:shift]:
            t0 = time.perf_counter()
            peer.call()
            ms = (time.perf_counter() - t0) * 1e3
            if i >= warmup:
                peer.times_ms.append(ms)
        if progress is not None:
            progress.update(1)


def summarize(case: Case, peers: list[Peer], parities: dict[str, dict], skipped: dict[str, str]) -> dict:
    stats = {p.name: {"p50_ms": float(np.median(p.times_ms)), "p99_ms": float(np.percentile(p.times_ms, 99)),
                      "mean_ms": float(np.mean(p.times_ms)), "setup_s": p.setup_s, "kind": p.kind,
                      "iters": len(p.times_ms)} for p in peers}
    gemm = {p.name: p.macs / (stats[p.name]["p50_ms"] / 1e3) / 1e9 for p in peers if p.kind == "gemm"}
    roof = max(gemm.values()) if gemm else None
    ort_p50 = stats.get("ort", {}).get("p50_ms")
    rows = {}
    for name, s in stats.items():
        if s["kind"] == "gemm":
            continue
        row = dict(s)
        row["frames_per_s"] = case.frames_per_call / (s["p50_ms"] / 1e3)
        row["gmacs_per_s"] = case.macs_per_call / (s["p50_ms"] / 1e3) / 1e9 if case.macs_per_call else None
        row["pct_of_roofline"] = 100 * row["gmacs_per_s"] / roof if roof and row["gmacs_per_s"] else None
        row["speedup_vs_ort"] = ort_p50 / s["p50_ms"] if ort_p50 else None
        row["parity"] = parities.get(name)
        rows[name] = row
    meta = case.meta
    return {"model": case.spec.label, "tag": meta.tag, "onnx": str(case.onnx), "frames": meta.frames,
            "clips": meta.clips, "batch": meta.batch, "frames_per_call": case.frames_per_call,
            "macs_per_pass": meta.macs_per_pass, "macs_per_call": case.macs_per_call,
            "peers": rows, "skipped": skipped,
            "roofline": {"gemm_shape": list(case.gemm_shape), "gmacs_per_s": gemm, "roofline_gmacs_per_s": roof}}


def run_case(spec: ModelSpec, names, threads: int, iters: int, warmup: int, log=print) -> dict:
    from htp_edge.errors import HtpEdgeError
    case = prepare_case(spec, threads)
    peers, skipped = open_peers(case, names, threads, log)
    try:
        graph_peers = {p.name: p for p in peers if p.kind == "graph"}
        if "ort" not in graph_peers:
            raise HtpEdgeError("bench_peers: bare ONNX Runtime is the reference. Expected the ort peer, got "
                               f"{', '.join(graph_peers) or 'none'}. Add ort to --peers (pip install onnxruntime).")
        reference = graph_peers["ort"].call()
        parities = {name: parity(p.call(), reference) for name, p in graph_peers.items() if name != "ort"}
        peers += gemm_peers(case, threads)
        progress = _progress(warmup + iters, case.spec.label)
        interleave(peers, iters, warmup, progress)
        if progress is not None:
            progress.close()
    finally:
        for p in peers:
            p.close()
    return summarize(case, peers, parities, skipped)


def _progress(total: int, label: str):
    if not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=label, file=sys.stderr, leave=False)


# -- report -------------------------------------------------------------------------------------
def _fmt(value, spec: str, empty: str = "-") -> str:
    return empty if value is None else format(value, spec)


def format_case(r: dict) -> str:
    roof = r["roofline"]
    macs = r["macs_per_call"]
    lines = [f"{r['model']} ({r['tag']}): F={r['frames']}, clips={r['clips']}, batch {r['batch']}, "
             f"{_fmt(macs and macs / 1e9, '.3f')} GMAC per call, {next(iter(r['peers'].values()))['iters']} "
             f"interleaved iterations",
             f"  {'peer':<19}{'p50 ms':>9}{'p99 ms':>9}{'frames/s':>10}{'GMAC/s':>8}{'% roof':>8}{'x ORT':>7}"
             f"{'setup s':>9}  parity vs ORT (max |diff|)"]
    for name, p in r["peers"].items():
        par = p["parity"]
        if name == "ort":
            check = "reference"
        elif par is None:
            check = "n/a (whole pipeline)"
        else:
            check = f"{'ok' if par['ok'] else 'FAIL'} ({par['max_abs_diff']:.1e}"
            check += f", indices {100 * par['index_agreement']:.0f} % equal)" if par["index_agreement"] is not None \
                else ")"
        lines.append(f"  {name:<19}{p['p50_ms']:>9.2f}{p['p99_ms']:>9.2f}{p['frames_per_s']:>10.0f}"
                     f"{_fmt(p['gmacs_per_s'], '.1f'):>8}{_fmt(p['pct_of_roofline'], '.0f'):>8}"
                     f"{_fmt(p['speedup_vs_ort'], '.2f'):>7}{p['setup_s']:>9.2f}  {check}")
    shape = "x".join(str(d) for d in roof["gemm_shape"])
    gemm = ", ".join(f"{k} {v:.1f}" for k, v in roof["gmacs_per_s"].items())
    lines.append(f"  roofline (FP32 GEMM GMAC/s, same loop; MLP shape {shape} = m x k x n): {gemm}")
    for name, why in r["skipped"].items():
        lines.append(f"  skipped {name}: {why}")
    return "\n".join(lines)


def plot(report: dict, path: str) -> str:
    """One panel per model: p50 (bar) and p99 (whisker) per peer, annotated with x ORT."""
    from htp_edge.artifacts.files import atomic_write
    from htp_edge.bench.plot import pyplot
    plt = pyplot("bench_peers --plot")
    cases = report["cases"]
    fig, axes = plt.subplots(1, len(cases), figsize=(4.5 * len(cases), 3.8), squeeze=False)
    for ax, r in zip(axes[0], cases):
        names = list(r["peers"])
        p50 = [r["peers"][n]["p50_ms"] for n in names]
        p99 = [r["peers"][n]["p99_ms"] for n in names]
        ax.barh(names, p50, xerr=[[0] * len(names), [b - a for a, b in zip(p50, p99)]], color="tab:blue",
                ecolor="grey", capsize=3)
        for y, n in enumerate(names):
            x = r["peers"][n]["speedup_vs_ort"]
            ax.annotate(f"{x:.2f}x" if x else "", (p99[y], y), xytext=(4, 0), textcoords="offset points",
                        va="center", fontsize=8)
        ax.set_xlim(0, max(p99) * 1.2)  # room for the labels
        ax.invert_yaxis()
        ax.set_xlabel("ms per call (p50, whisker p99)")
        ax.set_title(f"{r['model']} (batch {r['batch']})", fontsize=10)
    threads = report["threads"] or "default"
    fig.suptitle(f"htp-edge vs peers, FP32 CPU, threads: {threads}", fontsize=11)
    fig.tight_layout()
    out = atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110))
    plt.close(fig)
    return str(out)


def platform_info(threads: int) -> dict:
    import platform

    from htp_edge.bench.platform import distribution_version
    return {"cpu": platform.processor() or platform.machine(), "cpus": len(os.sched_getaffinity(0)),
            "threads": threads, "versions": {n: distribution_version(n) for n in
                                             ("numpy", "onnxruntime", "openvino", "torch", "htp_edge")}}


def parse_peers(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in PEERS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"expected a comma-separated subset of {','.join(PEERS)}, got {text!r}")
    return names


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", action="append", type=ModelSpec.parse, default=None,
                   help=f"NAME[:FRAMES][/cCLIPS], repeatable (default: {' '.join(DEFAULT_MODELS)})")
    p.add_argument("--peers", type=parse_peers, default=PEERS, help=f"comma-separated (default: {','.join(PEERS)})")
    p.add_argument("--iters", type=int, default=30)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=1,
                   help="CPU threads for every peer and the GEMM roofline (default 1: one core each, no thread "
                        "pools spinning against the next peer; 0: each library's own default)")
    p.add_argument("--plot", default=None, help="write a PNG")
    p.add_argument("--json", default=None, help="write the report as JSON")
    args = p.parse_args(argv)
    if args.iters < 1 or args.warmup < 0 or args.threads < 0:
        p.error("--iters must be >= 1, --warmup and --threads >= 0")
    from htp_edge.artifacts.files import atomic_write_json
    from htp_edge.errors import HtpEdgeError
    specs = args.model or [ModelSpec.parse(m) for m in DEFAULT_MODELS]
    report = {"threads": args.threads, "iters": args.iters, "warmup": args.warmup, "cases": []}
    try:
        for spec in specs:
            r = run_case(spec, args.peers, args.threads, args.iters, args.warmup)
            report["cases"].append(r)
            print(format_case(r), flush=True)
    except HtpEdgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report["platform"] = platform_info(args.threads)
    failed = [f"{r['model']}:{n}" for r in report["cases"] for n, row in r["peers"].items()
              if row["parity"] is not None and not row["parity"]["ok"]]
    report["parity_ok"] = not failed
    if args.plot:
        print(f"plot: {plot(report, args.plot)}")
    if args.json:
        atomic_write_json(args.json, report)
    if failed:
        print(f"bench_peers: error: outputs differ from bare ONNX Runtime beyond the FP32 tolerance: "
              f"{', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
