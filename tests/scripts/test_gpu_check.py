"""scripts/gpu_check.sh / gpu_check.py: the CUDA check of the torch backend, smoke-tested on the CPU
(--device cpu --dry-run runs every code path except the CUDA-only calls)."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("htp_edge_script_gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module while the script runs
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without a GPU")
def test_no_cuda_is_one_clear_line(gpu_check, capsys):
    assert gpu_check.main(["--model", "htp-small"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no CUDA device" in err and "--device cpu --dry-run" in err


def test_cpu_only_as_a_dry_run(gpu_check, capsys):
    assert gpu_check.main(["--device", "cpu", "--model", "htp-small"]) == 2
    assert "Expected --dry-run" in capsys.readouterr().err


def test_dry_run_through_the_shell_script_without_onnx(tmp_path):
    """The script a GPU machine runs, end to end on the CPU, with onnx and tensorrt unimportable."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'tests')!r})\nfrom blocked import Blocker\n"
        f"sys.meta_path.insert(0, Blocker({{'onnx', 'tensorrt'}}))\n")
    out = tmp_path / "out"
    env = {**os.environ, "OUT": str(out), "PYTHON": sys.executable, "PYTHONPATH": str(site)}
    argv = ["--device", "cpu", "--dry-run", "--model", "htp-small", "--iters", "1", "--warmup", "0"]
    run = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), *argv], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    report = json.loads((out / "gpu_check.json").read_text())
    assert report["dry_run"] and report["device"] == "cpu" and report["ok"] and report["iters"] == 1
    (m,) = report["models"]
    assert m["model"] == "htp-small" and m["batch"] == 2 and m["frames"] == 27
    assert list(m["rows"]) == ["lift", "fp32", "fp16-autocast", "fp32-graph", "fp16-graph"]
    assert m["rows"]["lift"]["total"]["p50_ms"] > 0 and "denoise" in m["rows"]["lift"]["stages"]
    for mode in ("fp32", "fp16-autocast", "fp32-graph", "fp16-graph"):
        row = m["rows"][mode]
        assert "error" not in row, row
        assert set(row["stages"]) == {"h2d", "compute", "d2h"} and row["gmacs_per_s"] > 0
        total = sum(s["p50_ms"] for s in row["stages"].values())
        assert row["total"]["p50_ms"] <= total * 1.5 + 1e-3
        par = row["parity"]
        assert par["gates"] == mode.startswith("fp32")
        if par["gates"]:  # the same FP32 module on the same CPU: identical
            assert par["ok"] and par["max_abs_diff_m"] <= 1e-6
        else:  # bfloat16 autocast: close, not equal
            assert 0 < par["max_abs_diff_m"] < 0.05
    text = (out / "gpu_check.txt").read_text()
    assert "[DRY RUN]" in text and text == run.stdout
    for mode in ("lift", "fp16-graph"):
        assert f"htp-small   {mode}" in text
