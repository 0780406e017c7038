"""`htp-edge info`: the contract keys, and that neither torch nor tensorrt gets imported."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from htp_edge.bench.platform import tensorrt_version
from htp_edge.cli import main as cli_main

REPO = Path(__file__).resolve().parents[2]
CONTRACT_KEYS = {"python", "torch", "onnxruntime", "tensorrt", "cuda_device", "jetson"}


@pytest.fixture
def info_only(monkeypatch):
    """Build the parser with the `info` sub-command alone, so that this test depends on no other
    sub-command module (each of those is tested on its own)."""
    monkeypatch.setattr(cli_main, "COMMANDS", ("info",))


def test_info_json_has_contract_keys(info_only, capsys):
    assert cli_main.main(["info", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert CONTRACT_KEYS <= set(result)
    assert {"onnx", "numpy", "machine", "cuda_python", "pycuda", "onnxruntime_providers"} <= set(result)
    assert result["python"] == ".".join(map(str, sys.version_info[:3]))
    assert result["onnxruntime"] is None or "CPUExecutionProvider" in result["onnxruntime_providers"]
    # TensorRT cannot be installed on the development machines and CI (design/tensorrt.md):
    # there the key must be null; on a device it is the installed version.
    assert result["tensorrt"] == tensorrt_version()
    if importlib.util.find_spec("tensorrt") is None:
        assert result["tensorrt"] is None


def test_info_through_the_full_cli(capsys):
    missing = [n for n in cli_main.COMMANDS
               if importlib.util.find_spec(f"htp_edge.cli.cmd_{n}") is None]
    if missing:
        pytest.skip(f"sub-command modules not present yet: {missing}")
    assert cli_main.main(["info", "--json"]) == 0
    assert CONTRACT_KEYS <= set(json.loads(capsys.readouterr().out))


def test_info_text(info_only, capsys):
    assert cli_main.main(["info"]) == 0
    out = capsys.readouterr().out
    for label in ("python", "torch", "onnxruntime", "tensorrt", "cuda device", "jetson"):
        assert f"{label}:" in out


def test_info_imports_neither_torch_nor_tensorrt():
    script = textwrap.dedent("""\
        import json, sys
        from htp_edge.cli import main as cli_main
        cli_main.COMMANDS = ("info",)
        status = cli_main.main(["info", "--json"])
        heavy = sorted(m for m in ("torch", "tensorrt") if m in sys.modules)
        print(json.dumps({"status": status, "heavy": heavy}), file=sys.stderr)
    """)
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env=env, cwd=REPO)
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert report == {"status": 0, "heavy": []}
    assert "tensorrt" in json.loads(proc.stdout)
