"""FP16 conversion: FP32 I/O, the scoring path and LayerNorm stay FP32, outputs within tolerance."""
from __future__ import annotations

import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto

from htp_edge.artifacts.files import sha256_file
from htp_edge.errors import HtpEdgeError
from htp_edge.export.compare import compare_onnx_files, compare_with_onnxruntime, run_onnxruntime
from htp_edge.precision.fp16 import convert_fp16, round_weights_fp16
from htp_edge.precision.metadata import read_metadata
from tests.fixtures.tiny_onnx import graph_cast_chain, tiny_lifter_feed, tiny_lifter_onnx

FEEDS = [tiny_lifter_feed(seed) for seed in range(3)]


@pytest.fixture(scope="module")
def lifter(tmp_path_factory):
    """The tiny lifter as exported (shared weights through Identity nodes included) and its FP16."""
    folder = tmp_path_factory.mktemp("fp16")
    fp32 = tiny_lifter_onnx(folder / "lifter.onnx")
    report = convert_fp16(fp32, folder / "lifter_fp16.onnx")
    return fp32, folder / "lifter_fp16.onnx", report


def _elem_types(path) -> dict[str, int]:
    inferred = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    graph = inferred.graph
    types = {v.name: v.type.tensor_type.elem_type
             for v in list(graph.input) + list(graph.output) + list(graph.value_info)}
    types.update({i.name: i.data_type for i in graph.initializer})
    return types


def _node_tensor_types(path, names) -> set[int]:
    """Element types of every input/output tensor of the named nodes."""
    types = _elem_types(path)
    nodes = [n for n in onnx.load(str(path)).graph.node if n.name in names]
    return {types[t] for n in nodes for t in list(n.input) + list(n.output) if t in types}


def test_io_stays_fp32_and_weights_become_fp16(lifter):
    _, fp16, report = lifter
    model = onnx.load(str(fp16))
    assert [i.type.tensor_type.elem_type for i in model.graph.input] == [TensorProto.FLOAT,
                                                                          TensorProto.INT64]
    assert [o.type.tensor_type.elem_type for o in model.graph.output] == [TensorProto.FLOAT,
                                                                           TensorProto.INT64]
    assert report.fp16_initializers > 0 and report.casts_added > 0
    assert "/block0/fc1/MatMul" in report.quantized_nodes
    assert _node_tensor_types(fp16, {"/block0/fc1/MatMul", "/block0/attn/MatMul"}) == {
        TensorProto.FLOAT16}


def test_scoring_path_and_layernorm_stay_fp32(lifter):
    _, fp16, report = lifter
    model = onnx.load(str(fp16))
    mgptp = {n.name for n in model.graph.node if n.name.startswith("/mgptp/")
             and n.op_type != "Cast"}
    norms = {n.name for n in model.graph.node if n.op_type == "LayerNormalization"}
    assert {"/mgptp/TopK", "/mgptp/score/MatMul", "/mgptp/GatherElements"} <= mgptp
    assert mgptp | norms <= set(report.fp32_nodes)
    assert TensorProto.FLOAT16 not in _node_tensor_types(fp16, mgptp | norms)
    # Between FP32 nodes no tensor takes an FP16 detour (score -> TopK directly).
    topk = next(n for n in model.graph.node if n.name == "/mgptp/TopK")
    producers = {o: n for n in model.graph.node for o in n.output}
    assert producers[topk.input[0]].op_type != "Cast"


def test_outputs_within_tolerance_and_topk_identical(lifter):
    fp32, fp16, _ = lifter
    for feed in FEEDS:
        report = compare_with_onnxruntime(fp16, feed, run_onnxruntime(fp32, feed), "fp16")
        assert report.ok, report.failures()
        assert report.outputs[1].name == "keep_frames" and report.outputs[1].agreement == 1.0
    polygraphy = compare_onnx_files(fp32, fp16, FEEDS, "fp16")
    assert polygraphy.ok and polygraphy.max_abs["pose_3d"] > 0.0


def test_metadata_names_the_recipe(lifter):
    fp32, fp16, report = lifter
    meta = read_metadata(fp16)
    assert meta.precision == "fp16" and meta.calibration_sha256 is None
    assert meta.source_onnx_sha256 == sha256_file(fp32) == report.source_onnx_sha256
    assert "/mgptp/" in meta.recipe["keep_fp32_name_patterns"]
    assert meta.recipe["tool"] == "onnxconverter-common" and meta.recipe["keep_io_types"]


def test_existing_casts_keep_their_types(tmp_path):
    src = tmp_path / "cast.onnx"
    onnx.save(graph_cast_chain(), str(src))
    report = convert_fp16(src, tmp_path / "cast_fp16.onnx")
    assert {"to_int", "to_float"} <= set(report.fp32_nodes)
    feed = {"x": (np.random.default_rng(0).standard_normal((2, 4)) * 3).astype(np.float32)}
    result = compare_with_onnxruntime(tmp_path / "cast_fp16.onnx", feed,
                                      run_onnxruntime(src, feed), "fp16")
    assert result.ok


def test_refuses_fp16_input_and_unknown_tool(lifter, tmp_path):
    _, fp16, _ = lifter
    with pytest.raises(HtpEdgeError, match="already holds FP16 weights"):
        convert_fp16(fp16, tmp_path / "again.onnx")
    with pytest.raises(HtpEdgeError, match="unknown tool"):
        convert_fp16(lifter[0], tmp_path / "x.onnx", tool="trtexec")


def test_modelopt_missing_is_an_error_not_a_fallback(lifter, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "modelopt", None)
    monkeypatch.setitem(sys.modules, "modelopt.onnx", None)
    monkeypatch.setitem(sys.modules, "modelopt.onnx.autocast", None)
    out = tmp_path / "mo.onnx"
    with pytest.raises(HtpEdgeError, match="modelopt is not installed.*onnxconverter-common"):
        convert_fp16(lifter[0], out, tool="modelopt")
    assert not out.exists()


def test_round_weights_fp16(lifter):
    fp32, _, _ = lifter
    model = onnx.load(str(fp32))
    weight_of = {n.name: n.input[1] for n in model.graph.node if n.op_type == "MatMul"}
    rounded = round_weights_fp16(model)
    before = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    after = {i.name: onnx.numpy_helper.to_array(i) for i in rounded.graph.initializer}
    fc1 = after[weight_of["/block0/fc1/MatMul"]]
    assert fc1.dtype == np.float32
    assert np.array_equal(fc1, fc1.astype(np.float16).astype(np.float32))
    assert not np.array_equal(fc1, before[weight_of["/block0/fc1/MatMul"]])
    # Weights read only by FP32-kept nodes (the scoring path) are left as they are.
    score = weight_of["/mgptp/score/MatMul"]
    assert np.array_equal(after[score], before[score])
    assert not np.array_equal(before[score], before[score].astype(np.float16).astype(np.float32))
    for feed in FEEDS:
        assert compare_with_onnxruntime(rounded, feed, run_onnxruntime(fp32, feed), "fp16").ok
