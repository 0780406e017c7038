"""The planner's run: grid -> graphs -> measurements (cached) -> Pareto front -> recommendation.

Accuracy of every setting is measured first, then latency in ``rounds`` passes over all
settings (alternating, so that load on a shared machine spreads over every point; p50 and p99
are then the medians of the rounds' values). The front is over (MPJPE, p50); the budget is
checked against p50 by default (``budget_stat="p99"`` for the tail): p50 is what a stream of
lifts costs per call in steady state, p99 what its slowest calls cost.
"""
from __future__ import annotations

import dataclasses
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

from htp_edge.errors import HtpEdgeError
from htp_edge.plan import measure as measuring
from htp_edge.plan.front import BUDGET_STATS, pareto_front, point_values, recommend
from htp_edge.plan.grid import Grid, Setting, check_backend, default_grid
from htp_edge.plan.measure import MeasureConfig


@dataclass(frozen=True)
class PlanConfig:
    checkpoint: str = "htp-small"
    grid: Grid | None = None            # None: default_grid of the checkpoint
    overrides: tuple = ()               # ((knob, values), ...) replacing lists of the grid
    measure: MeasureConfig = field(default_factory=MeasureConfig)
    rounds: int = 10                    # latency passes over all settings, alternated
    budget_ms: float | None = None
    budget_stat: str = "p50"
    cache_dir: str | None = None        # default <cache>/plan
    refresh: bool = False               # measure again, ignoring cached records

    def __post_init__(self) -> None:
        if self.rounds < 1:
            raise HtpEdgeError(f"plan: rounds must be >= 1, got {self.rounds}.")
        if self.budget_ms is not None and not self.budget_ms > 0:
            raise HtpEdgeError(f"plan: the budget must be a positive number of ms, got {self.budget_ms}.")
        if self.budget_stat not in BUDGET_STATS:
            raise HtpEdgeError(f"plan: unknown budget statistic. Expected one of {', '.join(BUDGET_STATS)}, "
                               f"got {self.budget_stat!r}.")

    @property
    def folder(self) -> Path:
        from htp_edge.artifacts.cache import resolve_cache_dir
        return Path(self.cache_dir) if self.cache_dir else resolve_cache_dir(None) / "plan"


def run_plan(cfg: PlanConfig, progress: bool = False) -> dict:
    """Sweep, measure what is not cached, and report ``points``, ``pareto`` and ``recommended``."""
    from htp_edge.plan.results import ResultCache, host_fingerprint
    from htp_edge.plan.variants import describe
    mcfg = cfg.measure
    check_backend(mcfg.backend, ())
    info = describe(cfg.checkpoint, cfg.folder / "results")
    grid = cfg.grid or default_grid(info.frames, info.n1, info.f, mcfg.backend)
    grid = dataclasses.replace(grid, **dict(cfg.overrides))
    check_backend(mcfg.backend, grid.precision)
    if info.n1 is None and (grid.n1, grid.f) != ((None,), (None,)):
        raise HtpEdgeError(f"plan: {info.model} has no pruning knobs. Expected no --n1/--f for it, got "
                           f"n1 {list(grid.n1)}, f {list(grid.f)}.")
    if info.n1 is not None and None in grid.n1 + grid.f:
        raise HtpEdgeError(f"plan: {info.model} prunes: n1 and f need values. Expected integers, "
                           f"got n1 {list(grid.n1)}, f {list(grid.f)}.")
    settings, skipped = grid.settings(info.frames)
    host = host_fingerprint()
    cache = ResultCache(cfg.folder / "results", refresh=cfg.refresh)
    keys = [_keys(info, s, mcfg, cfg.rounds, host) for s in settings]
    records = _measure_all(info, settings, keys, cache, cfg, progress)
    points = [{"settings": s.to_json(), **rec} for s, rec in zip(settings, records)]
    return summarize(points, info, grid, skipped, cfg, host)


def _keys(info, setting: Setting, mcfg: MeasureConfig, rounds: int, host: dict) -> dict:
    base = {"checkpoint_sha256": info.sha256, "settings": setting.to_json(), "backend": mcfg.backend, "host": host}
    return {"accuracy": {**base, "data": mcfg.data_json()},
            "latency": {**base, "bench": {**mcfg.bench_json(), "rounds": rounds}}}


def _measure_all(info, settings, keys, cache, cfg: PlanConfig, progress: bool) -> list[dict]:
    """Cached records where there are; the rest measured (accuracy first, then the latency rounds)."""
    from htp_edge.plan.graphs import graph_source
    acc = [cache.get("accuracy", k["accuracy"]) for k in keys]
    lat = [cache.get("latency", k["latency"]) for k in keys]
    todo_acc = [i for i, a in enumerate(acc) if a is None]
    todo_lat = [i for i, t in enumerate(lat) if t is None]
    sources: dict[int, str] = {}

    def source(i: int) -> str:
        if i not in sources:
            sources[i] = graph_source(info, settings[i], cfg.measure.backend, cfg.folder)
        return sources[i]

    bar = _bar(len(todo_acc) + cfg.rounds * len(todo_lat), progress)
    try:
        for i in todo_acc:
            bar.set_description(f"accuracy {settings[i].label()}")
            acc[i] = measuring.accuracy(source(i), settings[i], cfg.measure)
            cache.put("accuracy", keys[i]["accuracy"], acc[i])
            bar.update()
        for i, record in _latency_rounds(todo_lat, settings, source, cfg, bar).items():
            lat[i] = record
            cache.put("latency", keys[i]["latency"], record)
    finally:
        bar.close()
    return [{**_accuracy_fields(a), **t, "cached": i not in todo_acc and i not in todo_lat}
            for i, (a, t) in enumerate(zip(acc, lat))]


def _latency_rounds(todo: list[int], settings, source, cfg: PlanConfig, bar) -> dict[int, dict]:
    """``cfg.rounds`` passes over the points in ``todo``, alternated; the combined record of each."""
    runs: dict[int, list[dict]] = {i: [] for i in todo}
    for r in range(cfg.rounds):
        for i in todo:
            bar.set_description(f"latency {r + 1}/{cfg.rounds} {settings[i].label()}")
            runs[i].append(measuring.latency(source(i), settings[i], cfg.measure))
            bar.update()
    return {i: combine_rounds(runs[i]) for i in todo}


def _accuracy_fields(a: dict) -> dict:
    return {"mpjpe_mm": a["mpjpe_mm"], "p_mpjpe_mm": a["p_mpjpe_mm"], "frames": a["frames"],
            "sequences": a["sequences"]}


def combine_rounds(runs: list[dict]) -> dict:
    """Medians of the rounds' p50 and p99, mean of their means."""
    return {"p50_ms": statistics.median(r["p50_ms"] for r in runs),
            "p99_ms": statistics.median(r["p99_ms"] for r in runs),
            "mean_ms": statistics.fmean(r["mean_ms"] for r in runs), "rounds": len(runs)}


def _bar(total: int, enabled: bool):
    from tqdm import tqdm
    return tqdm(total=total, disable=not enabled or total == 0, unit="run", dynamic_ncols=True, leave=False)


def summarize(points: list[dict], info, grid: Grid, skipped: list[dict], cfg: PlanConfig, host: dict) -> dict:
    """The report: points, front, recommendation and the run's context."""
    pareto = pareto_front(point_values(points, "p50"))
    report = {
        "checkpoint": info.to_json(), "backend": cfg.measure.backend,
        "data": cfg.measure.data_json(), "bench": {**cfg.measure.bench_json(), "rounds": cfg.rounds},
        "host": host, "grid": {k: list(v) for k, v in asdict(grid).items()}, "skipped": skipped,
        "points": points, "pareto": pareto,
        "budget_ms": cfg.budget_ms, "budget_stat": cfg.budget_stat, "recommended": None,
        "measured": sum(not p["cached"] for p in points), "cached": sum(p["cached"] for p in points),
    }
    if cfg.budget_ms is not None:
        best = recommend(point_values(points, cfg.budget_stat), cfg.budget_ms)
        if best is None:
            fastest = min(p[f"{cfg.budget_stat}_ms"] for p in points)
            report["message"] = (f"no setting fits the budget: the fastest {cfg.budget_stat} is {fastest:.2f} ms, "
                                 f"over {cfg.budget_ms:g} ms. Raise --budget-ms, or add faster settings "
                                 f"(smaller --n1/--f, --flip off, --precision int8-dynamic).")
        else:
            report["recommended"] = {"index": best, **points[best]}
    return report


def attach_commands(report: dict, cfg: PlanConfig, out_dir: str | None, profile: str = "desktop") -> dict:
    """Add the deploy commands of the recommended point (argv lists and shell lines)."""
    from htp_edge.plan.commands import as_text, build_note, deploy_commands, variant_file_name
    from htp_edge.plan.variants import CheckpointInfo, variant_checkpoint
    rec = report.get("recommended")
    if rec is None:
        return report
    info = CheckpointInfo(**report["checkpoint"])
    setting = Setting.from_json(rec["settings"])
    if info.is_trained(setting.n1, setting.f):
        ckpt = info.source
    elif out_dir:
        ckpt = str(Path(out_dir) / variant_file_name(info, setting))
    else:
        ckpt = variant_checkpoint(info, setting.n1, setting.f, cfg.folder / "checkpoints")
    argv = deploy_commands(info, setting, ckpt, out_dir or "export/out", profile,
                           gate_sequences=cfg.measure.max_sequences)
    rec["command_argv"] = argv
    rec["commands"] = as_text(argv)
    rec["build_note"] = build_note(setting)
    return report


def export_recommended(report: dict, cfg: PlanConfig, out_dir: str, quiet: bool = True) -> dict:
    """Run the recommended point's export (and quantize) into ``out_dir``; their reports."""
    import shutil

    from htp_edge.artifacts.files import ArtifactSet
    from htp_edge.plan.commands import run_command
    from htp_edge.plan.graphs import quiet_root_logger
    from htp_edge.plan.variants import CheckpointInfo, variant_checkpoint
    rec = report.get("recommended")
    if rec is None:
        raise HtpEdgeError("plan: --export needs a recommended point. Expected a setting under the budget, got none "
                           "(see the message above); nothing was exported.")
    info = CheckpointInfo(**report["checkpoint"])
    setting = Setting.from_json(rec["settings"])
    argv = rec["command_argv"]
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    if not info.is_trained(setting.n1, setting.f):
        src = variant_checkpoint(info, setting.n1, setting.f, cfg.folder / "checkpoints")
        dest = Path(argv["export"][argv["export"].index("--checkpoint") + 1])
        with ArtifactSet([dest], inputs=[src], what="plan") as staged:
            shutil.copyfile(src, staged[dest])
    with quiet_root_logger():  # ONNX Runtime's quantiser logs advice on the root logger
        done = {"export": run_command(argv["export"], quiet)}
        if argv["quantize"]:
            done["quantize"] = run_command(argv["quantize"], quiet)
    return done
