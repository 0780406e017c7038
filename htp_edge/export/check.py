"""Check that an ONNX graph is ready for a static-shape TensorRT 10 build.

:func:`check_onnx` collects every problem instead of stopping at the first:

- the ONNX checker (``full_check=True``) passes;
- after shape inference every tensor (inputs, outputs, intermediates) has a fully static shape;
- every op is one the TensorRT 10.x ONNX parser supports (:mod:`htp_edge.export.trt_ops`);
- no data-dependent, control-flow or random ops (NonZero, Loop, If, Random*, Multinomial,
  Bernoulli);
- every TopK has a constant ``K`` (initializer or Constant) below ``max_topk`` and ``sorted=1``;
- the default-domain opset is the expected one (17).

:func:`require_ok` turns a failed report into one :class:`HtpEdgeError` line.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from htp_edge.errors import HtpEdgeError
from htp_edge.export.trt_ops import DEFAULT_DOMAINS, FORBIDDEN_OPS, is_trt10_supported

EXPECTED_OPSET = 17
MAX_TOPK = 3840          # TensorRT: the TopK K input must be below 3840
MAX_LISTED = 5           # tensors named per problem before "... and N more"

# ONNX element types TensorRT can hold (FLOAT, UINT8, INT8, INT32, INT64, BOOL, FLOAT16, DOUBLE,
# BFLOAT16, FLOAT8E4M3FN, INT4); DOUBLE is cast down to FLOAT by the parser.
TRT_ELEM_TYPES = frozenset({1, 2, 3, 6, 7, 9, 10, 11, 16, 17, 22})


@dataclass(frozen=True)
class GraphTensor:
    """Name, element type and shape of a graph input or output (symbolic dims as strings)."""

    name: str
    dtype: str
    shape: tuple


@dataclass(frozen=True)
class CheckReport:
    """Result of :func:`check_onnx`; ``ok`` is True when ``problems`` is empty."""

    ok: bool
    problems: tuple[str, ...]
    opset: int | None
    nodes: int
    op_counts: dict[str, int] = field(default_factory=dict)
    inputs: tuple[GraphTensor, ...] = ()
    outputs: tuple[GraphTensor, ...] = ()


def check_onnx(path_or_model, max_topk: int = MAX_TOPK,
               expected_opset: int | None = EXPECTED_OPSET) -> CheckReport:
    """Check an ONNX file or ``onnx.ModelProto`` for a static-shape TensorRT 10 build."""
    model = _load(path_or_model)
    problems = _checker_problems(path_or_model, model)
    inferred, inference_problems = _infer_shapes(model)
    problems += inference_problems
    opset = _default_opset(model)
    if expected_opset is not None and opset != expected_opset:
        problems.append(f"default-domain opset is {opset}, expected {expected_opset}")
    problems += _shape_problems(inferred)
    problems += _type_problems(inferred)
    nodes = list(_all_nodes(model.graph))
    problems += _op_problems(nodes)
    problems += _topk_problems(model.graph, max_topk)
    initializer_names = {init.name for init in model.graph.initializer}
    return CheckReport(
        ok=not problems, problems=tuple(problems), opset=opset, nodes=len(model.graph.node),
        op_counts=dict(sorted(Counter(n.op_type for n in model.graph.node).items())),
        inputs=tuple(_graph_tensor(v) for v in inferred.graph.input
                     if v.name not in initializer_names),
        outputs=tuple(_graph_tensor(v) for v in inferred.graph.output))


def require_ok(report: CheckReport) -> CheckReport:
    """Return ``report`` if it passed; otherwise raise one :class:`HtpEdgeError` line."""
    if report.ok:
        return report
    raise HtpEdgeError(
        f"ONNX check: {len(report.problems)} problem(s) for a static-shape TensorRT 10 build: "
        f"{'; '.join(report.problems)}. Expected none, got {len(report.problems)}. Re-export "
        f"with static shapes at opset {EXPECTED_OPSET} (torch.onnx.export(..., dynamo=False)) "
        f"and keep data-dependent ops out of the graph.")


# -- loading and inference ---------------------------------------------------------------------

def _load(path_or_model):
    import onnx

    if isinstance(path_or_model, onnx.ModelProto):
        return path_or_model
    path = Path(path_or_model)
    if not path.is_file():
        raise HtpEdgeError(f"ONNX check: file not found. Expected an .onnx file, got {path}.")
    return onnx.load(str(path))


def _checker_problems(path_or_model, model) -> list[str]:
    import onnx

    target = model if isinstance(path_or_model, onnx.ModelProto) else str(path_or_model)
    try:
        onnx.checker.check_model(target, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as err:
        return [f"ONNX checker failed: {_first_line(err)}"]
    return []


def _infer_shapes(model):
    import onnx

    try:
        return onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True,
                                                 data_prop=True), []
    except onnx.shape_inference.InferenceError as err:
        relaxed = onnx.shape_inference.infer_shapes(model, data_prop=True)
        return relaxed, [f"shape inference failed: {_first_line(err)}"]


def _first_line(err: Exception) -> str:
    text = " ".join(str(err).split())
    return text[:300]


def _default_opset(model) -> int | None:
    return next((o.version for o in model.opset_import if o.domain in DEFAULT_DOMAINS), None)


def _all_nodes(graph):
    """Every node of ``graph`` and of its subgraphs (If/Loop/Scan bodies)."""
    for node in graph.node:
        yield node
        for attr in node.attribute:
            subgraphs = list(attr.graphs) + ([attr.g] if attr.HasField("g") else [])
            for sub in subgraphs:
                yield from _all_nodes(sub)


# -- shapes and types --------------------------------------------------------------------------

def _dims(value_info) -> tuple | None:
    """Shape as a tuple of ints / symbolic names / None, or None when the rank is unknown."""
    tensor_type = value_info.type.tensor_type
    if not value_info.type.HasField("tensor_type") or not tensor_type.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                 for d in tensor_type.shape.dim)


def _is_static(dims: tuple | None) -> bool:
    return dims is not None and all(isinstance(d, int) for d in dims)


def _shape_text(dims: tuple | None) -> str:
    if dims is None:
        return "unknown rank"
    return "(" + ", ".join("?" if d is None else str(d) for d in dims) + ")"


def _listed(items: list[str]) -> str:
    extra = len(items) - MAX_LISTED
    return ", ".join(items[:MAX_LISTED]) + (f" and {extra} more" if extra > 0 else "")


def _shape_problems(inferred) -> list[str]:
    graph = inferred.graph
    known = {v.name: v for v in list(graph.input) + list(graph.output) + list(graph.value_info)}
    initializers = {i.name for i in graph.initializer}
    dynamic = [f"'{name}' {_shape_text(_dims(v))}" for name, v in known.items()
               if name not in initializers and not _is_static(_dims(v))]
    produced = [out for node in graph.node for out in node.output if out]
    missing = [f"'{name}'" for name in produced if name not in known]
    problems = []
    if dynamic:
        problems.append(f"{len(dynamic)} tensor(s) without a static shape: {_listed(dynamic)}")
    if missing:
        problems.append(f"{len(missing)} tensor(s) with no inferred shape: {_listed(missing)}")
    return problems


def _type_problems(inferred) -> list[str]:
    import onnx

    graph = inferred.graph
    bad = [f"'{v.name}' {onnx.TensorProto.DataType.Name(v.type.tensor_type.elem_type)}"
           for v in list(graph.input) + list(graph.output) + list(graph.value_info)
           if v.type.HasField("tensor_type")
           and v.type.tensor_type.elem_type not in TRT_ELEM_TYPES]
    if not bad:
        return []
    return [f"{len(bad)} tensor(s) of a type TensorRT cannot hold: {_listed(bad)}"]


# -- operators ---------------------------------------------------------------------------------

def _op_problems(nodes) -> list[str]:
    forbidden = sorted({n.op_type for n in nodes
                        if n.domain in DEFAULT_DOMAINS and n.op_type in FORBIDDEN_OPS})
    unsupported = sorted({n.op_type if n.domain in DEFAULT_DOMAINS else f"{n.domain}::{n.op_type}"
                          for n in nodes if not is_trt10_supported(n.op_type, n.domain)
                          and n.op_type not in FORBIDDEN_OPS})
    problems = []
    if forbidden:
        problems.append(f"data-dependent, control-flow or random op(s) not allowed: "
                        f"{', '.join(forbidden)}")
    if unsupported:
        problems.append(f"op(s) not supported by the TensorRT 10 ONNX parser: "
                        f"{', '.join(unsupported)}")
    return problems


def _constant_values(graph) -> dict[str, np.ndarray]:
    """Values of initializers and Constant-node outputs, by tensor name."""
    from onnx import helper, numpy_helper

    values = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.domain in DEFAULT_DOMAINS and node.attribute:
            attr = node.attribute[0]
            value = helper.get_attribute_value(attr)
            if attr.name == "value":
                values[node.output[0]] = numpy_helper.to_array(value)
            elif attr.name in ("value_int", "value_ints"):
                values[node.output[0]] = np.asarray(value, dtype=np.int64)
    return values


def _topk_problems(graph, max_topk: int) -> list[str]:
    from onnx import helper

    constants = _constant_values(graph)
    problems = []
    for node in graph.node:
        if node.op_type != "TopK" or node.domain not in DEFAULT_DOMAINS:
            continue
        label = f"TopK '{node.name or node.output[0]}'"
        k_name = node.input[1] if len(node.input) > 1 else ""
        if k_name not in constants:
            problems.append(f"{label} takes K from a runtime tensor '{k_name}', expected a "
                            f"constant initializer")
        elif int(np.max(constants[k_name])) >= max_topk:
            problems.append(f"{label} has K={int(np.max(constants[k_name]))}, expected "
                            f"K < {max_topk}")
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("sorted", 1) != 1:
            problems.append(f"{label} has sorted=0, expected sorted=1")
    return problems


def _graph_tensor(value_info) -> GraphTensor:
    import onnx

    elem = value_info.type.tensor_type.elem_type
    dtype = onnx.helper.tensor_dtype_to_np_dtype(elem).name if elem else "undefined"
    dims = _dims(value_info)
    return GraphTensor(name=value_info.name, dtype=dtype, shape=dims if dims is not None else ())
