"""MPJPE vs p50 latency: every point, the Pareto front highlighted and labelled, the budget and
the recommended point (matplotlib imported inside, Agg backend)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from htp_edge.plan.grid import Setting


def plot_front(points: Sequence[dict], pareto: Sequence[int], out, recommended: int | None = None,
               budget_ms: float | None = None, title: str = "htp-edge plan") -> Path:
    """Write the figure to ``out`` (PNG) atomically; returns the path."""
    from htp_edge.artifacts.files import atomic_write
    from htp_edge.bench.plot import pyplot
    plt = pyplot("plan --plot")
    xs = [p["p50_ms"] for p in points]
    ys = [p["mpjpe_mm"] for p in points]
    fig, ax = plt.subplots(figsize=(8, 5.5))
    ax.scatter(xs, ys, s=22, color="0.65", label="all settings", zorder=2)
    front = sorted(pareto, key=lambda i: xs[i])
    ax.plot([xs[i] for i in front], [ys[i] for i in front], "-o", color="tab:red", ms=6, lw=1.5,
            label="Pareto front", zorder=3)
    for i in front:
        ax.annotate(Setting.from_json(points[i]["settings"]).label(), (xs[i], ys[i]), textcoords="offset points",
                    xytext=(6, 4), fontsize=7, color="tab:red")
    if budget_ms is not None:
        ax.axvline(budget_ms, color="tab:blue", ls="--", lw=1, label=f"budget {budget_ms:g} ms (p50)")
    if recommended is not None:
        ax.scatter([xs[recommended]], [ys[recommended]], marker="*", s=220, color="gold", edgecolor="k",
                   zorder=4, label="recommended")
    ax.set_xlabel("p50 latency per lift of one clip (ms)")
    ax.set_ylabel("MPJPE (mm)")
    ax.set_title(title, fontsize=10)
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    out = Path(out)
    try:
        atomic_write(out, lambda handle: fig.savefig(handle, format="png", dpi=110))
    finally:
        plt.close(fig)
    return out
