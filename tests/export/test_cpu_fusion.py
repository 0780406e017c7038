"""The CPU companion graph: attention fused, same outputs, record carried over, picked by the runtime."""
from __future__ import annotations

import shutil

import numpy as np
import onnx
import pytest

from htp_edge.artifacts.files import sha256_file
from htp_edge.artifacts.naming import planner_onnx
from htp_edge.artifacts.onnx_meta import read_graph_meta
from htp_edge.artifacts.resources import checkpoints_dir
from htp_edge.bench.gap import recorded_feed
from htp_edge.bench.run import walking_keypoints
from htp_edge.errors import HtpEdgeError
from htp_edge.export.compare import run_onnxruntime
from htp_edge.export.cpu_fusion import MS_DOMAIN, fuse_attention, write_cpu_graph
from htp_edge.runtime.lifter import Lifter
from htp_edge.runtime.sources import cpu_onnx


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    """Copies of the bundled d3dp-small (no planner) and htp-small (planner) graphs with companions."""
    folder = tmp_path_factory.mktemp("cpu")
    out = {}
    for name in ("d3dp-small_c1_h1_flip", "htp-small_c1_h1_flip"):
        src = checkpoints_dir() / f"{name}.onnx"
        dst = folder / src.name
        shutil.copyfile(src, dst)
        if planner_onnx(src).is_file():
            shutil.copyfile(planner_onnx(src), planner_onnx(dst))
        out[name] = (dst, write_cpu_graph(dst))
    return out


def _feed(path):
    with Lifter.load(path, cpu_graph=False) as lifter:
        return recorded_feed(lifter, walking_keypoints(lifter.frames))


def test_every_plain_attention_block_is_fused(graphs):
    path, report = graphs["d3dp-small_c1_h1_flip"]
    plain, fused = onnx.load(str(path)), onnx.load(report["onnx"])
    softmax = sum(n.op_type == "Softmax" for n in plain.graph.node)
    assert report["fused_attention"] == softmax > 0
    assert not any(n.op_type == "Softmax" for n in fused.graph.node)
    assert sum(n.op_type == "Attention" and n.domain == MS_DOMAIN for n in fused.graph.node) == softmax


def test_grouped_bias_blocks_are_fused_too(graphs):
    path, report = graphs["htp-small_c1_h1_flip"]
    fused = onnx.load(report["onnx"])
    attention = [n for n in fused.graph.node if n.op_type == "Attention"]
    assert len(attention) == report["fused_attention"]
    assert any(len(n.input) == 6 and n.input[5] for n in attention)  # attention_bias wired


@pytest.mark.parametrize("name", ["d3dp-small_c1_h1_flip", "htp-small_c1_h1_flip"])
def test_same_outputs_within_fp32_tolerance(graphs, name):
    path, report = graphs[name]
    feed = _feed(path)
    ref, got = run_onnxruntime(path, feed), run_onnxruntime(report["onnx"], feed)
    assert set(ref) == set(got)
    np.testing.assert_allclose(got["pose_3d"], ref["pose_3d"], atol=1e-4, rtol=1e-4)
    for key in set(ref) - {"pose_3d"}:
        np.testing.assert_array_equal(got[key], ref[key])


def test_record_is_carried_over_with_its_source(graphs):
    path, report = graphs["htp-small_c1_h1_flip"]
    plain, cpu = read_graph_meta(path), read_graph_meta(report["onnx"])
    assert cpu.replace(origin={}) == plain.replace(origin={})
    assert cpu.origin["cpu_graph"]["source_sha256"] == sha256_file(path)
    assert sha256_file(planner_onnx(report["onnx"])) == sha256_file(planner_onnx(path))


def test_runtime_prefers_the_companion_and_lifts_the_same(graphs):
    path, report = graphs["htp-small_c1_h1_flip"]
    kp = walking_keypoints(60)
    with Lifter.load(path) as auto, Lifter.load(path, cpu_graph=False) as plain:
        assert auto.graphs.source == report["onnx"] and plain.graphs.source == str(path)
        np.testing.assert_allclose(auto.lift(kp, 1000, 1000), plain.lift(kp, 1000, 1000), atol=1e-4)


def test_a_companion_of_another_graph_is_ignored(graphs, tmp_path):
    path, report = graphs["htp-small_c1_h1_flip"]
    other = tmp_path / "other.onnx"
    shutil.copyfile(path, other)
    shutil.copyfile(planner_onnx(path), planner_onnx(other))
    model = onnx.load(str(other))
    model.doc_string = "changed"  # another graph: another hash
    onnx.save(model, str(other))
    shutil.copyfile(report["onnx"], cpu_onnx(other))
    shutil.copyfile(planner_onnx(report["onnx"]), planner_onnx(cpu_onnx(other)))
    with Lifter.load(other) as lifter:
        assert lifter.graphs.source == str(other)


def test_a_different_scale_is_not_fused(graphs):
    path, _ = graphs["d3dp-small_c1_h1_flip"]
    model = onnx.load(str(path))
    for node in model.graph.node:
        if node.op_type == "Constant" and onnx.numpy_helper.to_array(node.attribute[0].t).size == 1:
            value = onnx.numpy_helper.to_array(node.attribute[0].t)
            if np.isclose(float(value), 32 ** -0.5):
                node.attribute[0].t.CopyFrom(onnx.numpy_helper.from_array(np.float32(0.2) + 0 * value))
    before = len(model.graph.node)
    assert fuse_attention(model) == 0 and len(model.graph.node) == before


def test_a_cpu_graph_is_refused_as_input(graphs, tmp_path):
    _, report = graphs["d3dp-small_c1_h1_flip"]
    with pytest.raises(HtpEdgeError, match="contrib ops"):
        write_cpu_graph(report["onnx"], tmp_path / "again.onnx")
    assert not (tmp_path / "again.onnx").exists()


def test_export_command_makes_the_companion(tmp_path):
    from htp_edge.cli.main import main
    src = tmp_path / "g.onnx"
    shutil.copyfile(checkpoints_dir() / "d3dp-small_c1_h1_flip.onnx", src)
    assert main(["export", "--onnx", str(src), "--target", "cpu", "--json"]) == 0
    assert cpu_onnx(src).is_file()
    assert main(["export", "--onnx", str(src)]) != 0  # --onnx alone: only the cpu target


def test_profile_counts_the_same_macs_in_the_fused_graph(graphs):
    from htp_edge.bench.profile import profile_graph, summarize_profile
    path, report = graphs["htp-small_c1_h1_flip"]
    feed = _feed(path)
    plain, fused = (summarize_profile(profile_graph(p, feed, runs=1, warmup=0))["macs"] for p in (path, report["onnx"]))
    assert fused == plain > 0


def test_a_graph_without_its_planner_is_refused(tmp_path):
    src = tmp_path / "alone.onnx"
    shutil.copyfile(checkpoints_dir() / "htp-small_c1_h1_flip.onnx", src)
    with pytest.raises(HtpEdgeError, match="planner"):
        write_cpu_graph(src)
    assert not cpu_onnx(src).exists()
