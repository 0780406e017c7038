"""PyTorch reference backend: runs the exported graphs' torch modules in eager mode."""
from __future__ import annotations

import time
from typing import Mapping

import numpy as np

from htp_edge.runtime.backends.base import Runner, TensorSpec


class TorchRunner(Runner):
    """Wraps a torch module whose positional inputs follow ``input_names``.

    ``artifact`` is the module (e.g. :class:`htp_edge.export.graphs.DenoiserGraph`); shapes
    are not fixed, so specs list names only.
    """

    backend = "torch"

    def __init__(self, artifact, input_names=("keypoints_2d", "noisy_pose", "timestep"),
                 output_names=("pose_3d", "kept_frames"), device: str = "cpu", threads: int = 0) -> None:
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
        return [TensorSpec(n, (), np.dtype(np.int64 if n == "keep_frames" else np.float32)) for n in self.input_names]

    def output_specs(self) -> list[TensorSpec]:
        return [TensorSpec(n, (), np.dtype(np.float32)) for n in self.output_names]

    def infer(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch
        t0 = time.perf_counter()
        args = [torch.from_numpy(np.asarray(feed[n])).to(self.device) for n in self.input_names if n in feed]
        with torch.inference_mode():
            out = self.module(*args)
        out = out if isinstance(out, tuple) else (out,)
        result = {n: o.cpu().numpy() for n, o in zip(self.output_names, out)}
        self.last_timings = {"compute": (time.perf_counter() - t0) * 1e3}
        return result
