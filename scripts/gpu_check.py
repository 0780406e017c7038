#!/usr/bin/env python3
"""The torch backend on a CUDA GPU: FP32, FP16 autocast and CUDA graphs, timed per stage with CUDA events.

usage: python scripts/gpu_check.py [--model d3dp:243 --model htp:243 --model htp-small] [--iters 50]
           [--warmup 10] [--json gpu_check.json]
       python scripts/gpu_check.py --device cpu --dry-run --model htp-small   (smoke test, no GPU)

For each model (NAME[:FRAMES], presets with seeded random weights or bundled checkpoints) it opens
the model through htp-edge's torch backend (Lifter.load(..., backend="torch", device=...)) and
times, on one clip with flip (batch 2):
  lift            the whole Lifter.lift (planner, denoiser, sampler, aggregation), wall clock
  fp32            one denoiser call: h2d, compute, d2h (CUDA events)
  fp16-autocast   the same under torch.autocast(float16)
  fp32-graph      one CUDA graph replay of the call (static input/output buffers)
  fp16-graph      the same, captured under autocast
Every denoiser row's pose output is compared with the same module in FP32 on the CPU (the device
tolerances of htp_edge.tolerances: FP32 gates the exit status, FP16 is reported). With
``--device cpu --dry-run`` (tiny iteration counts) everything runs except the CUDA-only calls:
events become wall-clock timers, autocast uses bfloat16 and a "graph" is the same static-buffer
call without capture.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_peers: model specs and random checkpoints
from bench_peers import ModelSpec, checkpoint_for  # noqa: E402

DEFAULT_MODELS = ("d3dp:243", "htp:243", "htp-small")
MODES = ("fp32", "fp16-autocast", "fp32-graph", "fp16-graph")
STAGES = ("h2d", "compute", "d2h")
SIZE = 1000.0


@dataclass(frozen=True)
class CheckConfig:
    device: str = "cuda"
    iters: int = 50
    warmup: int = 10
    dry_run: bool = False

    def __post_init__(self) -> None:
        from htp_edge.errors import HtpEdgeError
        if self.device not in ("cuda", "cpu"):
            raise HtpEdgeError(f"gpu_check: unknown device. Expected cuda (or cpu with --dry-run), "
                               f"got {self.device!r}.")
        if self.device == "cpu" and not self.dry_run:
            raise HtpEdgeError("gpu_check: --device cpu is the smoke mode. Expected --dry-run with it, got none.")
        if self.iters < 1 or self.warmup < 0:
            raise HtpEdgeError(f"gpu_check: expected iters >= 1 and warmup >= 0, got {self.iters}, {self.warmup}.")

    @property
    def cuda(self) -> bool:
        return self.device == "cuda"


def require_cuda(torch) -> str:
    """The GPU's name, or one clear error when there is none."""
    from htp_edge.errors import HtpEdgeError
    if not torch.cuda.is_available():
        why = "this torch has no CUDA build" if torch.version.cuda is None else "no CUDA device is visible"
        raise HtpEdgeError(f"gpu_check: no CUDA device. Expected a GPU for the torch backend, got none ({why}). "
                           f"Run on a GPU machine, or smoke-test with --device cpu --dry-run.")
    return torch.cuda.get_device_name(0)


# -- timers -------------------------------------------------------------------------------------
class StageClock:
    """Marks between stages: CUDA events on the current stream, or perf_counter on the CPU."""

    def __init__(self, torch, cuda: bool) -> None:
        self.torch, self.cuda = torch, cuda
        self.rows: list[list] = []

    def start(self) -> None:
        self.rows.append([])
        self.mark()

    def mark(self) -> None:
        if self.cuda:
            event = self.torch.cuda.Event(enable_timing=True)
            event.record()
            self.rows[-1].append(event)
        else:
            self.rows[-1].append(time.perf_counter())

    def stage_ms(self) -> list[list[float]]:
        """Milliseconds between consecutive marks, per iteration (synchronises once)."""
        if self.cuda:
            self.torch.cuda.synchronize()
            return [[a.elapsed_time(b) for a, b in zip(r, r[1:])] for r in self.rows]
        return [[(b - a) * 1e3 for a, b in zip(r, r[1:])] for r in self.rows]


def summary(values) -> dict:
    v = np.asarray(values, dtype=np.float64)
    return {"p50_ms": float(np.median(v)), "p99_ms": float(np.percentile(v, 99)), "mean_ms": float(v.mean())}


# -- one denoiser call, four ways ---------------------------------------------------------------
@dataclass
class Call:
    """One denoiser call on ``device``: inputs copied in, the module run, outputs copied out."""

    torch: object
    module: object
    input_names: tuple
    device: str
    autocast: bool
    static: dict = field(default_factory=dict)   # name -> device tensor (graph modes)
    outputs: tuple = ()                          # device outputs of the captured call
    graph: object = None
    captured: bool = False                       # graph mode (set by capture)

    def context(self):
        torch = self.torch
        if not self.autocast:
            return contextlib.nullcontext()
        dtype = torch.float16 if self.device == "cuda" else torch.bfloat16  # CPU autocast: bfloat16
        # no cast cache in graph modes: cached weight casts would live outside the captured pool
        return torch.autocast(self.device, dtype=dtype, cache_enabled=not self.captured)

    def forward(self, args):
        with self.torch.inference_mode(), self.context():
            out = self.module(*args)
        return out if isinstance(out, tuple) else (out,)

    def h2d(self, feed) -> list:
        torch = self.torch
        with torch.inference_mode():
            if self.static:
                for name in self.input_names:
                    self.static[name].copy_(torch.from_numpy(feed[name]))
                return [self.static[n] for n in self.input_names]
            return [torch.from_numpy(feed[n]).to(self.device) for n in self.input_names]

    def compute(self, args):
        if self.static:
            if self.graph is not None:
                self.graph.replay()
            else:  # dry run on the CPU: the same static buffers, no capture
                self.outputs = self.forward(args)
            return self.outputs
        return self.forward(args)

    @staticmethod
    def d2h(outputs) -> list[np.ndarray]:
        return [o.float().cpu().numpy() if o.is_floating_point() else o.cpu().numpy() for o in outputs]

    def capture(self, feed) -> None:
        """Static buffers; on CUDA, warm on a side stream and capture one call into a CUDA graph."""
        torch = self.torch
        self.captured = True
        with torch.inference_mode():
            self.static = {n: torch.from_numpy(feed[n]).to(self.device).clone() for n in self.input_names}
        args = [self.static[n] for n in self.input_names]
        if self.device != "cuda":
            self.outputs = self.forward(args)
            return
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                self.forward(args)
        torch.cuda.current_stream().wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.outputs = self.forward(args)

    def run(self, feed) -> list[np.ndarray]:
        return self.d2h(self.compute(self.h2d(feed)))


def time_call(call: Call, feed, cfg: CheckConfig) -> tuple[dict, list[np.ndarray]]:
    clock = StageClock(call.torch, cfg.cuda)
    for _ in range(cfg.warmup):
        call.run(feed)
    out = None
    for _ in range(cfg.iters):
        clock.start()
        args = call.h2d(feed)
        clock.mark()
        res = call.compute(args)
        clock.mark()
        out = call.d2h(res)
        clock.mark()
    per_iter = clock.stage_ms()
    stages = {s: summary([row[i] for row in per_iter]) for i, s in enumerate(STAGES)}
    return {"stages": stages, "total": summary([sum(row) for row in per_iter])}, out


# -- per model ----------------------------------------------------------------------------------
def denoiser_feed(lifter, keypoints: np.ndarray) -> dict[str, np.ndarray]:
    """One denoiser call's inputs as the Lifter builds them (sampler.expand_inputs, t of step 1)."""
    from htp_edge.artifacts import names
    from htp_edge.diffusion.sampler import draw_normal
    from htp_edge.pose.normalize import normalize_screen
    clip = normalize_screen(keypoints, SIZE, SIZE)[None].astype(np.float32)  # (1, F, J, 2)
    plan = lifter.graphs.planner.infer({names.KEYPOINTS_2D: clip}) if lifter.graphs.planner else {}
    x2d, plan_in = lifter.sampler.expand_inputs(clip, plan)  # (N, F, J, 2), N = 2 with flip
    noisy = draw_normal(np.random.default_rng(0), x2d.shape[:-1] + (3,))  # (N, F, J, 3)
    t = np.full((len(x2d),), float(lifter.sampler.steps[0].t), np.float32)
    return {names.KEYPOINTS_2D: x2d, names.NOISY_POSE: noisy, names.TIMESTEP: t, **plan_in}


def check_model(spec: ModelSpec, cfg: CheckConfig, log=print) -> dict:
    import torch

    from htp_edge.bench.run import walking_keypoints
    from htp_edge.runtime.lifter import Lifter
    from htp_edge.tolerances import DEVICE_ATOL_M
    t0 = time.perf_counter()
    lifter = Lifter.load(checkpoint_for(spec), backend="torch", device=cfg.device)
    runner, meta = lifter.graphs.denoiser, lifter.graphs.meta
    keypoints = walking_keypoints(lifter.frames)
    feed = denoiser_feed(lifter, keypoints)
    reference = Call(torch, copy.deepcopy(runner.module).to("cpu"), runner.input_names, "cpu", False).run(feed)
    result = {"model": spec.label, "tag": meta.tag, "frames": lifter.frames, "batch": len(feed["timestep"]),
              "macs_per_pass": meta.macs_per_pass, "wall_s": 0.0, "rows": {}}
    result["rows"]["lift"] = time_lift(lifter, keypoints, cfg)
    for mode in MODES:
        call = Call(torch, runner.module, runner.input_names, cfg.device, autocast=mode.startswith("fp16"))
        try:
            if mode.endswith("graph"):
                call.capture(feed)
            row, out = time_call(call, feed, cfg)
        except Exception as exc:  # noqa: BLE001 - a capture that fails is a finding, not a crash
            first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
            row, out = {"error": f"{type(exc).__name__}: {first[:160]}"}, None
            log(f"gpu_check: {spec.label} {mode}: {row['error']}")
        if out is not None:
            precision = "fp16" if mode.startswith("fp16") else "fp32"
            diff = float(np.max(np.abs(out[0].astype(np.float64) - reference[0])))
            row["parity"] = {"max_abs_diff_m": diff, "atol_m": DEVICE_ATOL_M[precision],
                             "ok": diff <= DEVICE_ATOL_M[precision], "gates": precision == "fp32"}
            if meta.macs_per_pass:
                compute_s = row["stages"]["compute"]["p50_ms"] / 1e3
                row["gmacs_per_s"] = meta.macs_per_pass * result["batch"] / compute_s / 1e9
        result["rows"][mode] = row
        del call
    lifter.close()
    if cfg.cuda:
        result["max_memory_allocated_mib"] = torch.cuda.max_memory_allocated() / 2**20
        torch.cuda.empty_cache()
    result["wall_s"] = time.perf_counter() - t0
    return result


def time_lift(lifter, keypoints, cfg: CheckConfig) -> dict:
    """Lifter.lift wall clock (each torch call ends in a device-to-host copy, so it is synchronous)."""
    for _ in range(cfg.warmup):
        lifter.lift(keypoints, SIZE, SIZE)
    totals, stages = [], {}
    for _ in range(cfg.iters):
        t0 = time.perf_counter()
        lifter.lift(keypoints, SIZE, SIZE)
        totals.append((time.perf_counter() - t0) * 1e3)
        for name, ms in lifter.last_timings.items():
            if name != "total":
                stages.setdefault(name, []).append(ms)
    return {"stages": {k: summary(v) for k, v in stages.items()}, "total": summary(totals)}


# -- report -------------------------------------------------------------------------------------
def format_table(report: dict) -> str:
    lines = [f"gpu_check on {report['device_name']} ({report['device']}), torch {report['torch']}, "
             f"{report['iters']} iterations after {report['warmup']} warm-up" + (" [DRY RUN]" if report["dry_run"]
                                                                                 else ""),
             f"  {'model':<12}{'row':<15}{'h2d':>8}{'compute':>9}{'d2h':>8}{'total':>9}{'p99':>9}{'GMAC/s':>9}"
             f"  max|diff| vs CPU FP32"]
    for m in report["models"]:
        for name, row in m["rows"].items():
            if "error" in row:
                lines.append(f"  {m['model']:<12}{name:<15}failed: {row['error']}")
                continue
            st = row["stages"]
            cells = [st[s]["p50_ms"] if s in st else None for s in STAGES]
            if name == "lift":
                cells = [None, st.get("denoise", {}).get("p50_ms"), None]
            text = "".join(f"{'-' if c is None else f'{c:.3f}':>{w}}" for c, w in zip(cells, (8, 9, 8)))
            gm = row.get("gmacs_per_s")
            par = row.get("parity")
            check = "-" if par is None else (f"{par['max_abs_diff_m']:.1e} m "
                                             f"{'ok' if par['ok'] else 'FAIL' if par['gates'] else 'over'} "
                                             f"(atol {par['atol_m']:g})")
            lines.append(f"  {m['model']:<12}{name:<15}{text}{row['total']['p50_ms']:>9.3f}"
                         f"{row['total']['p99_ms']:>9.3f}{'-' if gm is None else f'{gm:.1f}':>9}  {check}")
    lines.append("  (ms, p50 unless named; lift: wall clock of the whole Lifter.lift, its denoise stage under "
                 "compute)")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", action="append", type=ModelSpec.parse, default=None,
                   help=f"NAME[:FRAMES], repeatable (default: {' '.join(DEFAULT_MODELS)})")
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--dry-run", action="store_true", help="smoke mode: 2 iterations, 1 warm-up (CPU allowed)")
    p.add_argument("--iters", type=int, default=None, help="timed iterations (default 50; 2 with --dry-run)")
    p.add_argument("--warmup", type=int, default=None, help="warm-up iterations (default 10; 1 with --dry-run)")
    p.add_argument("--json", default=None, help="write the report here as JSON")
    args = p.parse_args(argv)
    from htp_edge.errors import HtpEdgeError
    try:
        import torch
    except ImportError:
        print("gpu_check: error: torch is not installed. Expected PyTorch with CUDA, got no torch.", file=sys.stderr)
        return 2
    try:
        cfg = CheckConfig(device=args.device, dry_run=args.dry_run,
                          iters=args.iters if args.iters is not None else (2 if args.dry_run else 50),
                          warmup=args.warmup if args.warmup is not None else (1 if args.dry_run else 10))
        name = require_cuda(torch) if cfg.cuda else "CPU"
        if not cfg.cuda:
            torch.set_num_threads(1)  # the smoke mode: one core, no thread pool contending with the rest
        specs = args.model or [ModelSpec.parse(m) for m in DEFAULT_MODELS]
        report = {"device": cfg.device, "device_name": name, "torch": torch.__version__, "cuda": torch.version.cuda,
                  "tf32_matmul": torch.backends.cuda.matmul.allow_tf32, "iters": cfg.iters, "warmup": cfg.warmup,
                  "dry_run": cfg.dry_run, "models": []}
        for spec in specs:
            report["models"].append(check_model(spec, cfg))
            print(f"gpu_check: {spec.label} done in {report['models'][-1]['wall_s']:.1f} s", file=sys.stderr,
                  flush=True)
    except HtpEdgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_table(report))
    failed = [f"{m['model']} {n}" for m in report["models"] for n, r in m["rows"].items()
              if r.get("parity", {}).get("gates") and not r["parity"]["ok"]]
    report["ok"] = not failed
    if args.json:
        from htp_edge.artifacts.files import atomic_write_json
        atomic_write_json(args.json, report)
    if failed:
        print(f"gpu_check: error: FP32 outputs differ from the CPU beyond the device tolerance: {', '.join(failed)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
