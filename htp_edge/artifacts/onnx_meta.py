"""Reading an exported graph's metadata and I/O with ONNX Runtime (no ``onnx`` package).

ONNX Runtime exposes ``metadata_props`` as ``custom_metadata_map``; a CPU-only session with
graph optimisations off reads it and the graph's real inputs/outputs, which are checked
against the record. Writing the metadata is the export stage's job (it has ``onnx``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from htp_edge.artifacts.graph_meta import GraphMeta
from htp_edge.artifacts.names import META_GRAPH
from htp_edge.artifacts.specs import TensorSpec
from htp_edge.errors import HtpEdgeError

ORT_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(int64)": np.int64,
              "tensor(int32)": np.int32, "tensor(double)": np.float64, "tensor(bool)": np.bool_,
              "tensor(int8)": np.int8, "tensor(uint8)": np.uint8}


def import_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise HtpEdgeError("onnxruntime: not installed. Install it with `pip install htp_edge[ort]` "
                           "(onnxruntime-gpu for CUDA), or pick another --backend.") from None
    return onnxruntime


def ort_specs(args) -> list[TensorSpec]:
    """TensorSpecs of ONNX Runtime's ``NodeArg`` list (symbolic dimensions become ``None``)."""
    return [TensorSpec(a.name, tuple(d if isinstance(d, int) else None for d in a.shape),
                       np.dtype(ORT_DTYPES.get(a.type, np.float32))) for a in args]


@dataclass(frozen=True)
class OnnxGraphInfo:
    """An exported graph as ONNX Runtime sees it: the record, its I/O and all metadata keys."""

    meta: GraphMeta
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    metadata: dict


def read_onnx_info(path: str | Path) -> OnnxGraphInfo:
    """Open ``path`` on the CPU (no optimisation), parse and check its graph metadata."""
    ort = import_onnxruntime()
    path = Path(path)
    if not path.is_file():
        raise HtpEdgeError(f"onnx: file not found: {str(path)!r}.")
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises several private types
        raise HtpEdgeError(f"onnx: {path.name} is not a readable ONNX model ({str(exc).splitlines()[0][:160]}). "
                           f"Expected a file written by `htp-edge export`.") from None
    metadata = dict(session.get_modelmeta().custom_metadata_map)
    if META_GRAPH not in metadata:
        raise HtpEdgeError(f"onnx: {path.name} was not exported by htp-edge (no '{META_GRAPH}' metadata). "
                           f"Export it with `htp-edge export`.")
    meta = GraphMeta.loads(metadata[META_GRAPH], where=f"onnx {path.name}")
    inputs, outputs = tuple(ort_specs(session.get_inputs())), tuple(ort_specs(session.get_outputs()))
    meta.check_io(inputs, outputs, where=f"onnx {path.name}")
    return OnnxGraphInfo(meta=meta, inputs=inputs, outputs=outputs, metadata=metadata)


def read_graph_meta(path: str | Path) -> GraphMeta:
    """The checked :class:`GraphMeta` of an exported ONNX file."""
    return read_onnx_info(path).meta
