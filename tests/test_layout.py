"""The two halves of the package and their arrows (see README, "Architecture").

The runtime half (artifacts, pose, diffusion, runtime, bench) never imports the workstation
half (model, data, train, evaluation, export, precision, engines), onnx or tensorrt outside
their one home; no library code reads the repository root or the current directory for its own
data; and the runtime commands run with torch, onnx and tensorrt unimportable.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "htp_edge"
BLOCKED = str(Path(__file__).with_name("blocked.py"))
RUNTIME_HALF = ("artifacts", "pose", "diffusion", "runtime", "bench", "io", "ros")
WORKSTATION_HALF = ("model", "data", "train", "evaluation", "export", "precision", "engines", "plan")
# third-party packages and the only runtime modules that may import them (inside functions)
HOMES = {"torch": {"runtime/backends/torch_backend.py", "runtime/sources.py"}, "mcap": {"io/mcap_out.py"},
         "mcap_ros2": {"io/mcap_out.py"}, "rclpy": {"ros/node.py"},
         "tensorrt": {"runtime/trt_api.py"}, "cuda": {"runtime/cuda_mem.py"}, "pycuda": {"runtime/cuda_mem.py"},
         "onnx": set()}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def _runtime_files():
    for sub in RUNTIME_HALF:
        yield from sorted((PACKAGE / sub).rglob("*.py"))


@pytest.mark.parametrize("path", list(_runtime_files()), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_runtime_half_imports_no_workstation_code(path):
    rel = str(path.relative_to(PACKAGE))
    for name in _imports(path):
        parts = name.split(".")
        if parts[0] == "htp_edge" and len(parts) > 1:
            assert parts[1] not in WORKSTATION_HALF, f"{rel} imports {name}"
        if parts[0] in HOMES:
            assert rel in HOMES[parts[0]], f"{rel} imports {parts[0]}"


def test_no_library_code_reads_the_repository_or_the_cwd():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        for needle in ("parents[", "Path.cwd(", "os.getcwd("):
            if needle in text:
                offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert offenders == []


def test_package_data_is_declared_for_the_wheel():
    import tomllib
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["htp_edge"]
    for needed in ("checkpoints/htp-small_c1_h1_flip.onnx", "checkpoints/htp-small_c1_h1_flip.planner.onnx",
                   "checkpoints/d3dp-small_c1_h1_flip.onnx", "engines/profiles/orin-agx.json",
                   "precision/recipes/default.json", "export/trt10_onnx_ops.txt", "export/variants.json"):
        assert (PACKAGE / needed).is_file(), needed
        assert any(Path(needed).match(g) for g in globs), f"{needed} matches no package-data glob"


def _blocked(args: list[str], tmp_path, *, code: str | None = None) -> subprocess.CompletedProcess:
    """Run the CLI (or code) from ``tmp_path`` with torch, onnx and tensorrt unimportable."""
    body = code if code is not None else (
        f"import sys; sys.argv = ['htp-edge', *{args!r}]\nfrom htp_edge.cli.main import entry\nentry()\n")
    return subprocess.run([sys.executable, BLOCKED, "torch,onnx,tensorrt", "--", body], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)


def test_embedded_runtime_without_torch_or_onnx(tmp_path):
    code = ("import numpy as np\n"
            "from htp_edge import Lifter, StreamingLifter\n"
            "from htp_edge.bench.run import walking_keypoints\n"
            "for name in ('htp-small', 'd3dp-small'):\n"
            "    lifter = Lifter.load(name, backend='onnxruntime')\n"
            "    out = lifter.lift(walking_keypoints(40), width=1000, height=1000)\n"
            "    assert out.shape == (40, 17, 3) and np.isfinite(out).all() and not out[:, 0].any()\n"
            "    assert lifter.last_timings['total'] > 0\n"
            "    s = StreamingLifter(lifter, width=1000, height=1000)\n"
            "    poses = [s.push(f) for f in walking_keypoints(30)]\n"
            "    assert poses[0] is None and poses[-1].shape == (17, 3)\n")
    run = _blocked([], tmp_path, code=code)
    assert run.returncode == 0, run.stderr


def test_lift_bench_info_without_torch_or_onnx(tmp_path):
    from htp_edge.bench.run import walking_keypoints
    np.save(tmp_path / "kp.npy", walking_keypoints(50))
    run = _blocked(["lift", "kp.npy", "--out", "o.npy", "--width", "1000", "--height", "1000", "--json"], tmp_path)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["frames"] == 50 and np.load(tmp_path / "o.npy").shape == (50, 17, 3)
    run = _blocked(["bench", "--model", "htp-small", "--backend", "onnxruntime", "--iters", "2", "--warmup", "1",
                    "--json"], tmp_path)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["total"]["p50_ms"] > 0 and report["macs_per_pass"] > 0
    run = _blocked(["info", "--json"], tmp_path)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["tensorrt"] is None


def test_build_finds_its_profiles_and_fails_only_for_tensorrt(tmp_path):
    from htp_edge.artifacts.naming import GraphLayout, bundled_onnx
    run = _blocked(["build", "--onnx", str(bundled_onnx("d3dp-small", GraphLayout())), "--out",
                    str(tmp_path / "x.engine"), "--profile", "orin-agx"], tmp_path)
    assert run.returncode != 0
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "TensorRT" in lines[0] and "profile" not in lines[0].lower(), run.stderr
    assert not list(tmp_path.iterdir())
