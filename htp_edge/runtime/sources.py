"""Resolving what a user passes (bundled name, .pt/.bin, .onnx, .engine) into runnable graphs.

A :class:`GraphSet` is the denoiser runner, the optional TCEP planner runner and the graph
record (:class:`~htp_edge.artifacts.graph_meta.GraphMeta`). ONNX graphs and engines are opened
here with numpy + ONNX Runtime or TensorRT alone; a bundled name in the default layout runs
from the ONNX the package carries. A checkpoint in any other layout (or on the torch backend)
needs the workstation half: it is handed to :data:`CHECKPOINT_OPENER`, which needs torch.
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from htp_edge.artifacts.graph_meta import GraphMeta
from htp_edge.artifacts.manifest import engine_graph_meta
from htp_edge.artifacts.naming import (
    BUNDLED,
    CHECKPOINT_SUFFIXES,
    ENGINE_SUFFIXES,
    GraphLayout,
    bundled_onnx,
    planner_engine,
    planner_onnx,
)
from htp_edge.errors import HtpEdgeError
from htp_edge.runtime.backends import ONNX_BACKENDS, Runner, make_runner

# The workstation half's opener of checkpoints (torch): (name, backend, layout, **options) -> GraphSet
CHECKPOINT_OPENER = "htp_edge.export.runtime_graphs:open_checkpoint"
# The workstation half's writer of CPU companions (onnx): (graph path, out path) -> report
CPU_GRAPH_WRITER = "htp_edge.export.cpu_fusion:write_cpu_graph"


@dataclass
class GraphSet:
    """Runners for one exported model plus its record."""

    denoiser: Runner
    planner: Runner | None
    meta: GraphMeta
    source: str

    def activate(self) -> None:
        for r in (self.denoiser, self.planner):
            if r is not None and not r.is_active:
                r.activate()

    def deactivate(self) -> None:
        for r in (self.denoiser, self.planner):
            if r is not None:
                r.deactivate()


def from_onnx(path: Path, backend: str, cpu_graph: bool | None = None, **options) -> GraphSet:
    """``cpu_graph`` (ONNX Runtime on the CPU only): None runs ``x.cpu.onnx`` when one made from
    this graph is present, True also makes it (needs onnx), False never uses it."""
    from htp_edge.artifacts.onnx_meta import read_graph_meta
    from htp_edge.runtime.backends import runner_class
    if backend == "onnxruntime" and cpu_graph is not False and _cpu_only(options):
        path = pick_cpu_graph(Path(path), make=bool(cpu_graph))
    if backend not in ONNX_BACKENDS:
        raise HtpEdgeError(f"backend: an .onnx file runs on the {' or '.join(ONNX_BACKENDS)} backend. Expected "
                           f"--backend onnxruntime "
                           f"(or build an engine: htp-edge build --onnx {path} --out FILE.engine), got {backend!r}.")
    meta = read_graph_meta(path)
    planner = None
    if meta.planner:
        ppath = planner_onnx(path)
        if not ppath.is_file():
            raise HtpEdgeError(f"onnx: {path.name} needs its TCEP planner graph {ppath.name} beside it. "
                               f"Re-export with `htp-edge export`.")
        _check_planner(meta, ppath, path)
        planner = make_runner(backend, ppath, **runner_class(backend).companion_options(options))  # fewer threads
    return GraphSet(make_runner(backend, path, **options), planner, meta, str(path))


def cpu_onnx(onnx_path) -> Path:
    """The CPU-only companion of a graph, beside it: ``x.onnx`` -> ``x.cpu.onnx`` (fused attention,
    ONNX Runtime contrib ops: not for TensorRT)."""
    return Path(onnx_path).with_suffix(".cpu.onnx")


def cached_cpu_onnx(onnx_path) -> Path:
    """Where a CPU companion is made when the graph's folder is not ours (the package's)."""
    from htp_edge.artifacts.cache import default_cache_dir
    return default_cache_dir() / "cpu" / cpu_onnx(Path(onnx_path).name).name


def pick_cpu_graph(path: Path, make: bool = False) -> Path:
    """The CPU companion made from ``path`` (beside it, else in the cache) or ``path`` itself;
    with ``make``, a missing or stale one is written into the cache first."""
    from htp_edge.artifacts.files import sha256_file
    from htp_edge.artifacts.onnx_meta import read_graph_meta
    if path.name.endswith(".cpu.onnx"):
        return path
    source_sha = None
    for cand in (cpu_onnx(path), cached_cpu_onnx(path)):
        if cand.is_file():
            source_sha = source_sha or sha256_file(path)
            if read_graph_meta(cand).origin.get("cpu_graph", {}).get("source_sha256") == source_sha:
                return cand
    if not make:
        return path
    if importlib.util.find_spec("onnx") is None:  # the writer is workstation code
        raise HtpEdgeError(f"cpu graph: making {cpu_onnx(path).name} needs the onnx package. Expected onnx "
                           f"installed (or run `htp-edge export --target cpu` on a workstation), got none.")
    module, func = CPU_GRAPH_WRITER.split(":")
    out = cached_cpu_onnx(path)
    getattr(importlib.import_module(module), func)(path, out)
    return out


def _cpu_only(options: dict) -> bool:
    from htp_edge.runtime.backends.onnxruntime_backend import resolved_providers
    return resolved_providers(options.get("providers")) == ["CPUExecutionProvider"]


def _check_planner(meta: GraphMeta, planner_path: Path, graph_path: Path) -> None:
    """Refuse a planner that was not exported with this graph (a mixed set)."""
    if meta.planner_sha256 is None:
        return
    from htp_edge.artifacts.files import sha256_file
    if sha256_file(planner_path) != meta.planner_sha256:
        raise HtpEdgeError(f"onnx: {planner_path.name} is not the planner exported with {graph_path.name} (sha256 "
                           f"differs from the graph's record). Re-export both with `htp-edge export`.")


def from_engine(path: Path, backend: str, **options) -> GraphSet:
    from htp_edge.runtime.backends import runner_class
    if backend != "tensorrt":
        raise HtpEdgeError(f"backend: an .engine file runs on the tensorrt backend. Expected --backend tensorrt, "
                           f"got {backend!r}.")
    meta = engine_graph_meta(path)
    planner = None
    if meta.planner:
        for cand, kind in ((planner_engine(path), "tensorrt"), (planner_onnx(path), "onnxruntime")):
            if cand.is_file():
                if kind == "onnxruntime":
                    _check_planner(meta, cand, path)
                planner = make_runner(kind, cand, **runner_class(kind).companion_options({}))
                break
        else:
            raise HtpEdgeError(f"engine: {path.name} needs its TCEP planner ({planner_engine(path).name} or "
                               f"{planner_onnx(path).name}) beside it.")
    return GraphSet(make_runner("tensorrt", path, **options), planner, meta, str(path))


def from_checkpoint(name: str, backend: str, layout: GraphLayout, **options) -> GraphSet:
    """A bundled name in a shipped layout runs from the package's ONNX; anything else needs torch."""
    if backend in ONNX_BACKENDS and name in BUNDLED:
        shipped = bundled_onnx(name, layout)
        if shipped.is_file():
            return from_onnx(shipped, backend, **options)
    if backend not in ("torch", *ONNX_BACKENDS):
        raise HtpEdgeError(f"backend: a checkpoint runs on torch or onnxruntime. For TensorRT export and build an "
                           f"engine first (htp-edge export / htp-edge build), got --backend {backend!r}.")
    try:
        import torch  # noqa: F401
    except ImportError:
        raise HtpEdgeError(f"checkpoint: running {name!r} in layout {layout.suffix} on {backend} needs torch "
                           f"(a one-time export). Export on a workstation (htp-edge export --checkpoint {name} "
                           f"--out FILE.onnx) and load the .onnx instead.") from None
    module, func = CHECKPOINT_OPENER.split(":")
    return getattr(importlib.import_module(module), func)(name, backend, layout, **options)


def open_graphs(source, backend: str = "onnxruntime", hypotheses: int = 1, flip: bool = True, clips: int = 1,
                **options) -> GraphSet:
    """Dispatch on what ``source`` is: bundled name, checkpoint, .onnx or .engine."""
    text = str(source)
    path = Path(text)
    if text in BUNDLED or path.suffix in CHECKPOINT_SUFFIXES:
        layout = GraphLayout(clips=clips, hypotheses=hypotheses, flip=flip)
        return from_checkpoint(text, backend, layout, **options)
    if not path.is_file():
        raise HtpEdgeError(f"model: not found: {text!r}. Expected a bundled name ({', '.join(BUNDLED)}), "
                           f"a .pt/.bin checkpoint, an .onnx or an .engine file.")
    if path.suffix == ".onnx":
        return from_onnx(path, backend, **options)
    if path.suffix in ENGINE_SUFFIXES:
        return from_engine(path, backend, **options)
    raise HtpEdgeError(f"model: unknown file type {path.suffix!r}. Expected .pt/.bin, .onnx or .engine, "
                       f"got {path.name}.")
