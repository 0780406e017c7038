"""Resolving what a user passes (bundled name, .pt/.bin, .onnx, .engine) into runnable graphs.

A :class:`GraphSet` is the denoiser runner, the optional TCEP planner runner and the graph
metadata written at export (model config, batch layout). Only the torch paths import torch.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from htp_edge.data.cache import default_cache_dir
from htp_edge.errors import HtpEdgeError
from htp_edge.runtime.backends import Runner, make_runner

CHECKPOINT_SUFFIXES = (".pt", ".bin", ".pth")


@dataclass
class GraphSet:
    """Runners for one exported model plus its metadata (see htp_edge.export.graphs)."""

    denoiser: Runner
    planner: Runner | None
    meta: dict
    source: str

    def activate(self) -> None:
        for r in (self.denoiser, self.planner):
            if r is not None and not r.is_active:
                r.activate()

    def deactivate(self) -> None:
        for r in (self.denoiser, self.planner):
            if r is not None:
                r.deactivate()


def onnx_meta(path: Path) -> dict:
    from htp_edge.export.meta import read_graph_meta
    return read_graph_meta(path)


def from_onnx(path: Path, backend: str, **options) -> GraphSet:
    if backend != "onnxruntime":
        raise HtpEdgeError(f"backend: an .onnx file runs on the onnxruntime backend. Expected --backend onnxruntime "
                           f"(or build an engine: htp-edge build --onnx {path} --out FILE.engine), got {backend!r}.")
    meta = onnx_meta(path)
    planner_path = path.with_suffix(".planner.onnx")
    planner = make_runner("onnxruntime", planner_path, **options) if _has_planner(meta) else None
    if planner is not None and not planner_path.is_file():
        raise HtpEdgeError(f"onnx: {path.name} needs its TCEP planner graph {planner_path.name} beside it. "
                           f"Re-export with `htp-edge export`.")
    return GraphSet(make_runner("onnxruntime", path, **options), planner, meta, str(path))


def from_engine(path: Path, backend: str, **options) -> GraphSet:
    if backend != "tensorrt":
        raise HtpEdgeError(f"backend: an .engine file runs on the tensorrt backend. Expected --backend tensorrt, got {backend!r}.")
    manifest = path.with_name(path.name + ".json")
    meta = None
    if manifest.is_file():
        meta = json.loads(manifest.read_text()).get("graph")
    if meta is None:
        raise HtpEdgeError(f"engine: {path.name} has no manifest with graph metadata ({manifest.name}). "
                           f"Build it with `htp-edge build`, which writes the manifest.")
    planner = None
    if _has_planner(meta):
        for cand, kind in ((path.with_suffix(".planner.engine"), "tensorrt"), (path.with_suffix(".planner.onnx"), "onnxruntime")):
            if cand.is_file():
                planner = make_runner(kind, cand)
                break
        else:
            raise HtpEdgeError(f"engine: {path.name} needs its TCEP planner ({path.stem}.planner.engine or .planner.onnx) beside it.")
    return GraphSet(make_runner("tensorrt", path, **options), planner, meta, str(path))


def from_checkpoint(name: str, backend: str, hypotheses: int, flip: bool, clips: int, **options) -> GraphSet:
    """A bundled name or .pt/.bin: torch runs it directly; other backends get a cached export."""
    if backend == "torch":
        return _torch_graphs(name, hypotheses, flip, clips, **options)
    if backend != "onnxruntime":
        raise HtpEdgeError(f"backend: a checkpoint runs on torch or onnxruntime. For TensorRT export and build an "
                           f"engine first (htp-edge export / htp-edge build), got --backend {backend!r}.")
    return from_onnx(cached_export(name, hypotheses, flip, clips), backend, **options)


def cached_export(name: str, hypotheses: int, flip: bool, clips: int) -> Path:
    """The ONNX of a checkpoint: shipped with the package for the bundled names in the default
    layout (no torch needed), else exported once into the cache (needs torch)."""
    from htp_edge.model.checkpoint import BUNDLED_DIR, resolve_checkpoint
    from htp_edge.precision.metadata import sha256_file
    shipped = BUNDLED_DIR / f"{name}_c{clips}_h{hypotheses}_{'flip' if flip else 'noflip'}.onnx"
    if shipped.is_file():
        return shipped
    ckpt = resolve_checkpoint(name)
    key = f"{Path(name).stem}_{sha256_file(ckpt)[:12]}_c{clips}_h{hypotheses}_{'flip' if flip else 'noflip'}"
    out = default_cache_dir() / "onnx" / f"{key}.onnx"
    if out.is_file():
        return out
    try:
        import torch  # noqa: F401
    except ImportError:
        raise HtpEdgeError(f"checkpoint: running {name!r} on ONNX Runtime needs a one-time export, which needs torch. "
                           f"Export on a workstation (htp-edge export --checkpoint {name} --out FILE.onnx) and load "
                           f"the .onnx instead.") from None
    from htp_edge.export.config import ExportConfig
    from htp_edge.export.onnx_export import export_onnx
    out.parent.mkdir(parents=True, exist_ok=True)
    export_onnx(ExportConfig(model=_arch_of(ckpt), checkpoint=str(ckpt), clips=clips, hypotheses=hypotheses, flip=flip),
                out, progress=lambda m: None)
    return out


def _arch_of(ckpt: Path) -> str:
    from htp_edge.model.checkpoint import load_model
    net, _ = load_model(ckpt)
    return net.config.name


def _torch_graphs(name: str, hypotheses: int, flip: bool, clips: int, **options) -> GraphSet:
    from htp_edge.export.config import ExportConfig
    from htp_edge.export.graphs import DenoiserGraph, PlannerGraph
    from htp_edge.export.onnx_export import graph_meta
    from htp_edge.model.checkpoint import load_model
    net, meta = load_model(name)
    den = net.pose_estimator
    cfg = ExportConfig(model=den.config.name, clips=clips, hypotheses=hypotheses, flip=flip)
    gmeta = graph_meta(den, cfg, "denoiser", {"checkpoint": str(name)})
    gmeta["batch"] = None  # eager torch takes any batch
    outputs = ("pose_3d", "kept_frames") if den.config.prunes else ("pose_3d",)
    graph = DenoiserGraph(den)
    runner = make_runner("torch", graph, input_names=graph.input_names, output_names=outputs, **options)
    planner = None
    if den.config.has_planner:
        pgraph = PlannerGraph(den)
        planner = make_runner("torch", pgraph, input_names=("keypoints_2d",), output_names=pgraph.output_names, **options)
    return GraphSet(runner, planner, gmeta, str(name))


def _has_planner(meta: dict) -> bool:
    return bool(meta.get("planner", meta.get("n1")))


def open_graphs(source, backend: str = "onnxruntime", hypotheses: int = 1, flip: bool = True, clips: int = 1,
                **options) -> GraphSet:
    """Dispatch on what ``source`` is: bundled name, checkpoint, .onnx or .engine."""
    from htp_edge.model_names import BUNDLED
    text = str(source)
    path = Path(text)
    if text in BUNDLED or path.suffix in CHECKPOINT_SUFFIXES:
        return from_checkpoint(text, backend, hypotheses, flip, clips, **options)
    if not path.is_file():
        raise HtpEdgeError(f"model: not found: {text!r}. Expected a bundled name ({', '.join(BUNDLED)}), "
                           f"a .pt/.bin checkpoint, an .onnx or an .engine file.")
    if path.suffix == ".onnx":
        return from_onnx(path, backend, **options)
    if path.suffix in (".engine", ".plan", ".trt"):
        return from_engine(path, backend, **options)
    raise HtpEdgeError(f"model: unknown file type {path.suffix!r}. Expected .pt/.bin, .onnx or .engine, got {path.name}.")
