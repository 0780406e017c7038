"""ONNX Runtime backend: the embedded default on the CPU; CUDA/TensorRT providers when present."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from htp_edge.errors import HtpEdgeError
from htp_edge.runtime.backends.base import Runner, TensorSpec

_ORT_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(int64)": np.int64,
               "tensor(int32)": np.int32, "tensor(double)": np.float64, "tensor(bool)": np.bool_}


def _import_ort():
    try:
        import onnxruntime
    except ImportError:
        raise HtpEdgeError("onnxruntime: not installed. Install it with `pip install htp_edge[ort]` "
                           "(onnxruntime-gpu for CUDA), or pick another --backend.") from None
    return onnxruntime


class OnnxRuntimeRunner(Runner):
    """Runs an ONNX file (or serialized model bytes) with onnxruntime.InferenceSession."""

    backend = "onnxruntime"

    def __init__(self, artifact, providers: Sequence[str] | None = None, threads: int = 0) -> None:
        super().__init__()
        self.artifact = artifact
        self.providers = providers
        self.threads = threads
        self.session = None

    def activate(self) -> None:
        ort = _import_ort()
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
        super().activate()

    def deactivate(self) -> None:
        self.session = None
        super().deactivate()

    def input_specs(self) -> list[TensorSpec]:
        return [TensorSpec(i.name, tuple(i.shape), np.dtype(_ORT_DTYPES.get(i.type, np.float32)))
                for i in self.session.get_inputs()]

    def output_specs(self) -> list[TensorSpec]:
        return [TensorSpec(o.name, tuple(o.shape), np.dtype(_ORT_DTYPES.get(o.type, np.float32)))
                for o in self.session.get_outputs()]

    def infer(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        t0 = time.perf_counter()
        names = [o.name for o in self.session.get_outputs()]
        outs = self.session.run(names, dict(feed))
        self.last_timings = {"compute": (time.perf_counter() - t0) * 1e3}
        return dict(zip(names, outs))


def default_providers(ort) -> list[str]:
    """TensorRT, then CUDA, then CPU, as far as the installed onnxruntime offers them."""
    avail = ort.get_available_providers()
    order = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    return [p for p in order if p in avail] or ["CPUExecutionProvider"]
