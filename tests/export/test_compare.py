"""compare_outputs / compare_with_onnxruntime / compare_onnx_files (Polygraphy)."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from htp_edge.errors import HtpEdgeError
from htp_edge.export.compare import (
    compare_onnx_files,
    compare_with_onnxruntime,
    ort_session,
    random_feed,
    run_onnxruntime,
)
from htp_edge.runtime.compare import compare_outputs, resolve_tolerance
from htp_edge.tolerances import Tol, tolerance
from tests.fixtures.tiny_onnx import graph_relu, graph_topk, make_model


def _linear(path, delta: float = 0.0):
    """pose_3d = x @ W (+ delta on W) and keep_frames = argmax-like TopK indices of x."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 3)).astype(np.float32) + np.float32(delta)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, 4])
    outs = [helper.make_tensor_value_info("pose_3d", TensorProto.FLOAT, [5, 3]),
            helper.make_tensor_value_info("keep_frames", TensorProto.INT64, [5, 2])]
    nodes = [helper.make_node("MatMul", ["x", "w"], ["pose_3d"], name="mm"),
             helper.make_node("TopK", ["x", "k"], ["vals", "keep_frames"], name="topk", axis=-1)]
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.array([2]), "k")]
    onnx.save(make_model(nodes, [x], outs, inits), str(path))
    return path


@pytest.fixture
def feeds():
    rng = np.random.default_rng(1)
    return [{"x": rng.standard_normal((5, 4)).astype(np.float32)} for _ in range(3)]


def test_resolve_tolerance():
    assert resolve_tolerance("fp16", "pose_3d") == tolerance("fp16", "pose_3d")
    assert resolve_tolerance(Tol(atol=1.0), "anything") == Tol(atol=1.0)
    assert resolve_tolerance({"*": Tol(atol=2.0)}, "y") == Tol(atol=2.0)
    with pytest.raises(HtpEdgeError, match="no tolerance for output 'y'"):
        resolve_tolerance({"z": Tol()}, "y")


def test_compare_outputs_reports_worst_differences():
    expected = {"pose_3d": np.array([1.0, 2.0], np.float32), "keep_frames": np.array([3, 4])}
    actual = {"pose_3d": np.array([1.00005, 2.0], np.float32), "keep_frames": np.array([3, 4])}
    report = compare_outputs(expected, actual, "fp32")
    assert report.ok and report.feeds == 1
    assert report.max_abs["pose_3d"] == pytest.approx(5e-5, rel=1e-2)
    assert report.outputs[0].agreement is None and report.outputs[1].agreement == 1.0
    actual["keep_frames"] = np.array([4, 3])
    report = compare_outputs(expected, actual, "fp32")
    assert not report.ok and report.failures() == ["keep_frames (max abs 1, agreement 0.000)"]


def test_compare_outputs_rejects_missing_or_reshaped_outputs():
    expected = {"y": np.zeros(3)}
    with pytest.raises(HtpEdgeError, match="outputs missing"):
        compare_outputs(expected, {}, "fp32")
    with pytest.raises(HtpEdgeError, match="shape differs"):
        compare_outputs(expected, {"y": np.zeros(4)}, "fp32")


def test_compare_with_onnxruntime(tmp_path, feeds):
    path = _linear(tmp_path / "a.onnx")
    reference = run_onnxruntime(path, feeds[0])
    assert compare_with_onnxruntime(path, feeds[0], reference, "fp32").ok
    reference["pose_3d"] = reference["pose_3d"] + np.float32(1e-3)
    report = compare_with_onnxruntime(path, feeds[0], reference, "fp32")
    assert not report.ok and report.tool == "onnxruntime"
    assert compare_with_onnxruntime(path, feeds[0], reference, "fp16").ok


def test_compare_onnx_files_with_polygraphy(tmp_path, feeds):
    reference = _linear(tmp_path / "ref.onnx")
    candidate = _linear(tmp_path / "cand.onnx", delta=3e-4)
    strict = compare_onnx_files(reference, candidate, feeds, "fp32")
    assert strict.tool == "polygraphy" and strict.feeds == 3
    assert not strict.ok and strict.polygraphy_passed is False
    assert 1e-4 < strict.max_abs["pose_3d"] < 2e-3
    assert strict.max_abs["keep_frames"] == 0.0
    relaxed = compare_onnx_files(reference, candidate, feeds, "fp16")
    assert relaxed.ok and relaxed.polygraphy_passed is True
    assert relaxed.max_abs == strict.max_abs


def test_compare_onnx_files_needs_feeds(tmp_path):
    path = _linear(tmp_path / "a.onnx")
    with pytest.raises(HtpEdgeError, match="no feeds"):
        compare_onnx_files(path, path, [], "fp32")


def test_random_feed_rules():
    rng = np.random.default_rng(0)
    feed = random_feed(ort_session(graph_relu((2, 3))), rng)
    assert feed["x"].shape == (2, 3) and feed["x"].dtype == np.float32
    with pytest.raises(HtpEdgeError, match="dynamic shape"):
        random_feed(ort_session(graph_relu(("batch", 3))), rng)
    session = ort_session(graph_topk(k_from_input=True))
    with pytest.raises(HtpEdgeError, match="input 'k' is int64"):
        random_feed(session, rng)
    feed = random_feed(session, rng, lambda name, shape, dtype, r: np.full(shape, 2))
    assert feed["k"].dtype == np.int64 and feed["k"].tolist() == [2]


def test_unloadable_model_raises():
    broken = graph_relu()
    broken.graph.node[0].op_type = "NoSuchOp"
    with pytest.raises(HtpEdgeError, match="ONNX Runtime: cannot load the model"):
        ort_session(broken)
