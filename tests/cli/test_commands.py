"""The CLI contract: JSON keys, exit codes, one clear error line and nothing half-written."""
import json
import sys

import numpy as np
import pytest

from htp_edge.bench.run import walking_keypoints
from htp_edge.cli.main import main


def _run(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_macs_json(capsys):
    code, out, _ = _run(capsys, ["macs", "--model", "d3dp", "--frames", "243", "--json"])
    r = json.loads(out)
    assert code == 0 and r["params"] == 34835459 and round(r["macs_per_pass"] / 1e9, 1) == 147.4
    assert set(r) >= {"model", "frames", "params", "macs_per_pass", "macs_per_frame"}
    code, out, _ = _run(capsys, ["macs", "--model", "htp", "--json"])
    assert json.loads(out)["ratio_vs_d3dp"] <= 0.43


def test_lift_writes_poses_and_a_plot(capsys, tmp_path, tiny_htp_onnx):
    src = tmp_path / "kp.npy"
    np.save(src, walking_keypoints(20))
    code, out, err = _run(capsys, ["lift", str(src), "--out", str(tmp_path / "p.npy"), "--checkpoint",
                                   str(tiny_htp_onnx[0]), "--plot", str(tmp_path / "p.png"), "--json"])
    assert code == 0, err
    r = json.loads(out)
    assert r["frames"] == 20 and np.load(tmp_path / "p.npy").shape == (20, 17, 3)
    assert (tmp_path / "p.png").stat().st_size > 1000


@pytest.mark.parametrize("content, match", [
    (lambda p: np.save(p, np.zeros((5, 12, 2))), "joint count"),
    (lambda p: np.save(p, np.full((5, 17, 2), np.nan)), "NaN"),
    (lambda p: p.write_bytes(b"not numpy"), "cannot read"),
    (lambda p: np.save(p, np.zeros((0, 17, 2))), "empty"),
])
def test_lift_bad_input_one_line_no_output(capsys, tmp_path, tiny_htp_onnx, content, match):
    src = tmp_path / "kp.npy"
    content(src)
    code, out, err = _run(capsys, ["lift", str(src), "--out", str(tmp_path / "p.npy"), "--checkpoint",
                                   str(tiny_htp_onnx[0])])
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and match in err and "Traceback" not in err
    assert not (tmp_path / "p.npy").exists()


def test_missing_files_and_bad_flags(capsys, tmp_path):
    code, _, err = _run(capsys, ["lift", str(tmp_path / "none.npy"), "--out", str(tmp_path / "o.npy")])
    assert code == 2 and "file not found" in err
    code, _, err = _run(capsys, ["bench", "--onnx", str(tmp_path / "none.onnx"), "--backend", "onnxruntime"])
    assert code == 2 and "not found" in err
    code, _, err = _run(capsys, ["export", "--model", "htp", "--out", str(tmp_path / "x.txt")])
    assert code == 2 and ".onnx" in err
    code, _, err = _run(capsys, ["train", "--model", "d3dp", "--frames", "27", "--init", "htp-small", "--epochs",
                                 "1", "--iters-per-epoch", "1", "--no-eval", "--out", str(tmp_path / "t.pt")])
    assert code == 2 and len(err.strip().splitlines()) == 1 and "cannot start d3dp" in err  # another backbone size
    assert "mis-shaped" in err and not (tmp_path / "t.pt").exists()
    assert list(tmp_path.iterdir()) == []


def test_bench_json_contract(capsys, tiny_htp_onnx, tmp_path):
    code, out, err = _run(capsys, ["bench", "--onnx", str(tiny_htp_onnx[0]), "--backend", "onnxruntime",
                                   "--iters", "3", "--warmup", "1", "--plot", str(tmp_path / "b.png"), "--json"])
    assert code == 0, err
    r = json.loads(out)
    assert set(r) >= {"backend", "config", "stages", "total", "frames_per_s"}
    assert set(r["stages"]["denoise"]) >= {"p50_ms", "p90_ms", "p99_ms", "mean_ms"}
    assert r["config"]["hypotheses"] == 2 and r["config"]["passes_per_iteration"] == 4
    assert (tmp_path / "b.png").is_file()


def test_build_without_tensorrt_is_a_clear_error(capsys, tiny_htp_onnx, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # import tensorrt -> ImportError
    code, out, err = _run(capsys, ["build", "--onnx", str(tiny_htp_onnx[0]), "--out", str(tmp_path / "x.engine")])
    assert code == 2 and out == "" and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and "tensorrt: not installed." in err
    assert not (tmp_path / "x.engine").exists()
