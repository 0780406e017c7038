"""INT8: symmetric Q/DQ for TensorRT (scoring path excluded) and the dynamic CPU recipe."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from htp_edge.artifacts.files import sha256_file
from htp_edge.errors import HtpEdgeError
from htp_edge.export.check import check_onnx
from htp_edge.export.compare import compare_onnx_files, compare_with_onnxruntime, ort_session, run_onnxruntime
from htp_edge.export.simplify import simplify_onnx
from htp_edge.precision.int8 import quantize_int8_dynamic, quantize_int8_qdq, quantized_qdq_nodes, zero_point_problems
from htp_edge.precision.metadata import read_metadata, sha256_arrays
from tests.fixtures.tiny_onnx import STEPS, make_model, tiny_lifter_feed, tiny_lifter_onnx


def _calibration_feed(seed: int) -> dict[str, np.ndarray]:
    """A random feed whose timestep cycles through every valid value: a calibration set must
    cover each time embedding (random ``t`` left out t=0, which a test feed uses; with another
    model seed its unseen range was clipped, up to 1.76 error)."""
    return {**tiny_lifter_feed(seed), "t": np.array([seed % STEPS], dtype=np.int64)}


CALIBRATION = [_calibration_feed(seed) for seed in range(32)]
TEST_FEEDS = [tiny_lifter_feed(seed) for seed in range(1000, 1003)]
# Reduced-range INT8 weights (htp_edge.precision.int8.REDUCE_RANGE): |q| <= 64.
WEIGHT_QMAX = 64


def _quantized_weights(model) -> list[np.ndarray]:
    return [numpy_helper.to_array(i) for i in model.graph.initializer
            if i.data_type == TensorProto.INT8 and not i.name.endswith("_zero_point")]


def _reference_semantics(path):
    """ONNX Runtime with its Q/DQ fusion off: DequantizeLinear -> float MatMul -> QuantizeLinear,
    the graph's own meaning (exact int32 accumulation, as TensorRT computes it)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.add_session_config_entry("session.disable_quant_qdq", "1")
    return ort.InferenceSession(str(path), sess_options=options,
                                providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def lifter(tmp_path_factory):
    """export -> simplify (the pipeline's order) -> INT8 Q/DQ."""
    folder = tmp_path_factory.mktemp("int8")
    raw = tiny_lifter_onnx(folder / "raw.onnx")
    fp32 = folder / "lifter.onnx"
    simplify_onnx(raw, fp32, tool="onnxslim", feeds=TEST_FEEDS[:1])
    report = quantize_int8_qdq(fp32, folder / "lifter_int8.onnx", CALIBRATION)
    return fp32, folder / "lifter_int8.onnx", report


def test_scoring_path_and_attention_products_stay_float(lifter):
    _, int8, report = lifter
    assert "/mgptp/score/MatMul" in report.excluded_nodes
    quantized = set(quantized_qdq_nodes(onnx.load(str(int8))))
    assert "/mgptp/score/MatMul" not in quantized
    assert set(report.quantized_nodes) == quantized
    # Weight GEMMs are quantised; the activation-by-activation attention products are not.
    assert {"/block0/fc1/MatMul", "/head/MatMul"} <= quantized
    assert "/block0/attn/MatMul" not in quantized and "/block0/attn/MatMul" in report.excluded_nodes


def test_attention_products_can_be_quantised(tmp_path):
    raw = tiny_lifter_onnx(tmp_path / "raw.onnx")
    report = quantize_int8_qdq(raw, tmp_path / "q.onnx", CALIBRATION, quantize_attention=True)
    assert report.excluded_nodes == ("/mgptp/score/MatMul",)
    assert "/block0/attn/MatMul" in report.quantized_nodes


def test_zero_points_are_zero_and_counted(lifter):
    _, int8, report = lifter
    model = onnx.load(str(int8))
    assert zero_point_problems(model) == []
    assert report.quantize_linear > 0 and report.dequantize_linear >= report.quantize_linear
    zero_points = [numpy_helper.to_array(i) for i in model.graph.initializer
                   if i.name.endswith("_zero_point")]
    assert zero_points and all(z.dtype == np.int8 and not z.any() for z in zero_points)
    weights = _quantized_weights(model)
    assert weights and max(int(np.abs(w.astype(np.int32)).max()) for w in weights) <= WEIGHT_QMAX


def test_cpu_integer_kernels_compute_the_qdq_graph(lifter):
    """ORT's fused integer kernels (QLinearMatMul) give the graph's own result on any CPU: with
    full-range weights, x86 without VNNI saturated int16 pair sums (0.15 vs 0.033 error)."""
    _, int8, _ = lifter
    fused, reference = ort_session(int8), _reference_semantics(int8)
    for feed in TEST_FEEDS:
        got = run_onnxruntime(int8, feed, session=fused)["pose_3d"]
        want = run_onnxruntime(int8, feed, session=reference)["pose_3d"]
        assert np.abs(got - want).max() <= 5e-3


def test_the_qdq_graph_is_a_tensorrt_graph(lifter):
    _, int8, _ = lifter
    report = check_onnx(int8)
    assert report.ok, report.problems
    assert report.opset == 17


def test_outputs_within_tolerance_and_topk_identical(lifter):
    fp32, int8, _ = lifter
    for feed in TEST_FEEDS:
        result = compare_with_onnxruntime(int8, feed, run_onnxruntime(fp32, feed), "int8-qdq")
        assert result.ok, result.failures()
        assert result.outputs[1].agreement == 1.0
    assert compare_onnx_files(fp32, int8, TEST_FEEDS, "int8").ok


def test_metadata_records_calibration(lifter):
    fp32, int8, report = lifter
    meta = read_metadata(int8)
    assert meta.precision == "int8-qdq"
    assert meta.calibration_sha256 == sha256_arrays(CALIBRATION) == report.calibration_sha256
    assert meta.source_onnx_sha256 == sha256_file(fp32)
    assert meta.recipe["symmetric"] and meta.recipe["calibration_feeds"] == 32
    assert meta.recipe["reduce_range"] is True
    assert meta.recipe["exclude_name_patterns"] == ["/tcep/", "/mgptp/", "/token_planner/"]


@pytest.mark.parametrize("method,per_channel", [("percentile", False), ("entropy", True)])
def test_other_calibrations_stay_symmetric(lifter, tmp_path, method, per_channel):
    fp32, _, _ = lifter
    out = tmp_path / "q.onnx"
    report = quantize_int8_qdq(fp32, out, CALIBRATION[:8], calibrate_method=method,
                               per_channel=per_channel, preprocess=False)
    assert report.calibrate_method == method
    assert zero_point_problems(onnx.load(str(out))) == []
    assert "/mgptp/score/MatMul" not in report.quantized_nodes


def test_bad_requests_raise(lifter, tmp_path):
    fp32, _, _ = lifter
    with pytest.raises(HtpEdgeError, match="unknown calibration method"):
        quantize_int8_qdq(fp32, tmp_path / "q.onnx", CALIBRATION, calibrate_method="mse")
    with pytest.raises(HtpEdgeError, match="no calibration feeds.*quantize_int8_dynamic"):
        quantize_int8_qdq(fp32, tmp_path / "q.onnx", [])
    with pytest.raises(HtpEdgeError, match="calibration hash does not match"):
        quantize_int8_qdq(fp32, tmp_path / "q.onnx", CALIBRATION[:2], calibration_sha256="0" * 64)
    assert not (tmp_path / "q.onnx").exists()


def test_zero_point_problems_finds_asymmetric_nodes():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])
    inits = [numpy_helper.from_array(np.array(0.1, np.float32), "s"),
             numpy_helper.from_array(np.array(3, np.int8), "zp"),
             numpy_helper.from_array(np.array(0, np.int8), "zp0")]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"], name="q"),
             helper.make_node("DequantizeLinear", ["q", "s", "zp0"], ["y"], name="dq")]
    problems = zero_point_problems(make_model(nodes, [x], [y], inits))
    assert len(problems) == 1 and problems[0].startswith("q (zero point")


def test_dynamic_recipe_is_the_cpu_format(lifter, tmp_path):
    fp32, _, _ = lifter
    out = tmp_path / "dynamic.onnx"
    report = quantize_int8_dynamic(fp32, out)
    assert report.precision == "int8-dynamic" and report.calibration_sha256 is None
    assert report.excluded_nodes == ("/mgptp/score/MatMul",)
    assert report.quantized_nodes and not any("mgptp" in n for n in report.quantized_nodes)
    model = onnx.load(str(out))
    assert any(n.name == "/mgptp/score/MatMul" and n.op_type == "MatMul" for n in model.graph.node)
    meta = read_metadata(out)
    assert meta.precision == "int8-dynamic" and meta.recipe["target"] == "onnxruntime-cpu"
    assert meta.recipe["reduce_range"] is True
    # 7-bit weights: no int16 saturation in MatMulInteger on x86 without VNNI (0.38 error there)
    weights = _quantized_weights(model)
    assert weights and max(int(np.abs(w.astype(np.int32)).max()) for w in weights) <= WEIGHT_QMAX
    assert not check_onnx(out).ok  # MatMulInteger/DynamicQuantizeLinear: not for TensorRT
    for feed in TEST_FEEDS:
        assert compare_with_onnxruntime(out, feed, run_onnxruntime(fp32, feed), "int8-dynamic").ok
