"""Shared types of the runtime and build sides: tensor specs and the CUDA device."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TensorSpec:
    """Name, shape and numpy dtype of one graph input or output.

    A dimension that is not fixed (a dynamic axis, or an eager torch module) is ``None``;
    ``shape`` itself is ``None`` when even the rank is unknown.
    """

    name: str
    shape: tuple | None
    dtype: np.dtype

    def accepts(self, value: np.ndarray) -> str | None:
        """``None`` if ``value`` fits this spec, else ``"Expected shape S dtype D, got ..."``."""
        fits = value.dtype == self.dtype
        if self.shape is not None:
            fits = fits and len(value.shape) == len(self.shape) and all(
                want is None or int(want) == got for want, got in zip(self.shape, value.shape))
        if fits:
            return None
        return (f"Expected shape {self.shape_text} dtype {self.dtype}, got shape {tuple(value.shape)} "
                f"dtype {value.dtype}")

    @property
    def shape_text(self) -> str:
        if self.shape is None:
            return "any"
        return "(" + ", ".join("?" if d is None else str(d) for d in self.shape) + ")"


@dataclass(frozen=True)
class DeviceInfo:
    """The CUDA device a runner or build uses."""

    name: str
    compute_capability: tuple[int, int]
    cuda_runtime: str | None = None
    cuda_driver: str | None = None
    integrated: bool | None = None
    total_memory: int | None = None
    index: int = 0
    binding: str = ""

    @property
    def cc(self) -> str:
        """Compute capability as ``"major.minor"`` (Orin: ``"8.7"``)."""
        return f"{self.compute_capability[0]}.{self.compute_capability[1]}"

    def to_json(self) -> dict:
        return {"name": self.name, "compute_capability": self.cc,
                "cuda_runtime": self.cuda_runtime, "cuda_driver": self.cuda_driver,
                "integrated": self.integrated, "total_memory": self.total_memory,
                "index": self.index, "binding": self.binding}
