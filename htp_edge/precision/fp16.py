"""FP16 ONNX with FP32 inputs/outputs and an FP32 island for precision-sensitive nodes.

The default recipe uses onnxconverter-common's ``convert_float_to_float16``; NVIDIA ModelOpt
AutoCast (``tool="modelopt"``) is used only when asked for and installed. Kept in FP32:

- op types in ``keep_fp32_op_types`` (normalisation statistics, the timestep sinusoid);
- nodes whose names contain one of ``keep_fp32_name_patterns``: the legacy exporter names nodes
  by module path ("/blocks.3/mgptp/MatMul"), so "/mgptp/" selects the whole token-scoring path
  (scores -> TopK -> Gather), where one flipped selection changes the output discontinuously;
- FP32 runs stay FP32 between their nodes: the converter wraps every blocked node in its own
  Cast(FP32) ... Cast(FP16) pair, so a chain of FP32 nodes would round every intermediate tensor
  to FP16; :func:`remove_fp16_round_trips` rewires FP32 -> FP16 -> FP32 cast pairs away;
- every ``Cast`` node that was already in the graph: onnxconverter-common otherwise rewrites the
  type of a ``Cast(to=FLOAT)`` output to FLOAT16 without changing ``to``, which ONNX Runtime and
  TensorRT reject. They are blocked by name, not through ``op_block_list``: blocking the op type
  also matches the Casts the converter inserts, and it never terminates.

:func:`round_weights_fp16` is the fast CPU stand-in for numerics checks of big models (ONNX
Runtime on x86 has no fast FP16 GEMM): an FP32 model whose weights are rounded to FP16.
"""
from __future__ import annotations

import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from htp_edge.artifacts.files import sha256_file
from htp_edge.errors import HtpEdgeError
from htp_edge.precision.metadata import write_metadata

# LayerNormalization (and the ReduceMean/Pow/Sqrt of a decomposed one): the mean of squares of
# 512-wide activations can overflow FP16 (max 65504) or lose the small variances. Sin/Cos: the
# timestep sinusoid takes arguments up to ~1000 rad, where the FP16 spacing (0.5) makes sin()
# meaningless.
DEFAULT_KEEP_FP32_OP_TYPES = ("LayerNormalization", "ReduceMean", "Pow", "Sqrt", "Sin", "Cos")
# Token-scoring paths (TCEP, MGPTP), the planner, and the timestep MLP (a handful of rows: FP32
# costs nothing there and keeps the sinusoid's precision).
DEFAULT_KEEP_FP32_NAME_PATTERNS = ("/tcep/", "/mgptp/", "/token_planner/", "/time_mlp/")
TOOLS = ("onnxconverter-common", "modelopt")


@dataclass(frozen=True)
class Fp16Report:
    """What :func:`convert_fp16` produced (``quantized_nodes``: the nodes now computing in
    FP16, i.e. every node except ``fp32_nodes`` and the inserted Casts; with ModelOpt these are
    the requested exclusions, AutoCast may keep more nodes in FP32)."""

    out_path: str
    tool: str
    nodes: int
    quantized_nodes: tuple[str, ...]
    fp32_nodes: tuple[str, ...]
    casts_added: int
    fp16_initializers: int
    source_onnx_sha256: str
    precision: str = "fp16"
    calibration_sha256: str | None = None


def _matches(name: str, patterns: Sequence[str]) -> bool:
    return any(p in name for p in patterns)


def _name_unnamed_nodes(graph) -> None:
    """Give every unnamed node a unique name (the converter blocks nodes by name)."""
    taken = {n.name for n in graph.node if n.name}
    for index, node in enumerate(graph.node):
        if not node.name:
            name = f"{node.op_type}_htp{index}"
            while name in taken:
                name += "_"
            node.name = name
            taken.add(name)


def _split_shared_initializers(graph, kept: set[str]) -> int:
    """Give FP32-kept consumers their own copy of float initializers shared with converted nodes.

    onnxconverter-common keeps an initializer FP32 when any consumer is blocked, which leaves the
    converted consumers with an FP32 input (the legacy exporter shares deduplicated weights, e.g.
    all-ones LayerNorm scales, through Identity nodes). Returns the number of copies made.
    """
    from onnx import TensorProto

    consumers: dict[str, set[str]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, set()).add(node.name)
    copies = 0
    for init in list(graph.initializer):
        users = consumers.get(init.name, set())
        if init.data_type != TensorProto.FLOAT or not (users & kept) or users <= kept:
            continue
        copy = graph.initializer.add()
        copy.CopyFrom(init)
        copy.name = f"{init.name}_fp32"
        for node in graph.node:
            if node.name in kept:
                node.input[:] = [copy.name if i == init.name else i for i in node.input]
        copies += 1
    return copies


def fp32_node_names(model, keep_fp32_op_types: Sequence[str],
                    keep_fp32_name_patterns: Sequence[str]) -> list[str]:
    """Names of the nodes the FP16 recipe keeps in FP32 (op type, name pattern or Cast)."""
    keep_types = set(keep_fp32_op_types) | {"Cast"}
    return [n.name for n in model.graph.node
            if n.op_type in keep_types or _matches(n.name, keep_fp32_name_patterns)]


def convert_fp16(in_path, out_path,
                 keep_fp32_op_types: Sequence[str] = DEFAULT_KEEP_FP32_OP_TYPES,
                 keep_fp32_name_patterns: Sequence[str] = DEFAULT_KEEP_FP32_NAME_PATTERNS,
                 keep_io_types: bool = True, tool: str = "onnxconverter-common") -> Fp16Report:
    """Convert an FP32 ONNX file to FP16 (FP32 I/O by default), keeping sensitive nodes in FP32.

    ``tool="modelopt"`` uses NVIDIA ModelOpt AutoCast with the same exclusions; it raises
    :class:`HtpEdgeError` when ``modelopt`` is not installed (no silent fallback). The result is
    checked with the ONNX checker and written atomically with htp-edge metadata
    (``htp_edge.precision = fp16``).
    """
    import onnx

    if tool not in TOOLS:
        raise HtpEdgeError(f"fp16: unknown tool. Expected one of {', '.join(TOOLS)}, got {tool!r}.")
    source_sha = sha256_file(in_path)
    model = onnx.load(str(in_path))
    _require_float32(model, in_path)
    _name_unnamed_nodes(model.graph)
    kept = fp32_node_names(model, keep_fp32_op_types, keep_fp32_name_patterns)
    kept_set = set(kept)
    _split_shared_initializers(model.graph, kept_set)
    nodes_before = Counter(n.op_type for n in model.graph.node)
    reduced = tuple(n.name for n in model.graph.node if n.name not in kept_set)
    if tool == "modelopt":
        converted = _convert_modelopt(model, keep_fp32_op_types, keep_fp32_name_patterns,
                                      keep_io_types)
    else:
        converted = _convert_onnxconverter(model, keep_fp32_op_types, kept, keep_io_types)
        remove_fp16_round_trips(converted)
    _validate(converted, tool)
    recipe = {"tool": tool, "keep_fp32_op_types": list(keep_fp32_op_types),
              "keep_fp32_name_patterns": list(keep_fp32_name_patterns),
              "keep_io_types": keep_io_types}
    write_metadata(converted, "fp16", source_onnx_sha256=source_sha, recipe=recipe)
    save_atomic(converted, out_path)
    return Fp16Report(
        out_path=str(out_path), tool=tool, nodes=len(converted.graph.node),
        quantized_nodes=reduced, fp32_nodes=tuple(kept),
        casts_added=Counter(n.op_type for n in converted.graph.node)["Cast"] - nodes_before["Cast"],
        fp16_initializers=sum(i.data_type == onnx.TensorProto.FLOAT16
                              for i in converted.graph.initializer),
        source_onnx_sha256=source_sha)


def remove_fp16_round_trips(model) -> int:
    """Remove ``X(fp32) -> Cast(fp16) -> Cast(fp32) -> Z`` chains: consumers of Z read X.

    A Z that is a graph output becomes ``Identity(X)``. A first Cast left without consumers is
    dropped. Returns the number of round trips removed.
    """
    import onnx
    from onnx import TensorProto

    graph = model.graph
    types = _elem_types(onnx.shape_inference.infer_shapes(model))
    producers = {out: node for node in graph.node for out in node.output}
    outputs = {o.name for o in graph.output}
    removed, drop = 0, set()
    for node in graph.node:
        first = producers.get(node.input[0]) if node.op_type == "Cast" else None
        if (first is None or first.op_type != "Cast" or _cast_to(node) != TensorProto.FLOAT
                or _cast_to(first) != TensorProto.FLOAT16
                or types.get(first.input[0]) != TensorProto.FLOAT):
            continue
        source, target = first.input[0], node.output[0]
        if target in outputs:
            node.op_type, node.input[0] = "Identity", source
            del node.attribute[:]
        else:
            for consumer in graph.node:
                consumer.input[:] = [source if i == target else i for i in consumer.input]
            drop.add(id(node))
        removed += 1
    _drop_nodes(graph, drop)
    return removed


def _elem_types(inferred) -> dict[str, int]:
    graph = inferred.graph
    types = {v.name: v.type.tensor_type.elem_type
             for v in list(graph.input) + list(graph.output) + list(graph.value_info)}
    types.update({i.name: i.data_type for i in graph.initializer})
    return types


def _cast_to(node) -> int | None:
    return next((a.i for a in node.attribute if a.name == "to"), None)


def _drop_nodes(graph, drop: set[int]) -> None:
    """Remove the marked nodes, then Casts whose outputs nobody reads; prune stale value_info."""
    keep = [n for n in graph.node if id(n) not in drop]
    used = {i for n in keep for i in n.input} | {o.name for o in graph.output}
    keep = [n for n in keep if n.op_type != "Cast" or n.output[0] in used]
    produced = {o for n in keep for o in n.output}
    stale = [v for v in graph.value_info if v.name not in produced]
    for value in stale:
        graph.value_info.remove(value)
    del graph.node[:]
    graph.node.extend(keep)


def _require_float32(model, path) -> None:
    import onnx

    has_fp16 = any(i.data_type == onnx.TensorProto.FLOAT16 for i in model.graph.initializer)
    if has_fp16:
        raise HtpEdgeError(f"fp16: {path} already holds FP16 weights. Expected an FP32 ONNX, got "
                           f"FP16 initializers. Convert the FP32 export instead.")


def _convert_onnxconverter(model, keep_fp32_op_types, kept_names, keep_io_types):
    from onnxconverter_common import float16

    op_block = sorted((set(float16.DEFAULT_OP_BLOCK_LIST) | set(keep_fp32_op_types)) - {"Cast"})
    return float16.convert_float_to_float16(model, keep_io_types=keep_io_types,
                                            op_block_list=op_block, node_block_list=kept_names)


def _convert_modelopt(model, keep_fp32_op_types, keep_fp32_name_patterns, keep_io_types):
    try:
        from modelopt.onnx.autocast import convert_to_mixed_precision
    except ImportError:
        raise HtpEdgeError("fp16: NVIDIA ModelOpt AutoCast was requested but modelopt is not "
                           "installed. Expected the nvidia-modelopt[onnx] package, got "
                           "ImportError. Install it in its own environment or use "
                           "tool='onnxconverter-common'.") from None
    import onnx

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "fp32.onnx"
        onnx.save(model, str(src))
        return convert_to_mixed_precision(
            onnx_path=str(src), low_precision_type="fp16",
            nodes_to_exclude=[re.escape(p) for p in keep_fp32_name_patterns],
            op_types_to_exclude=list(keep_fp32_op_types), keep_io_types=keep_io_types)


def _validate(model, tool: str) -> None:
    import onnx

    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as err:
        raise HtpEdgeError(f"fp16: the converted graph is invalid ({tool}). Expected a graph that "
                           f"passes the ONNX checker, got: {' '.join(str(err).split())[:300]}. "
                           f"Keep the offending nodes in FP32 (keep_fp32_name_patterns).") from None


def save_atomic(model, out_path) -> None:
    """Save an ONNX model atomically (:func:`htp_edge.artifacts.files.atomic_write`)."""
    from htp_edge.artifacts.files import atomic_write
    atomic_write(out_path, lambda handle: handle.write(model.SerializeToString()))


def round_weights_fp16(model, keep_fp32_op_types: Sequence[str] = DEFAULT_KEEP_FP32_OP_TYPES,
                       keep_fp32_name_patterns: Sequence[str] = DEFAULT_KEEP_FP32_NAME_PATTERNS):
    """A copy of an FP32 model whose float weights are rounded to FP16 (and stay FP32 tensors).

    Initializers and Constant values used only by nodes the FP16 recipe keeps in FP32 are left
    as they are. Values beyond the FP16 range saturate at +-65504, as the conversion would.
    """
    import onnx
    from onnx import numpy_helper

    rounded = onnx.ModelProto()
    rounded.CopyFrom(model)
    _name_unnamed_nodes(rounded.graph)
    kept = set(fp32_node_names(rounded, keep_fp32_op_types, keep_fp32_name_patterns))
    users: dict[str, list[str]] = {}
    for node in rounded.graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node.name)
    for init in rounded.graph.initializer:
        consumers = users.get(init.name, [])
        if init.data_type == onnx.TensorProto.FLOAT and not all(c in kept for c in consumers):
            init.CopyFrom(numpy_helper.from_array(_round(numpy_helper.to_array(init)), init.name))
    for node in rounded.graph.node:
        if node.op_type == "Constant" and node.name not in kept:
            for attr in node.attribute:
                if attr.name == "value" and attr.t.data_type == onnx.TensorProto.FLOAT:
                    attr.t.CopyFrom(numpy_helper.from_array(_round(numpy_helper.to_array(attr.t)),
                                                            attr.t.name))
    return rounded


def _round(values: np.ndarray) -> np.ndarray:
    fp16_max = float(np.finfo(np.float16).max)
    return np.clip(values, -fp16_max, fp16_max).astype(np.float16).astype(np.float32)
