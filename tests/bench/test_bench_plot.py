"""Per-stage latency bars and histograms (matplotlib Agg)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from htp_edge.bench.plot import plot_latency_hist, plot_stage_bars  # noqa: E402
from htp_edge.errors import HtpEdgeError  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _run(label, stages, fps):
    total = sum(stages.values())
    return {"label": label, "stages": {k: {"p50_ms": v} for k, v in stages.items()},
            "total": {"p50_ms": total * 1.02}, "frames_per_s": fps}


RUNS = [
    _run("d3dp fp32\nonnxruntime", {"normalize": 0.05, "compute": 1400.0, "denormalize": 0.04}, 174),
    _run("htp fp32\nonnxruntime", {"normalize": 0.05, "compute": 610.0, "denormalize": 0.04}, 398),
    _run("htp int8\nonnxruntime", {"normalize": 0.05, "compute": 330.0, "denormalize": 0.04,
                                   "topk": 12.0}, 736),
]


def test_stage_bars_png(tmp_path):
    path = plot_stage_bars(RUNS, tmp_path / "figs" / "stages.png", title="243 frames, CPU")
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert path.stat().st_size > 10_000


def test_stage_bars_without_total_or_fps(tmp_path):
    runs = [{"stages": {"compute": {"p50_ms": 2.0}}}, {"label": "b", "stages": {}}]
    path = plot_stage_bars(runs, tmp_path / "minimal.svg")
    assert path.read_text().lstrip().startswith("<?xml")


def test_stage_bars_need_runs(tmp_path):
    with pytest.raises(HtpEdgeError, match="no runs"):
        plot_stage_bars([], tmp_path / "x.png")


def test_latency_hist(tmp_path):
    rng = np.random.default_rng(0)
    path = plot_latency_hist({"fp32": rng.gamma(20, 0.5, 300), "int8": rng.gamma(20, 0.3, 300)},
                             tmp_path / "hist.png")
    assert path.read_bytes()[:8] == PNG_MAGIC
