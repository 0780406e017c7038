"""`htp-edge build` (htp_edge.cli.cmd_build) without TensorRT and against the fakes."""
from __future__ import annotations

import argparse
import sys

import pytest

from htp_edge.cli import cmd_build
from htp_edge.errors import HtpEdgeError
from tests.engines.helpers import write_tiny_onnx


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cmd_build.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_build_without_tensorrt_is_one_clear_error(tiny_onnx, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(HtpEdgeError, match=r"^tensorrt: not installed\..*--backend onnxruntime"):
        cmd_build.run(_args("--onnx", str(tiny_onnx), "--out", str(tmp_path / "t.engine")))
    assert not (tmp_path / "t.engine").exists()


def test_build_reports_engine_manifest_and_planner(fake_trt, cudart, tmp_path):
    onnx = write_tiny_onnx(tmp_path / "htp.onnx", {"htp_edge.precision": "fp16"})
    write_tiny_onnx(tmp_path / "htp.planner.onnx")
    result = cmd_build.run(_args("--onnx", str(onnx), "--out", str(tmp_path) + "/", "--profile", "orin-agx",
                                 "--workspace", "256", "--opt-level", "4", "--timing-cache", "none"))
    assert result["engine"] == str(tmp_path / "htp_fp16_sm87.engine")
    assert result["manifest"] == str(tmp_path / "htp_fp16_sm87.engine.json")
    assert result["planner_engine"] == str(tmp_path / "htp_fp16_sm87.planner.engine")
    assert result["precision"] == "fp16" and result["compute_capability"] == "8.7"
    assert result["timing_cache"] is None and result["next"].startswith("htp-edge bench --engine")
    limits = [a for n, a in fake_trt._calls if n == "IBuilderConfig.set_memory_pool_limit"]
    assert limits[0][1] == 256 << 20
    assert ("IBuilderConfig.builder_optimization_level=", (4,)) in fake_trt._calls
    assert "engine" in cmd_build.format_text(result)


def test_fp16_flag_on_tensorrt_11_names_the_alternative(fake_trt, cudart, tiny_onnx, tmp_path):
    args = _args("--onnx", str(tiny_onnx), "--out", str(tmp_path / "t.engine"), "--fp16-flag")
    if fake_trt._flavour == "11.4":
        with pytest.raises(HtpEdgeError, match="htp-edge quantize --precision fp16"):
            cmd_build.run(args)
    else:
        assert cmd_build.run(args)["engine"].endswith("t.engine")
