"""Fixtures of the runtime tests: the TensorRT-layer fixtures (fake tensorrt per API generation,
fake cudart, tiny ONNX) of :mod:`tests.engines.trt_fixtures`, shared with tests/engines."""
from tests.engines.trt_fixtures import cudart, fake_trt, flavour, tiny_onnx  # noqa: F401
