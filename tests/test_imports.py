"""Importing the package, the model, export and the ONNX Runtime path never imports tensorrt."""
import subprocess
import sys

import pytest

MODULES = ["htp_edge", "htp_edge.model.denoiser", "htp_edge.diffusion.sampler", "htp_edge.cli.main"]


@pytest.mark.parametrize("module", MODULES)
def test_no_tensorrt_on_import(module):
    code = f"import sys, {module}; sys.exit('tensorrt' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_package_import_needs_no_torch():
    code = "import sys, htp_edge, htp_edge.diffusion.sampler, htp_edge.pose.geometry; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
