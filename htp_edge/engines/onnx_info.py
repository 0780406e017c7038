"""What an ONNX file says about itself, for the engine manifest (build side; needs onnx)."""
from __future__ import annotations

import json

from htp_edge.artifacts.names import META_CALIBRATION, META_GRAPH, META_PRECISION


def onnx_info(onnx_path) -> dict:
    """``{"precision": {...}, "graph": {...} | None}`` from the ONNX ``metadata_props``.

    ``precision`` holds the recipe and calibration hash (``htp_edge.precision``,
    ``htp_edge.calibration_sha256``); without those keys it is read off the graph (Q/DQ nodes ->
    int8, FP16 initializers -> fp16), and ``source`` says which. ``graph`` is the export's
    ``htp_edge.graph`` description, which the runtime reads back from the engine manifest.
    Without the ``onnx`` package (e.g. a Jetson with TensorRT only) both are unknown.
    """
    try:
        import onnx
    except ImportError:
        return {"precision": {"recipe": "unknown", "calibration_sha256": None,
                              "source": "onnx not installed"}, "graph": None}
    model = onnx.load(str(onnx_path), load_external_data=False)
    meta = {p.key: p.value for p in model.metadata_props}
    if META_PRECISION in meta:
        recipe, source = meta[META_PRECISION], "onnx metadata"
    else:
        recipe, source = _graph_precision(onnx, model), "onnx graph"
    return {"precision": {"recipe": recipe, "calibration_sha256": meta.get(META_CALIBRATION),
                          "source": source},
            "graph": _graph_meta(meta.get(META_GRAPH))}


def _graph_meta(text: str | None) -> dict | None:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _graph_precision(onnx, model) -> str:
    if any(node.op_type in ("QuantizeLinear", "DequantizeLinear") for node in model.graph.node):
        return "int8"
    if any(init.data_type == onnx.TensorProto.FLOAT16 for init in model.graph.initializer):
        return "fp16"
    return "fp32"
