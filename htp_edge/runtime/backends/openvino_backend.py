"""OpenVINO backend: Intel's CPU runtime, reading the same .onnx graphs as ONNX Runtime.

Optional (the ``openvino`` extra): ``openvino`` is imported when a runner is activated, never
at module level. Inference is pinned to FP32 (``INFERENCE_PRECISION_HINT``): on CPUs with AMX
or AVX-512 BF16, OpenVINO would otherwise run in bf16 and the graphs' tolerances would not hold.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from htp_edge.artifacts.specs import TensorSpec
from htp_edge.errors import HtpEdgeError
from htp_edge.runtime.backends.base import Runner

DEVICES = ("CPU", "GPU", "NPU", "AUTO")


def import_openvino():
    try:
        import openvino
    except ImportError:
        raise HtpEdgeError("openvino backend: openvino is not installed. Expected the 'openvino' extra, got no "
                           "openvino. Install it with `pip install htp_edge[openvino]`, or pick another "
                           "--backend.") from None
    return openvino


def _spec(port) -> TensorSpec:
    """TensorSpec of an OpenVINO port (dynamic dimensions become ``None``)."""
    shape = port.get_partial_shape()
    dims = None if shape.rank.is_dynamic else tuple(d.get_length() if d.is_static else None for d in shape)
    return TensorSpec(port.get_any_name(), dims, np.dtype(port.get_element_type().to_dtype()))


class OpenVinoRunner(Runner):
    """Runs an ONNX file (or serialized model bytes) with ``openvino.Core().compile_model``."""

    backend = "openvino"

    def __init__(self, artifact, device: str = "CPU", threads: int = 0) -> None:
        super().__init__()
        if device not in DEVICES:
            raise HtpEdgeError(f"openvino backend: unknown device. Expected one of {', '.join(DEVICES)}, "
                               f"got {device!r}.")
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
            raise HtpEdgeError(f"openvino backend: threads must be an integer >= 0 (0: OpenVINO's default), "
                               f"got {threads!r}.")
        self.artifact, self.device, self.threads = artifact, device, threads
        self._request = None
        self._outputs: list = []

    def activate(self) -> None:
        ov = import_openvino()
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
        if self.threads:
            config["INFERENCE_NUM_THREADS"] = self.threads
        is_path = isinstance(self.artifact, (str, Path))
        try:
            core = ov.Core()
            model = core.read_model(str(self.artifact) if is_path else bytes(self.artifact))
            compiled = core.compile_model(model, self.device, config)
        except Exception as exc:  # noqa: BLE001 - openvino raises RuntimeError with multi-line text
            name = self.artifact if is_path else "model bytes"
            first = next((line for line in str(exc).splitlines() if line.strip() and "Exception from" not in line),
                         type(exc).__name__)
            raise HtpEdgeError(f"openvino: cannot load {name} with OpenVINO ({first.strip()[:200]}). "
                               f"Expected a valid .onnx file exported by `htp-edge export`.") from None
        self._outputs = list(compiled.outputs)
        self._specs = [_spec(p) for p in compiled.inputs], [_spec(p) for p in self._outputs]  # read once
        self._request = compiled.create_infer_request()
        super().activate()

    def deactivate(self) -> None:
        self._request, self._specs, self._outputs = None, None, []
        super().deactivate()

    def _infer(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        t0 = time.perf_counter()
        result = self._request.infer(feed)  # outputs are copied (share_outputs=False)
        out = {spec.name: np.asarray(result[port]) for spec, port in zip(self._specs[1], self._outputs)}
        self.last_timings = {"compute": (time.perf_counter() - t0) * 1e3}
        return out
