"""check_onnx: static shapes, TensorRT 10 op support, TopK rules and opset."""
from __future__ import annotations

import subprocess
import sys

import pytest
from onnx import TensorProto, helper

from htp_edge.errors import HtpEdgeError
from htp_edge.export.check import check_onnx, require_ok
from htp_edge.export.trt_ops import FORBIDDEN_OPS, trt10_ops_source, trt10_supported_ops
from tests.fixtures.tiny_onnx import (
    graph_cast_chain,
    graph_nonzero,
    graph_relu,
    graph_topk,
    graph_unsupported_op,
    make_model,
)


def test_op_list_is_bundled_with_its_source():
    ops = trt10_supported_ops()
    assert {"MatMul", "Gemm", "LayerNormalization", "TopK", "QuantizeLinear",
            "DequantizeLinear", "Softmax"} <= ops
    assert not {"BitShift", "MatMulInteger", "DynamicQuantizeLinear", "Unique"} & ops
    assert "onnx-tensorrt" in trt10_ops_source() and "10." in trt10_ops_source()


def test_clean_graph_passes_and_reports_io():
    report = check_onnx(graph_cast_chain())
    assert report.ok and report.problems == ()
    assert report.opset == 17 and report.nodes == 4
    assert report.op_counts == {"Add": 1, "Cast": 2, "MatMul": 1}
    assert [(t.name, t.dtype, t.shape) for t in report.inputs] == [("x", "float32", (2, 4))]
    assert [(t.name, t.shape) for t in report.outputs] == [("y", (2, 3))]
    assert require_ok(report) is report


def test_checks_a_file(tmp_path):
    import onnx

    path = tmp_path / "relu.onnx"
    onnx.save(graph_relu(), str(path))
    assert check_onnx(path).ok
    with pytest.raises(HtpEdgeError, match="file not found"):
        check_onnx(tmp_path / "missing.onnx")


def test_rejects_dynamic_dims():
    report = check_onnx(graph_relu(("batch", 3)))
    assert not report.ok
    assert "without a static shape" in report.problems[0] and "'x' (batch, 3)" in report.problems[0]
    assert report.inputs[0].shape == ("batch", 3)


def test_rejects_nonzero():
    report = check_onnx(graph_nonzero())
    assert any("NonZero" in p and "not allowed" in p for p in report.problems)


@pytest.mark.parametrize("op", sorted(FORBIDDEN_OPS - {"Loop", "If", "NonZero"}))
def test_rejects_random_ops(op):
    generator = op in ("RandomNormal", "RandomUniform")  # no input, a shape attribute
    multinomial = op == "Multinomial"  # (batch, classes) -> int32 samples
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2] if multinomial else [2])
    y = helper.make_tensor_value_info("y", TensorProto.INT32 if multinomial else TensorProto.FLOAT,
                                      [1, 1] if multinomial else [2])
    node = helper.make_node(op, [] if generator else ["x"], ["y"], name="rnd",
                            **({"shape": [2]} if generator else {}))
    report = check_onnx(make_model([node], [] if generator else [x], [y]))
    assert any(op in p and "not allowed" in p for p in report.problems)


def test_rejects_loop():
    body_in = [helper.make_tensor_value_info("i", TensorProto.INT64, []),
               helper.make_tensor_value_info("c", TensorProto.BOOL, []),
               helper.make_tensor_value_info("a", TensorProto.FLOAT, [2])]
    body_out = [helper.make_tensor_value_info("c_out", TensorProto.BOOL, []),
                helper.make_tensor_value_info("a_out", TensorProto.FLOAT, [2])]
    body = helper.make_graph([helper.make_node("Identity", ["c"], ["c_out"]),
                              helper.make_node("Relu", ["a"], ["a_out"])],
                             "body", body_in, body_out)
    inputs = [helper.make_tensor_value_info("n", TensorProto.INT64, []),
              helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
              helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])]
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    loop = helper.make_node("Loop", ["n", "cond", "x"], ["y"], name="loop", body=body)
    report = check_onnx(make_model([loop], inputs, [y]))
    assert any("Loop" in p and "not allowed" in p for p in report.problems)


def test_rejects_topk_with_runtime_k():
    report = check_onnx(graph_topk(k_from_input=True))
    assert any("runtime tensor 'k'" in p for p in report.problems)


def test_rejects_topk_k_at_the_tensorrt_limit():
    assert check_onnx(graph_topk(k=3839, n=4000)).ok
    report = check_onnx(graph_topk(k=3840, n=4000))
    assert any("K=3840" in p and "K < 3840" in p for p in report.problems)
    assert check_onnx(graph_topk(k=5, n=8), max_topk=5).problems


def test_accepts_topk_k_from_a_constant_node():
    model = graph_topk(k=2)
    k = model.graph.initializer.pop()
    model.graph.node.insert(0, helper.make_node("Constant", [], ["k"], name="k_const", value=k))
    assert check_onnx(model).ok


def test_rejects_unsorted_topk():
    model = graph_topk(k=2)
    model.graph.node[0].attribute.append(helper.make_attribute("sorted", 0))
    assert any("sorted=0" in p for p in check_onnx(model).problems)


def test_rejects_unsupported_and_custom_ops():
    report = check_onnx(graph_unsupported_op())
    assert any("not supported by the TensorRT 10 ONNX parser: BitShift" in p
               for p in report.problems)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 2])
    node = helper.make_node("FusedMatMul", ["x", "x"], ["y"], name="fmm", domain="com.microsoft")
    model = make_model([node], [x], [y])
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    assert any("com.microsoft::FusedMatMul" in p for p in check_onnx(model).problems)


def test_reports_other_opsets():
    report = check_onnx(graph_relu(opset=13))
    assert report.opset == 13
    assert report.problems == ("default-domain opset is 13, expected 17",)
    assert check_onnx(graph_relu(opset=13), expected_opset=None).ok


def test_require_ok_raises_one_line():
    with pytest.raises(HtpEdgeError) as err:
        require_ok(check_onnx(graph_nonzero()))
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("ONNX check: 1 problem(s)") and "NonZero" in message


def test_invalid_graph_is_reported():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    model = make_model([helper.make_node("Relu", ["missing"], ["y"], name="r")], [x], [y])
    report = check_onnx(model)
    assert not report.ok and any("checker failed" in p for p in report.problems)


def test_export_modules_import_lazily():
    code = ("import sys, htp_edge.export.check, htp_edge.export.compare, "
            "htp_edge.export.simplify, htp_edge.export.graph_macs, htp_edge.tolerances; "
            "print(sorted(m for m in ('torch', 'tensorrt', 'onnx', 'onnxruntime', 'polygraphy', "
            "'onnxsim', 'onnxslim') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
