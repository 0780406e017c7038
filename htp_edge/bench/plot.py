"""Latency figures: per-stage stacked bars for several runs, and latency histograms.

matplotlib (the ``plot`` extra) is imported inside the functions with the Agg backend, so the
module imports on a machine without it and plotting works without a display.

A run result has the shape of ``htp-edge bench --json``::

    {"label": "htp fp16 trt", "stages": {"h2d": {"p50_ms": 0.1}, "compute": {...}},
     "total": {"p50_ms": 9.8}, "frames_per_s": 24795.9}
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from htp_edge.errors import HtpEdgeError


def pyplot(what: str = "plot"):
    """matplotlib.pyplot on the Agg backend, or a clear error when matplotlib is missing."""
    try:
        import matplotlib
    except ImportError as exc:
        raise HtpEdgeError(f"{what}: matplotlib is not installed. Expected the 'plot' extra, got "
                           f"no matplotlib. Install it with: pip install 'htp_edge[plot]'") from exc
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    return plt


def _stage_order(results: Sequence[Mapping]) -> list[str]:
    """Stage names of all runs, each new name placed right after its predecessor in its run
    (so a run's own pipeline order survives: h2d, compute, d2h)."""
    names: list[str] = []
    for result in results:
        previous = None
        for name in result.get("stages", {}):
            if name not in names:
                names.insert(names.index(previous) + 1 if previous else 0, name)
            previous = name
    return names


def _run_label(result: Mapping, index: int) -> str:
    return str(result.get("label") or f"run {index + 1}")


def _total_p50(result: Mapping) -> float:
    """The run's total p50, or the sum of its stage p50s when the total is missing."""
    total = result.get("total") or {}
    if "p50_ms" in total:
        return float(total["p50_ms"])
    return sum(float(s.get("p50_ms", 0.0)) for s in result.get("stages", {}).values())


def format_ms(ms: float) -> str:
    """Milliseconds with about three significant digits, never in exponent notation."""
    if ms >= 100:
        return f"{ms:,.0f} ms"
    if ms >= 10:
        return f"{ms:.1f} ms"
    return f"{ms:.3g} ms"


def _annotation(result: Mapping) -> str:
    text = format_ms(_total_p50(result))
    fps = result.get("frames_per_s")
    if fps:
        text += f"\n{fps:,.0f} frames/s"
    return text


def plot_stage_bars(results: Sequence[Mapping], path: str | Path, title: str | None = None,
                    stat: str = "p50_ms") -> Path:
    """One stacked bar per run (stage ``stat`` times), annotated with the total and frames/s.

    Returns the written path (PNG, SVG or PDF by its suffix).
    """
    if not results:
        raise HtpEdgeError("stage plot: no runs. Expected at least one bench result, got 0.")
    plt = pyplot()
    stages = _stage_order(results)
    labels = [_run_label(r, i) for i, r in enumerate(results)]
    # heights[k][i]: time of stage k in run i (0 where the run lacks the stage).
    heights = [[float(r.get("stages", {}).get(stage, {}).get(stat, 0.0)) for r in results]
               for stage in stages]
    tallest = max([sum(col) for col in zip(*heights)] + [1e-9])
    fig, ax = plt.subplots(figsize=(max(5.0, 1.6 * len(results) + 2.5), 4.8), dpi=120)
    colors = plt.get_cmap("tab10" if len(stages) <= 10 else "tab20").colors
    bottoms = [0.0] * len(results)
    for k, stage in enumerate(stages):
        bars = ax.bar(labels, heights[k], bottom=bottoms, width=0.6, label=stage,
                      color=colors[k % len(colors)], edgecolor="white", linewidth=0.6)
        _label_segments(ax, bars, heights[k], min_height=0.06 * tallest)
        bottoms = [b + h for b, h in zip(bottoms, heights[k])]
    _annotate_tops(ax, results, bottoms)
    ax.set_ylabel(f"latency per iteration, {stat.replace('_ms', '')} [ms]")
    ax.set_title(title or f"Per-stage latency ({stat.replace('_ms', '')})")
    handles, names = ax.get_legend_handles_labels()  # listed top-down like the stacks
    ax.legend(handles[::-1], names[::-1], title="stage", loc="upper left",
              bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return _save(fig, path)


def _label_segments(ax, bars, heights: Sequence[float], min_height: float) -> None:
    """Write the stage time inside each segment at least ``min_height`` tall."""
    for bar, height in zip(bars, heights):
        if height >= min_height:
            ax.annotate(format_ms(height), (bar.get_x() + bar.get_width() / 2,
                                            bar.get_y() + height / 2),
                        ha="center", va="center", fontsize=7, color="white")


def _annotate_tops(ax, results: Sequence[Mapping], tops: Sequence[float]) -> None:
    """Write the total and the frame rate above each bar and leave room for the text."""
    highest = max(list(tops) + [_total_p50(r) for r in results] + [1e-9])
    for x, (result, top) in enumerate(zip(results, tops)):
        ax.annotate(_annotation(result), (x, top), xytext=(0, 4), textcoords="offset points",
                    ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, highest * 1.25)


def plot_latency_hist(samples_by_label: Mapping[str, Sequence[float]], path: str | Path,
                      bins: int = 50, title: str | None = None) -> Path:
    """Overlaid histograms of per-iteration latencies (ms), one per label, with p50/p99 marks."""
    if not samples_by_label:
        raise HtpEdgeError("latency histogram: no runs. Expected at least one list of times.")
    import numpy as np
    plt = pyplot()
    runs = {label: np.asarray(v, dtype=np.float64) for label, v in samples_by_label.items()}
    edges = np.histogram_bin_edges(np.concatenate(list(runs.values())), bins=bins)  # shared bins
    fig, ax = plt.subplots(figsize=(7.0, 4.2), dpi=120)
    for label, values in runs.items():
        p50, p99 = np.percentile(values, [50, 99])
        patches = ax.hist(values, bins=edges, alpha=0.5,
                          label=f"{label}: p50 {format_ms(p50)}, p99 {format_ms(p99)} (dashed)")[2]
        ax.axvline(p99, color=patches[0].get_facecolor(), linestyle="--", linewidth=1)
    ax.set_xlabel("latency per iteration [ms]")
    ax.set_ylabel("iterations")
    ax.set_title(title or "Latency distribution")
    ax.legend(frameon=False, fontsize=8)
    return _save(fig, path)


def _save(fig, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` (creating its folder) and close it."""
    import matplotlib.pyplot as plt
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path
