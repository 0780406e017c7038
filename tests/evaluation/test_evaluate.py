"""`htp-edge eval` on the real-motion test split: the contract, determinism, errors, and the
accuracy gates of the bundled checkpoints (run torch-free through their shipped ONNX)."""
from __future__ import annotations

import json

import pytest

from htp_edge.cli.main import main
from htp_edge.evaluation.evaluate import EvalConfig, evaluate_source, mean_pose_baseline
from htp_edge.model.checkpoint import BUNDLED_DIR


def _run(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def reports():
    """Test-split reports (K=1, H=1, flip, ONNX Runtime) of both bundled models and the baseline."""
    out = {name: evaluate_source(str(BUNDLED_DIR / f"{name}_c1_h1_flip.onnx"), EvalConfig(backend="onnxruntime"))
           for name in ("d3dp-small", "htp-small")}
    out["mean-pose"] = mean_pose_baseline(EvalConfig())
    return out


def test_report_covers_the_whole_test_split(reports):
    r = reports["htp-small"]
    assert r["sequences"] == 20 and r["frames"] == 3368  # 5 held-out clips x 4 cameras
    assert set(r["per_source"]) == {"climb", "deepmimic"}
    assert sum(row["frames"] for row in r["per_sequence"]) == r["frames"]
    assert r["clips"] >= r["frames"] // 27
    assert r["config"]["aggregation_used"] == "mean" and r["config"]["frames"] == 27


def test_eval_cli_json_contract_and_determinism(capsys):
    argv = ["eval", "--checkpoint", "htp-small", "--backend", "onnxruntime", "--max-sequences", "2", "--json"]
    code, out, err = _run(capsys, argv)
    assert code == 0, err
    first = json.loads(out)
    assert set(first) >= {"mpjpe_mm", "p_mpjpe_mm", "frames", "clips"}
    assert first["frames"] == 2 * 576 and "per_sequence" not in first
    code, out, _ = _run(capsys, argv + ["--per-sequence"])
    again = json.loads(out)
    assert again["mpjpe_mm"] == first["mpjpe_mm"] and len(again["per_sequence"]) == 2


@pytest.mark.parametrize("argv, match", [
    (["--checkpoint", "no-such-model"], "no-such-model"),
    (["--checkpoint", "htp-small", "--split", "validation"], "unknown split"),
    (["--onnx", "missing.onnx"], "not found"),
])
def test_eval_bad_input_is_one_clear_error(capsys, tmp_path, argv, match):
    code, out, err = _run(capsys, ["eval", *argv, "--json"])
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and match in err and "Traceback" not in err
