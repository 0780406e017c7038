"""The one module that imports ``tensorrt``, plus the small helpers every TensorRT caller shares.

``import tensorrt`` happens inside :func:`load_tensorrt` only, so importing :mod:`htp_edge` or
:mod:`htp_edge.engines` works on machines without TensorRT (development machines, CI). Tests
put a recording fake into ``sys.modules["tensorrt"]`` or pass one as ``trt=``.

Features are detected with ``hasattr`` on the bindings (e.g. ``hasattr(trt.BuilderFlag,
"FP16")``), never by parsing the version string: TensorRT 11 removed the weakly typed precision
flags, implicit INT8 calibration and ``ICudaEngine.device_memory_size``.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from htp_edge.artifacts.specs import TensorSpec
from htp_edge.errors import HtpEdgeError

INSTALL_HINT = ("Install TensorRT (JetPack on Jetson, `pip install htp_edge[trt]` on desktop) "
                "or use --backend onnxruntime")

_LOG = logging.getLogger("htp_edge.tensorrt")

# TensorRT DataType member name -> numpy dtype (BF16 and FP8 have no numpy type)
_NUMPY_DTYPES = {
    "FLOAT": np.float32,
    "HALF": np.float16,
    "INT8": np.int8,
    "INT32": np.int32,
    "INT64": np.int64,
    "BOOL": np.bool_,
    "UINT8": np.uint8,
}

# one logger per tensorrt module: TensorRT warns when Builder/Runtime get different loggers
_LOGGERS: dict[int, object] = {}


def load_tensorrt(trt=None):
    """Return the ``tensorrt`` module (or ``trt`` when given); a clear error when missing."""
    if trt is not None:
        return trt
    try:
        import tensorrt
    except ImportError as exc:
        raise HtpEdgeError(
            f"tensorrt: not installed. Expected the TensorRT Python bindings (>= 10.0), got "
            f"ImportError: {exc}. {INSTALL_HINT}.") from None
    return tensorrt


def tensorrt_version(trt) -> str:
    """The bindings' version string, e.g. ``"10.3.0.30"``."""
    return str(getattr(trt, "__version__", "unknown"))


@dataclass(frozen=True)
class TrtFeatures:
    """What the loaded TensorRT bindings offer, found by attribute presence.

    ``weak_typing``: ``BuilderFlag.FP16`` exists (TensorRT 10), so a weakly typed FP16 build is
    possible; in TensorRT 11 every network is strongly typed and the flag is gone.
    """

    version: str
    strongly_typed_flag: bool
    weak_typing: bool
    int8_calibrator: bool
    device_memory_size_v2: bool
    num_dla_cores_attr: bool


def detect_features(trt) -> TrtFeatures:
    """Probe the bindings with ``hasattr`` (no version parsing)."""
    return TrtFeatures(
        version=tensorrt_version(trt),
        strongly_typed_flag=hasattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED"),
        weak_typing=hasattr(trt.BuilderFlag, "FP16"),
        int8_calibrator=hasattr(trt.IBuilderConfig, "int8_calibrator"),
        device_memory_size_v2=hasattr(trt.ICudaEngine, "device_memory_size_v2"),
        num_dla_cores_attr=hasattr(trt.Builder, "num_DLA_cores"),
    )


class _Records:
    """Messages TensorRT logged while one operation ran."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str]] = []

    def errors(self) -> list[str]:
        return [msg for sev, msg in self.entries if sev in ("ERROR", "INTERNAL_ERROR")]


def get_logger(trt):
    """The process-wide logger for ``trt``: forwards to :mod:`logging`, can capture messages."""
    key = id(trt)
    if key not in _LOGGERS:
        _LOGGERS[key] = _make_logger(trt)
    return _LOGGERS[key]


def _make_logger(trt):
    class HtpEdgeTrtLogger(trt.ILogger):
        """Sends TensorRT messages to the ``htp_edge.tensorrt`` logger and open captures."""

        def __init__(self) -> None:
            trt.ILogger.__init__(self)
            self._captures: list[_Records] = []

        def log(self, severity, msg):  # called by TensorRT
            name = getattr(severity, "name", str(severity)).split(".")[-1]
            for records in self._captures:
                records.entries.append((name, str(msg)))
            level = {"VERBOSE": logging.DEBUG, "INFO": logging.INFO,
                     "WARNING": logging.WARNING}.get(name, logging.ERROR)
            _LOG.log(level, "%s", msg)

        @contextmanager
        def capture(self) -> Iterator[_Records]:
            records = _Records()
            self._captures.append(records)
            try:
                yield records
            finally:
                self._captures.remove(records)

    return HtpEdgeTrtLogger()


def numpy_dtype(trt, trt_dtype) -> np.dtype:
    """numpy dtype of a ``trt.DataType``; a clear error for types numpy lacks (BF16, FP8)."""
    for name, np_type in _NUMPY_DTYPES.items():
        if hasattr(trt.DataType, name) and trt_dtype == getattr(trt.DataType, name):
            return np.dtype(np_type)
    raise HtpEdgeError(
        f"tensorrt: unsupported I/O data type. Expected one of {', '.join(_NUMPY_DTYPES)}, got "
        f"{trt_dtype}. Keep graph inputs and outputs in FP32 (export keeps FP32 I/O).")


def tensor_io(trt, engine) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """Name-based I/O introspection of an ``ICudaEngine``: (inputs, outputs) in engine order."""
    inputs, outputs = [], []
    for index in range(engine.num_io_tensors):
        name = engine.get_tensor_name(index)
        spec = TensorSpec(name=name,
                          shape=tuple(int(d) for d in engine.get_tensor_shape(name)),
                          dtype=numpy_dtype(trt, engine.get_tensor_dtype(name)))
        is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
        (inputs if is_input else outputs).append(spec)
    return inputs, outputs


def spec_to_json(spec: TensorSpec) -> dict:
    """A JSON-ready ``{"name", "shape", "dtype"}`` for the manifest."""
    return {"name": spec.name, "shape": list(spec.shape), "dtype": np.dtype(spec.dtype).name}


def spec_from_json(entry: dict) -> TensorSpec:
    return TensorSpec(name=str(entry["name"]), shape=tuple(int(d) for d in entry["shape"]),
                      dtype=np.dtype(entry["dtype"]))


def device_memory_bytes(engine, features: TrtFeatures) -> int | None:
    """Activation memory the engine needs (``device_memory_size_v2`` where it exists)."""
    if features.device_memory_size_v2:
        return int(engine.device_memory_size_v2)
    if hasattr(engine, "device_memory_size"):
        return int(engine.device_memory_size)
    return None
