"""Writing the graph record into an ONNX model (``metadata_props[META_GRAPH]``; needs onnx).

The record's type and its reading live in :mod:`htp_edge.artifacts.graph_meta` and
:mod:`htp_edge.artifacts.onnx_meta`.
"""
from __future__ import annotations

from htp_edge.artifacts.graph_meta import GraphMeta
from htp_edge.artifacts.names import META_GRAPH


def write_graph_meta(model, meta: GraphMeta) -> None:
    """Set the graph record on a ModelProto (replacing an older entry)."""
    keep = [(p.key, p.value) for p in model.metadata_props if p.key != META_GRAPH]
    del model.metadata_props[:]
    for key, value in keep + [(META_GRAPH, meta.dumps())]:
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
