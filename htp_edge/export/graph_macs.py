"""Multiply-accumulate count of the matrix products of an ONNX graph, from static shapes.

Counts MatMul (and its integer/quantised forms MatMulInteger, com.microsoft
DynamicQuantizeMatMul, QLinearMatMul), Gemm and two-operand Einsum without ellipsis. For a
product with output shape ``out`` and contraction length ``K``: ``MACs = prod(out) * K``
(broadcast batch dimensions are part of ``out``). Element-wise ops, softmax and norms are not
counted; in a transformer they are a few percent of the total.
"""
from __future__ import annotations

from collections import defaultdict
from math import prod

from htp_edge.errors import HtpEdgeError

# op type -> (index of A, index of B) among the node inputs
_MATMUL_INPUTS = {"MatMul": (0, 1), "MatMulInteger": (0, 1), "DynamicQuantizeMatMul": (0, 1),
                  "QLinearMatMul": (0, 3)}


def count_matmul_macs(model, strict: bool = True) -> dict:
    """Count MACs of the matrix products of an ONNX model (path or ``onnx.ModelProto``).

    Returns ``{"total": int, "by_op_type": {op: int}, "by_node": {node name: int},
    "unresolved": [node names]}``. With ``strict`` (default) a product whose shapes are not
    static after shape inference raises :class:`HtpEdgeError`; otherwise it is listed under
    ``unresolved`` and not counted.
    """
    nodes, shapes = _static_shapes(_load(model))
    by_node: dict[str, int] = {}
    by_op: dict[str, int] = defaultdict(int)
    unresolved: list[str] = []
    for index, node in enumerate(nodes):
        if node.op_type not in _MATMUL_INPUTS and node.op_type not in ("Gemm", "Einsum"):
            continue
        name = node.name or f"{node.op_type}_{index}"
        macs = _node_macs(node, shapes)
        if macs is None:
            unresolved.append(name)
            continue
        by_node[name] = macs
        by_op[node.op_type] += macs
    if unresolved and strict:
        raise HtpEdgeError(
            f"MAC count: {len(unresolved)} matrix product(s) without static shapes "
            f"({', '.join(unresolved[:5])}). Expected static shapes after shape inference, got "
            f"unknown dims. Simplify the graph first (htp_edge.export.simplify) or pass "
            f"strict=False.")
    return {"total": sum(by_node.values()), "by_op_type": dict(by_op), "by_node": by_node,
            "unresolved": unresolved}


def _load(model):
    import onnx

    if isinstance(model, onnx.ModelProto):
        return model
    return onnx.load(str(model), load_external_data=False)


def _static_shapes(model) -> tuple[list, dict]:
    """The nodes after shape inference and a map tensor name -> static shape tuple (or None)."""
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    graph = inferred.graph
    shapes: dict = {i.name: tuple(i.dims) for i in graph.initializer}
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        tensor_type = value.type.tensor_type
        if not tensor_type.HasField("shape"):
            shapes.setdefault(value.name, None)
            continue
        dims = tuple(d.dim_value if d.HasField("dim_value") else None
                     for d in tensor_type.shape.dim)
        shapes[value.name] = dims if None not in dims else None
    return list(graph.node), shapes


def _node_macs(node, shapes: dict) -> int | None:
    out = shapes.get(node.output[0])
    if node.op_type in _MATMUL_INPUTS:
        a_index, _ = _MATMUL_INPUTS[node.op_type]
        a = shapes.get(node.input[a_index])
        if out is None or a is None:
            return None
        return prod(out) * a[-1]
    if node.op_type == "Gemm":
        a = shapes.get(node.input[0])
        if out is None or a is None:
            return None
        trans_a = next((attr.i for attr in node.attribute if attr.name == "transA"), 0)
        return prod(out) * (a[0] if trans_a else a[1])
    return _einsum_macs(node, shapes)


def _einsum_macs(node, shapes: dict) -> int | None:
    """Two-operand Einsum without ellipsis: the product of every index letter's size."""
    equation = next((attr.s.decode() for attr in node.attribute if attr.name == "equation"), "")
    lhs = equation.replace(" ", "").split("->")[0].split(",")
    operands = [shapes.get(name) for name in node.input]
    if len(lhs) != 2 or "." in equation or any(s is None for s in operands):
        return None
    sizes: dict[str, int] = {}
    for letters, shape in zip(lhs, operands):
        if len(letters) != len(shape):
            return None
        for letter, size in zip(letters, shape):
            sizes[letter] = max(sizes.get(letter, 1), size)
    return prod(sizes.values())
