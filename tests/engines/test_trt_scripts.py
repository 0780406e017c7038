"""scripts/build_engines.py and scripts/validate_on_device.py (fake TensorRT on the 'device')."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from htp_edge.engines import BuildConfig, build_engine
from tests.engines.helpers import ORIN, tiny_forward, write_tiny_onnx

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"htp_edge_script_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def validate():
    return _script("validate_on_device")


@pytest.fixture(scope="module")
def build_engines():
    return _script("build_engines")


def test_build_engines_builds_a_folder_with_planners(fake_trt, cudart, tmp_path, build_engines, capsys):
    src = tmp_path / "onnx"
    src.mkdir()
    write_tiny_onnx(src / "htp.onnx", {"htp_edge.precision": "int8-qdq"})
    write_tiny_onnx(src / "htp.planner.onnx")
    write_tiny_onnx(src / "d3dp.onnx", {"htp_edge.precision": "fp16"})
    out = tmp_path / "engines"
    assert build_engines.main(["--onnx-dir", str(src), "--profile", "orin-agx", "--out-dir", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["failed"] == 0
    assert sorted(p.name for p in out.glob("*.engine")) == [
        "d3dp_fp16_sm87.engine", "htp_int8_sm87.engine", "htp_int8_sm87.planner.engine"]


def test_build_engines_reports_each_failure(fake_trt, cudart, tmp_path, build_engines, capsys):
    fake_trt._state.build_returns_none = True
    onnx = write_tiny_onnx(tmp_path / "a.onnx")
    assert build_engines.main([str(onnx), "--out-dir", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"build_engines: {onnx}: build: TensorRT")
    assert build_engines.main(["--out-dir", str(tmp_path)]) == 2


def test_save_reference_on_the_workstation(tmp_path, validate, capsys):
    onnx = write_tiny_onnx(tmp_path / "tiny.onnx", {"htp_edge.precision": "fp16"})
    ref = tmp_path / "ref.npz"
    assert validate.main(["--save-reference", str(ref), "--onnx", str(onnx), "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["precision"] == "fp16" and meta["outputs"] == {"poses_3d": [1, 9, 17, 3]}
    with np.load(ref) as data:
        np.testing.assert_allclose(data["output/poses_3d"], tiny_forward(data["input/keypoints_2d"]), atol=1e-6)


@pytest.fixture
def device_setup(fake_trt, cudart, tmp_path, validate):
    onnx = write_tiny_onnx(tmp_path / "tiny.onnx", {"htp_edge.precision": "fp16"})
    ref = tmp_path / "ref.npz"
    assert validate.main(["--save-reference", str(ref), "--onnx", str(onnx)]) == 0
    engine = build_engine(onnx, tmp_path / "tiny.engine", BuildConfig(), device=ORIN).engine
    return fake_trt, engine, ref


@pytest.mark.parametrize("error_m, precision, status", [(0.0, None, 0), (0.01, None, 0), (0.01, "fp32", 1)])
def test_validate_on_device(device_setup, validate, capsys, error_m, precision, status):
    trt, engine, ref = device_setup
    trt._state.compute = lambda inp: {"poses_3d": tiny_forward(inp["keypoints_2d"]) + np.float32(error_m)}
    argv = ["--engine", str(engine), "--reference", str(ref), "--iters", "5", "--warmup", "1", "--json"]
    argv += ["--precision", precision] if precision else []
    assert validate.main(argv) == status
    result = json.loads(capsys.readouterr().out)
    row = result["comparison"]["outputs"]["poses_3d"]
    assert result["comparison"]["precision"] == (precision or "fp16")  # from the manifest
    assert row["max_abs_diff"] == pytest.approx(error_m, abs=1e-6)
    assert row["mpjpe_delta_mm"] == pytest.approx(np.sqrt(3) * error_m * 1000, rel=1e-3)
    assert result["inspector"]["attention_fused"] is True
    assert set(result["timing"]["stages"]) == {"h2d", "compute", "d2h"} and result["timing"]["total"]["n"] == 5
    assert "latency: p50" in validate.format_text(result)


def test_validate_errors_are_one_line(tmp_path, validate, capsys):
    assert validate.main(["--engine", str(tmp_path / "x.engine"), "--reference", str(tmp_path / "nope.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "reference not found" in err[0]
    assert validate.main(["--save-reference", str(tmp_path / "r.npz")]) == 2
