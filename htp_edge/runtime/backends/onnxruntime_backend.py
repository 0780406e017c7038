"""ONNX Runtime backend: the embedded default on the CPU; CUDA/TensorRT providers when present."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import numpy as np

from htp_edge.artifacts.onnx_meta import import_onnxruntime, ort_specs
from htp_edge.artifacts.specs import TensorSpec
from htp_edge.errors import HtpEdgeError
from htp_edge.runtime.backends.base import Runner


class OnnxRuntimeRunner(Runner):
    """Runs an ONNX file (or serialized model bytes) with onnxruntime.InferenceSession."""

    backend = "onnxruntime"

    def __init__(self, artifact, providers: Sequence[str] | None = None, threads: int = 0) -> None:
        super().__init__()
        self.artifact = artifact
        self.providers = providers
        self.threads = threads
        self.session = None
        self._specs: tuple[list[TensorSpec], list[TensorSpec]] | None = None

    def activate(self) -> None:
        ort = import_onnxruntime()
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        if self.threads:
            opts.intra_op_num_threads = self.threads
        providers = list(self.providers or default_providers(ort))
        src = str(self.artifact) if isinstance(self.artifact, (str, Path)) else self.artifact
        try:
            self.session = ort.InferenceSession(src, sess_options=opts, providers=providers)
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises several private types
            name = self.artifact if isinstance(self.artifact, (str, Path)) else "model bytes"
            raise HtpEdgeError(f"onnx: cannot load {name} with ONNX Runtime ({str(exc).splitlines()[0][:200]}). "
                               f"Expected a valid .onnx file exported by `htp-edge export`.") from None
        self._specs = ort_specs(self.session.get_inputs()), ort_specs(self.session.get_outputs())  # read once
        super().activate()

    def deactivate(self) -> None:
        self.session, self._specs = None, None
        super().deactivate()

    def input_specs(self) -> list[TensorSpec]:
        return self._require_specs()[0]

    def output_specs(self) -> list[TensorSpec]:
        return self._require_specs()[1]

    def _require_specs(self):
        if self._specs is None:
            raise HtpEdgeError("onnxruntime backend: runner is not active. Expected activate() (or `with runner:`) "
                               "before use, got an inactive runner.")
        return self._specs

    def _infer(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        t0 = time.perf_counter()
        names = [o.name for o in self._specs[1]]
        outs = self.session.run(names, feed)
        self.last_timings = {"compute": (time.perf_counter() - t0) * 1e3}
        return dict(zip(names, outs))


def default_providers(ort) -> list[str]:
    """TensorRT, then CUDA, then CPU, as far as the installed onnxruntime offers them."""
    avail = ort.get_available_providers()
    order = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    return [p for p in order if p in avail] or ["CPUExecutionProvider"]
