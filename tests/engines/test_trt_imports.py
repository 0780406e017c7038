"""Importing the package, the engines package and the TensorRT backend imports no GPU library."""
from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
import htp_edge, htp_edge.engines, htp_edge.engines.builder, htp_edge.runtime.engine_loader
import htp_edge.runtime.backends.tensorrt_backend, htp_edge.runtime.cuda_mem, htp_edge.cli.cmd_build
from htp_edge.runtime.backends import runner_class
runner_class("tensorrt")
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorrt", "cuda", "pycuda", "torch"))
print(",".join(bad))
"""


def test_imports_leave_tensorrt_and_cuda_out_of_sys_modules():
    result = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
