"""`htp-edge quantize` end to end on the tiny exported HTP: real calibration data, metadata, runtime."""
import json

import numpy as np
import pytest

from htp_edge.artifacts.onnx_meta import read_graph_meta
from htp_edge.bench.run import walking_keypoints
from htp_edge.cli.main import main
from htp_edge.precision.metadata import read_metadata
from htp_edge.runtime.lifter import Lifter


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    path = tmp_path_factory.mktemp("recipe") / "r.json"
    path.write_text(json.dumps({"split": "train", "clips": 3, "steps": 2, "seed": 5}))
    return path


@pytest.mark.parametrize("precision", ["int8", "fp16", "int8-dynamic", "int8-cpu"])
def test_quantize_variants_run_in_the_lifter(capsys, tmp_path, tiny_htp_onnx, recipe, precision):
    src = tiny_htp_onnx[0]
    out = tmp_path / f"q_{precision}.onnx"
    argv = ["quantize", "--onnx", str(src), "--precision", precision, "--out", str(out), "--json",
            "--calibration-dir", str(tmp_path / "calib"), "--gate-sequences", "1"]
    if precision == "int8":
        argv += ["--calibration", str(recipe)]
    assert main(argv) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["precision"] == precision and r["onnx"] == str(out)
    assert read_graph_meta(out) == read_graph_meta(src)  # the runtime can drive it
    assert out.with_suffix(".planner.onnx").is_file()
    assert r["vs_fp32"]["feeds"] == 8 and 0.9 <= r["vs_fp32"]["agreement"]["kept_frames"] <= 1.0
    if precision.startswith("int8"):
        assert not [n for n in r["quantized_nodes"] if "/tra/" in n or "/head/" in n]  # recovery, output float
    if precision == "int8":
        assert len(r["calibration_sha256"]) == 64 and r["quantized_nodes"]
        assert not [n for n in r["quantized_nodes"] if "/mgptp/" in n]  # scoring path stays FP32
        assert [n for n in r["excluded_nodes"] if "/tra/" in n]  # the token recovery is in the graph, float
        assert [n for n in r["quantized_nodes"] if "/STEblocks.2/" in n]  # the pruned blocks are INT8
        assert read_metadata(out).calibration_sha256 == r["calibration_sha256"]
        saved = np.load(r["calibration"]["saved"])
        assert saved["noisy_pose"].shape[1:] == (4, 9, 17, 3)  # recorded x_t, batch of the graph
        assert len(np.unique(saved["timestep"][:, 0])) == 2  # every DDIM step is represented
    kp = walking_keypoints(9)
    ref = Lifter.load(src).lift(kp, 1000, 1000)
    got = Lifter.load(out).lift(kp, 1000, 1000)
    assert np.isfinite(got).all() and np.abs(got - ref).max() < 0.05


def test_quantize_refuses_foreign_onnx(capsys, tmp_path):
    bad = tmp_path / "x.onnx"
    bad.write_bytes(b"junk")
    assert main(["quantize", "--onnx", str(bad), "--precision", "fp16", "--out", str(tmp_path / "y.onnx")]) == 2
    assert "not a readable ONNX" in capsys.readouterr().err
    assert not (tmp_path / "y.onnx").exists()


def test_failed_gate_exits_3_and_writes_nothing(capsys, tmp_path, tiny_htp_onnx):
    src, out = tiny_htp_onnx[0], tmp_path / "q.onnx"
    argv = ["quantize", "--onnx", str(src), "--precision", "int8-dynamic", "--out", str(out),
            "--gate-sequences", "1", "--gate-mm", "-1000", "--json"]
    assert main(argv) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "gate failed" in err[0] and "--no-gate" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert main(argv + ["--no-gate"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["gate"]["ok"] is False and r["gate"]["enforced"] is False and out.is_file()
    assert out.with_suffix(".planner.onnx").is_file()


def test_quantize_refuses_to_overwrite_its_input(capsys, tmp_path, tiny_htp_onnx):
    import shutil
    src = tmp_path / "m.onnx"
    shutil.copyfile(tiny_htp_onnx[0], src)
    shutil.copyfile(tiny_htp_onnx[0].with_suffix(".planner.onnx"), src.with_suffix(".planner.onnx"))
    before = src.read_bytes()
    assert main(["quantize", "--onnx", str(src), "--precision", "fp16", "--out", str(src)]) == 2
    assert "is also an input" in capsys.readouterr().err
    assert src.read_bytes() == before
    assert main(["quantize", "--onnx", str(src), "--precision", "fp16", "--out", str(tmp_path)]) == 2
    assert "must be an .onnx file" in capsys.readouterr().err
    (tmp_path / "d.onnx").mkdir()
    assert main(["quantize", "--onnx", str(src), "--precision", "fp16", "--out", str(tmp_path / "d.onnx")]) == 2
    assert "is a directory" in capsys.readouterr().err
