"""INT8 of the CPU companion graph: fused attention as QAttention where it has no logit bias."""
from __future__ import annotations

import shutil

import numpy as np
import onnx
import pytest
from onnx import helper

from htp_edge.artifacts.naming import planner_onnx
from htp_edge.artifacts.onnx_meta import read_graph_meta
from htp_edge.artifacts.resources import checkpoints_dir
from htp_edge.bench.run import walking_keypoints
from htp_edge.errors import HtpEdgeError
from htp_edge.export.cpu_fusion import write_cpu_graph
from htp_edge.precision.apply import copy_graph_meta, int8_float_patterns
from htp_edge.precision.int8 import (
    _require_biases_kept,
    biased_attention_names,
    quantize_int8_cpu,
    unfuse_biased_attention,
)
from htp_edge.precision.metadata import read_metadata
from htp_edge.runtime.lifter import Lifter


@pytest.fixture(scope="module")
def htp(tmp_path_factory):
    """A copy of the bundled htp-small set, its CPU companion and its int8-cpu variant."""
    folder = tmp_path_factory.mktemp("int8cpu")
    src = checkpoints_dir() / "htp-small_c1_h1_flip.onnx"
    dst = folder / src.name
    shutil.copyfile(src, dst)
    shutil.copyfile(planner_onnx(src), planner_onnx(dst))
    cpu = write_cpu_graph(dst, folder / "plain.cpu.onnx")["onnx"]
    out = folder / "q.onnx"
    report = quantize_int8_cpu(dst, out, exclude_name_patterns=int8_float_patterns(0))  # the shipped recipe
    copy_graph_meta(out, read_graph_meta(dst))
    shutil.copyfile(planner_onnx(dst), planner_onnx(out))
    return dst, onnx.load(cpu), out, report


def test_unbiased_attention_becomes_qattention_and_biased_keeps_its_bias(htp):
    _, cpu, out, report = htp
    biased = set(biased_attention_names(cpu))
    unbiased = {n.name for n in cpu.graph.node if n.op_type == "Attention"} - biased
    assert biased and unbiased  # htp-small has both kinds
    q = onnx.load(str(out))
    qattention = {n.name.removesuffix("_quant") for n in q.graph.node if n.op_type == "QAttention"}
    assert qattention == unbiased
    mha = {n.name.removesuffix("/mha"): n for n in q.graph.node if n.op_type == "MultiHeadAttention"}
    assert set(mha) == biased and all(len(n.input) == 6 and n.input[5] for n in mha.values())  # bias wired
    assert not [n for n in q.graph.node if n.op_type == "Attention"]
    # the biased blocks' QKV projections are INT8 (the recipe's point), the scoring path is not
    assert all(any(n.startswith(f"{b}/qkv_MatMul") for n in report.quantized_nodes) for b in biased)
    # float by name, also where ONNX Runtime's Gemm fusion renamed the node (".../MatMulAddFusion")
    assert not any(p in n for p in int8_float_patterns(0) for n in report.quantized_nodes)


def test_float_mode_keeps_biased_attention_whole(htp, tmp_path):
    src, cpu, _, _ = htp
    out = tmp_path / "f.onnx"
    report = quantize_int8_cpu(src, out, biased_attention="float")
    q = onnx.load(str(out))
    kept = {n.name for n in q.graph.node if n.op_type == "Attention" and len(n.input) > 5 and n.input[5]}
    assert kept == set(biased_attention_names(cpu)) <= set(report.excluded_nodes)
    assert read_metadata(out).recipe["multi_head_attention"] == 0


def test_unfused_attention_gives_the_fused_outputs(htp):
    src, cpu, _, _ = htp
    feed = _feed(src)
    model = onnx.load_from_string(cpu.SerializeToString())
    assert unfuse_biased_attention(model)
    ref, got = _run(cpu, feed), _run(model, feed)
    assert np.abs(ref[0] - got[0]).max() < 1e-5 and all(np.array_equal(a, b) for a, b in zip(ref[1:], got[1:]))


def _feed(path):
    from htp_edge.bench.gap import recorded_feed
    with Lifter.load(path, cpu_graph=False) as lifter:
        return recorded_feed(lifter, walking_keypoints(lifter.frames))


def _run(model, feed):
    import onnxruntime as ort
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feed)


def test_recorded_as_the_cpu_format(htp):
    _, _, out, _ = htp
    meta = read_metadata(out)
    assert meta.precision == "int8-dynamic"  # TensorRT builds refuse it like int8-dynamic
    assert meta.recipe["cpu_graph"] is True and meta.recipe["quantize_attention"] is True
    assert meta.recipe["target"] == "onnxruntime-cpu" and meta.recipe["reduce_range"] is True
    assert meta.recipe["biased_attention"] == "mha" and meta.recipe["multi_head_attention"] == 3


def test_the_lifter_runs_it_close_to_fp32(htp):
    src, _, out, _ = htp
    kp = walking_keypoints(27)
    with Lifter.load(src, cpu_graph=False) as fp32, Lifter.load(out) as int8:
        ref, got = fp32.lift(kp, 1000, 1000), int8.lift(kp, 1000, 1000)
    err_mm = float(np.linalg.norm(got - ref, axis=-1).mean()) * 1000
    assert np.isfinite(got).all() and 0 < err_mm < 10  # 5.6 mm from FP32 on this clip (int8-dynamic: 6.3)


def test_a_quantised_biased_attention_is_caught():
    node = helper.make_node("QAttention", ["x"], ["y"], name="/blk/attn/fused_attention_quant", domain="com.microsoft")
    model = helper.make_model(helper.make_graph([node], "g", [], []))
    with pytest.raises(HtpEdgeError, match="logit bias was quantised"):
        _require_biases_kept(model, ["/blk/attn/fused_attention"])
