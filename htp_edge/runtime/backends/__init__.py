"""Backend registry: ``make_runner(backend, artifact)`` picks a runner class by name.

Backends register themselves lazily by module path so that importing the registry imports
neither torch, onnxruntime nor tensorrt.
"""
from __future__ import annotations

import importlib

from htp_edge.artifacts.specs import TensorSpec
from htp_edge.errors import HtpEdgeError
from htp_edge.runtime.backends.base import Runner

# backend name -> "module:Class"; the class takes (artifact, **options)
_REGISTRY: dict[str, str] = {
    "onnxruntime": "htp_edge.runtime.backends.onnxruntime_backend:OnnxRuntimeRunner",
    "openvino": "htp_edge.runtime.backends.openvino_backend:OpenVinoRunner",
    "tensorrt": "htp_edge.runtime.backends.tensorrt_backend:TensorRTRunner",
    "torch": "htp_edge.runtime.backends.torch_backend:TorchRunner",
}

# backends that run .onnx files (the others: tensorrt runs engines, torch runs checkpoints)
ONNX_BACKENDS: tuple[str, ...] = ("onnxruntime", "openvino")


def register_backend(name: str, target: str) -> None:
    """Register ``"module:Class"`` under ``name`` (overrides an existing entry)."""
    _REGISTRY[name] = target


def backend_names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def runner_class(name: str) -> type[Runner]:
    if name not in _REGISTRY:
        raise HtpEdgeError(
            f"backend: unknown backend. Expected one of {', '.join(_REGISTRY)}, got {name!r}.")
    module, cls = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)


def make_runner(name: str, artifact, **options) -> Runner:
    """Create (not activate) the runner ``name`` for ``artifact`` (a path or an in-memory model)."""
    return runner_class(name)(artifact, **options)


__all__ = ["Runner", "TensorSpec", "ONNX_BACKENDS", "register_backend", "backend_names", "runner_class", "make_runner"]
