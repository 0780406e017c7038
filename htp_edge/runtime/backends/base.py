"""The one interface every inference backend implements (torch, ONNX Runtime, TensorRT).

A runner is created cheaply, does its heavy work in :meth:`Runner.activate`, and then maps a
feed ``{input name: numpy array}`` to ``{output name: numpy array}`` with :meth:`Runner.infer`.
``last_timings`` holds the per-stage milliseconds of the last ``infer`` call (e.g. ``h2d``,
``compute``, ``d2h`` on a GPU; just ``compute`` on the CPU).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np


@dataclass(frozen=True)
class TensorSpec:
    """Name, static shape and numpy dtype of one graph input or output."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype


class Runner:
    """Base class of backend runners; usable as a context manager."""

    backend: str = "base"

    def __init__(self) -> None:
        self.is_active = False
        self.last_timings: dict[str, float] = {}

    # -- lifecycle ---------------------------------------------------------------------------
    def activate(self) -> None:
        self.is_active = True

    def deactivate(self) -> None:
        self.is_active = False

    def __enter__(self) -> "Runner":
        if not self.is_active:
            self.activate()
        return self

    def __exit__(self, *exc) -> None:
        self.deactivate()

    # -- introspection -----------------------------------------------------------------------
    def input_specs(self) -> list[TensorSpec]:
        raise NotImplementedError

    def output_specs(self) -> list[TensorSpec]:
        raise NotImplementedError

    # -- inference ---------------------------------------------------------------------------
    def infer(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise NotImplementedError
