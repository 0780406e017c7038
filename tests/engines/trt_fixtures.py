"""Fixtures shared by the TensorRT-layer tests (imported by tests/engines/conftest.py and
tests/runtime/conftest.py): a fake tensorrt per API generation, a fake cudart, a
tiny ONNX."""
from __future__ import annotations

import sys

import pytest

from tests.engines import fake_cudart
from tests.engines.fake_tensorrt import make_fake_tensorrt
from tests.engines.helpers import write_tiny_onnx


@pytest.fixture(params=["10.3", "11.4"])
def flavour(request) -> str:
    return request.param


@pytest.fixture
def fake_trt(flavour, monkeypatch):
    """The fake ``tensorrt`` of ``flavour``, installed as ``sys.modules["tensorrt"]``."""
    trt = make_fake_tensorrt(flavour)
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    return trt


@pytest.fixture
def cudart(monkeypatch):
    """A fake cuda-python runtime (Orin, sm_87), importable as ``cuda.bindings.runtime``."""
    rt = fake_cudart.make_fake_cudart()
    fake_cudart.install(monkeypatch, rt)
    return rt


@pytest.fixture
def tiny_onnx(tmp_path):
    return write_tiny_onnx(tmp_path / "tiny.onnx", {"htp_edge.precision": "fp16",
                                                     "htp_edge.calibration_sha256": "ab" * 32})
