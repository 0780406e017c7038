"""The self-description of exported graphs (``metadata_props['htp_edge.graph']``); onnx only."""
from __future__ import annotations

import json
from pathlib import Path

from htp_edge.errors import HtpEdgeError

GRAPH_META_KEY = "htp_edge.graph"


def read_graph_meta(model_or_path) -> dict:
    """The graph metadata of an exported ONNX model (path or ModelProto)."""
    import onnx
    is_path = isinstance(model_or_path, (str, Path))
    if is_path:
        path = Path(model_or_path)
        if not path.is_file():
            raise HtpEdgeError(f"onnx: file not found: {str(path)!r}.")
        try:
            model = onnx.load(str(path), load_external_data=False)
        except Exception as exc:  # noqa: BLE001 - protobuf decode errors vary
            raise HtpEdgeError(f"onnx: {path.name} is not a readable ONNX model ({type(exc).__name__}). "
                               f"Expected a file written by `htp-edge export`.") from None
    else:
        model = model_or_path
    for prop in model.metadata_props:
        if prop.key == GRAPH_META_KEY:
            return json.loads(prop.value)
    name = Path(model_or_path).name if is_path else "model"
    raise HtpEdgeError(f"onnx: {name} was not exported by htp-edge (no '{GRAPH_META_KEY}' metadata). "
                       f"Export it with `htp-edge export`.")


def write_graph_meta(model, meta: dict) -> None:
    """Set the graph metadata on a ModelProto (replacing an older entry)."""
    keep = [(p.key, p.value) for p in model.metadata_props if p.key != GRAPH_META_KEY]
    del model.metadata_props[:]
    for key, value in keep + [(GRAPH_META_KEY, json.dumps(meta))]:
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
