"""Fixtures of the TensorRT-layer tests (defined in :mod:`tests.engines.trt_fixtures`)."""
from tests.engines.trt_fixtures import cudart, fake_trt, flavour, tiny_onnx  # noqa: F401
