"""simplify_onnx with onnxsim and with the onnxslim fallback, verified on ONNX Runtime."""
from __future__ import annotations

import sys

import numpy as np
import onnx
import pytest

from htp_edge.errors import HtpEdgeError
from htp_edge.export import simplify as simplify_module
from htp_edge.export.check import check_onnx
from htp_edge.export.simplify import available_tool, simplify_onnx
from tests.fixtures.tiny_onnx import tiny_lifter_feed, tiny_lifter_int_sampler, tiny_lifter_onnx


@pytest.fixture(scope="module")
def lifter_onnx(tmp_path_factory):
    return tiny_lifter_onnx(tmp_path_factory.mktemp("simplify") / "lifter.onnx")


def _node_names(path) -> set[str]:
    return {n.name for n in onnx.load(str(path)).graph.node}


@pytest.mark.parametrize("tool", ["onnxsim", "onnxslim"])
def test_simplifies_verifies_and_keeps_names(lifter_onnx, tmp_path, tool):
    if tool == "onnxsim":
        pytest.importorskip("onnxsim")
    out = tmp_path / f"{tool}.onnx"
    report = simplify_onnx(lifter_onnx, out, check_n=2, tool=tool,
                           int_sampler=tiny_lifter_int_sampler)
    assert report.tool == tool and report.out_path == str(out) and out.is_file()
    assert report.nodes_after < report.nodes_before
    assert report.opset == 17 and report.checks == 2
    assert set(report.max_abs_diff_per_output) == {"pose_3d", "keep_frames"}
    assert report.max_abs_diff <= 1e-5
    # Module-path names survive (the precision recipes select the scoring path by name).
    assert {"/mgptp/TopK", "/mgptp/score/MatMul", "/block0/fc1/MatMul"} <= _node_names(out)


def test_simplified_graph_passes_the_check_the_export_fails(lifter_onnx, tmp_path):
    assert any("without a static shape" in p for p in check_onnx(lifter_onnx).problems)
    out = tmp_path / "simple.onnx"
    simplify_onnx(lifter_onnx, out, tool="onnxslim", int_sampler=tiny_lifter_int_sampler)
    assert check_onnx(out).ok


def test_caller_feeds_replace_random_ones(lifter_onnx, tmp_path):
    feeds = [tiny_lifter_feed(1), tiny_lifter_feed(2), tiny_lifter_feed(3)]
    report = simplify_onnx(lifter_onnx, tmp_path / "s.onnx", tool="onnxslim", feeds=feeds)
    assert report.checks == 3


def test_integer_inputs_need_a_sampler_or_feed(lifter_onnx, tmp_path):
    out = tmp_path / "s.onnx"
    with pytest.raises(HtpEdgeError, match="input 't' is int64"):
        simplify_onnx(lifter_onnx, out, tool="onnxslim")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_auto_falls_back_to_onnxslim(lifter_onnx, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxsim", None)  # import onnxsim -> ImportError
    assert available_tool() == "onnxslim"
    report = simplify_onnx(lifter_onnx, tmp_path / "s.onnx", int_sampler=tiny_lifter_int_sampler)
    assert report.tool == "onnxslim"
    with pytest.raises(HtpEdgeError, match="onnxsim is not installed.*tool='onnxslim'"):
        simplify_onnx(lifter_onnx, tmp_path / "t.onnx", tool="onnxsim")


def test_unknown_tool(lifter_onnx, tmp_path):
    with pytest.raises(HtpEdgeError, match="unknown tool"):
        simplify_onnx(lifter_onnx, tmp_path / "s.onnx", tool="polygraphy")


def test_a_wrong_result_leaves_the_output_untouched(lifter_onnx, tmp_path, monkeypatch):
    real_run_tool = simplify_module._run_tool

    def corrupting_tool(tool, model, fuse_gemm):
        simplified = real_run_tool(tool, model, fuse_gemm)
        head = next(i for i in simplified.graph.initializer if i.name == "head.bias")
        head.CopyFrom(onnx.numpy_helper.from_array(
            onnx.numpy_helper.to_array(head) + np.float32(0.1), head.name))
        return simplified

    monkeypatch.setattr(simplify_module, "_run_tool", corrupting_tool)
    out = tmp_path / "s.onnx"
    out.write_bytes(b"previous")
    with pytest.raises(HtpEdgeError, match="differs from the original.*pose_3d"):
        simplify_onnx(lifter_onnx, out, tool="onnxslim", int_sampler=tiny_lifter_int_sampler)
    assert out.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["s.onnx"]
