"""Checkpoints for the runtime (workstation half, torch): eager torch graphs, or an export
into the cache for ONNX Runtime. Reached from :data:`htp_edge.runtime.sources.CHECKPOINT_OPENER`.
"""
from __future__ import annotations

from pathlib import Path

from htp_edge.artifacts import names
from htp_edge.artifacts.cache import default_cache_dir
from htp_edge.artifacts.naming import BUNDLED, GraphLayout, bundled_onnx, cached_graph_stem
from htp_edge.runtime.backends import make_runner
from htp_edge.runtime.sources import GraphSet, from_onnx


def open_checkpoint(name: str, backend: str, layout: GraphLayout, **options) -> GraphSet:
    if backend == "torch":
        return torch_graphs(name, layout, **options)
    return from_onnx(cached_export(name, layout), backend, **options)


def cached_export(name: str, layout: GraphLayout) -> Path:
    """The ONNX of a checkpoint in ``layout``: shipped for bundled names in the default layout,
    else exported once into the cache."""
    from htp_edge.artifacts.files import sha256_file
    from htp_edge.export.config import ExportConfig
    from htp_edge.export.onnx_export import export_onnx
    from htp_edge.model.checkpoint import resolve_checkpoint
    if name in BUNDLED and bundled_onnx(name, layout).is_file():
        return bundled_onnx(name, layout)
    ckpt = resolve_checkpoint(name)
    out = default_cache_dir() / "onnx" / f"{cached_graph_stem(Path(name).stem, sha256_file(ckpt), layout)}.onnx"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    export_onnx(ExportConfig(model=_arch_of(ckpt), checkpoint=str(ckpt), clips=layout.clips,
                             hypotheses=layout.hypotheses, flip=layout.flip), out, progress=lambda m: None)
    return out


def _arch_of(ckpt: Path) -> str:
    from htp_edge.model.checkpoint import load_model
    net, _ = load_model(ckpt)
    return net.config.name


def torch_graphs(name: str, layout: GraphLayout, **options) -> GraphSet:
    """Eager torch runners of a checkpoint (any batch)."""
    from htp_edge.export.config import ExportConfig
    from htp_edge.export.graphs import DenoiserGraph, PlannerGraph
    from htp_edge.export.onnx_export import graph_meta
    from htp_edge.model.checkpoint import load_model
    net, _ = load_model(name)
    den = net.pose_estimator
    cfg = ExportConfig(model=den.config.name, clips=layout.clips, hypotheses=layout.hypotheses, flip=layout.flip)
    meta = graph_meta(den, cfg, "denoiser", {"checkpoint": str(name)}).replace(batch=None)  # eager: any batch
    outputs = (names.POSE_3D, names.KEPT_FRAMES) if den.config.prunes else (names.POSE_3D,)
    graph = DenoiserGraph(den)
    runner = make_runner("torch", graph, input_names=graph.input_names, output_names=outputs, **options)
    planner = None
    if den.config.has_planner:
        pgraph = PlannerGraph(den)
        planner = make_runner("torch", pgraph, input_names=(names.KEYPOINTS_2D,), output_names=pgraph.output_names,
                              **options)
    return GraphSet(runner, planner, meta, str(name))
