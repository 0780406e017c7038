"""PyTorch reference backend: runs the exported graphs' torch modules in eager mode."""
from __future__ import annotations

import time

import numpy as np

from htp_edge.artifacts import names
from htp_edge.artifacts.specs import TensorSpec
from htp_edge.runtime.backends.base import Runner


def _dtype(name: str) -> np.dtype:
    return np.dtype(np.int64 if name in names.INDEX_TENSORS else np.float32)


class TorchRunner(Runner):
    """Wraps a torch module whose positional inputs follow ``input_names``.

    ``artifact`` is the module (e.g. :class:`htp_edge.export.graphs.DenoiserGraph`); eager
    modules take any batch, so specs fix names and dtypes, not shapes.
    """

    backend = "torch"

    def __init__(self, artifact, input_names=names.DENOISER_INPUTS, output_names=(names.POSE_3D, names.KEPT_FRAMES),
                 device: str = "cpu", threads: int = 0) -> None:
        super().__init__()
        self.module = artifact
        self.input_names, self.output_names = tuple(input_names), tuple(output_names)
        self.device, self.threads = device, threads

    def activate(self) -> None:
        import torch
        if self.threads:
            torch.set_num_threads(self.threads)
        self.module = self.module.to(self.device).eval()
        super().activate()

    def input_specs(self) -> list[TensorSpec]:
        return [TensorSpec(n, None, _dtype(n)) for n in self.input_names]

    def output_specs(self) -> list[TensorSpec]:
        return [TensorSpec(n, None, _dtype(n)) for n in self.output_names]

    def _infer(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch
        t0 = time.perf_counter()
        args = [torch.from_numpy(np.ascontiguousarray(feed[n])).to(self.device) for n in self.input_names]
        with torch.inference_mode():
            out = self.module(*args)
        out = out if isinstance(out, tuple) else (out,)
        result = {n: o.cpu().numpy() for n, o in zip(self.output_names, out)}
        self.last_timings = {"compute": (time.perf_counter() - t0) * 1e3}
        return result
