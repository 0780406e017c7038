"""count_matmul_macs against hand-computed values."""
from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from htp_edge.errors import HtpEdgeError
from htp_edge.export.graph_macs import count_matmul_macs
from tests.fixtures.tiny_onnx import export_legacy, make_model

B, N, C, HEADS, OUT = 2, 10, 16, 4, 8  # batch, tokens, width, heads (head size 4), output width


@pytest.fixture(scope="module")
def attention_onnx(tmp_path_factory):
    """Linear(C->3C) -> batched q@k^T and attn@v over HEADS heads -> Linear(C->OUT)."""
    import torch
    from torch import nn

    class TinyAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv = nn.Linear(C, 3 * C)
            self.proj = nn.Linear(C, OUT)

        def forward(self, x):
            qkv = self.qkv(x).reshape(B, N, 3, HEADS, C // HEADS)  # (B, N, 3, h, d)
            qkv = qkv.permute(2, 0, 3, 1, 4)  # (3, B, h, N, d)
            attn = (qkv[0] @ qkv[1].transpose(-2, -1)).softmax(-1)  # (B, h, N, N)
            return self.proj((attn @ qkv[2]).transpose(1, 2).reshape(B, N, C))  # (B, N, OUT)

    path = tmp_path_factory.mktemp("macs") / "attention.onnx"
    return export_legacy(TinyAttention().eval(), (torch.randn(B, N, C),), path, ["x"], ["y"])


def test_linear_and_batched_attention(attention_onnx):
    macs = count_matmul_macs(attention_onnx)
    d = C // HEADS
    expected = {
        "/qkv/MatMul": B * N * 3 * C * C,      # (2, 10, 48) x K=16 = 15360
        "/MatMul": B * HEADS * N * N * d,      # (2, 4, 10, 10) x K=4 = 3200
        "/MatMul_1": B * HEADS * N * d * N,    # (2, 4, 10, 4) x K=10 = 3200
        "/proj/MatMul": B * N * OUT * C,       # (2, 10, 8) x K=16 = 2560
    }
    assert macs["by_node"] == expected
    assert macs["total"] == 24320 == sum(expected.values())
    assert macs["by_op_type"] == {"MatMul": 24320}
    assert macs["unresolved"] == []


def test_gemm_with_transposed_a_and_einsum():
    rng = np.random.default_rng(0)
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [6, 3])
    p = helper.make_tensor_value_info("p", TensorProto.FLOAT, [2, 3, 4])
    q = helper.make_tensor_value_info("q", TensorProto.FLOAT, [2, 4, 5])
    outs = [helper.make_tensor_value_info("g", TensorProto.FLOAT, [3, 5]),
            helper.make_tensor_value_info("e", TensorProto.FLOAT, [2, 3, 5])]
    w = numpy_helper.from_array(rng.standard_normal((6, 5)).astype(np.float32), "w")
    nodes = [helper.make_node("Gemm", ["a", "w"], ["g"], name="gemm", transA=1),
             helper.make_node("Einsum", ["p", "q"], ["e"], name="einsum", equation="bij,bjk->bik")]
    macs = count_matmul_macs(make_model(nodes, [a, p, q], outs, [w]))
    assert macs["by_node"] == {"gemm": 3 * 5 * 6, "einsum": 2 * 3 * 4 * 5}
    assert macs["by_op_type"] == {"Gemm": 90, "Einsum": 120}
    assert macs["total"] == 210


def test_dynamic_shapes_raise_or_are_listed():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])
    w = numpy_helper.from_array(np.ones((4, 3), np.float32), "w")
    model = make_model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], [x], [y], [w])
    with pytest.raises(HtpEdgeError, match="without static shapes"):
        count_matmul_macs(model)
    assert count_matmul_macs(model, strict=False) == {
        "total": 0, "by_op_type": {}, "by_node": {}, "unresolved": ["mm"]}
