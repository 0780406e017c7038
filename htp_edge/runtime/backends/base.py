"""The one interface every inference backend implements (torch, ONNX Runtime, TensorRT).

As in Polygraphy's runners: a runner is created cheaply and touches no device; its heavy work
(sessions, engines, GPU memory) happens in :meth:`Runner.activate`. :meth:`Runner.infer` maps a
feed ``{input name: numpy array}`` to ``{output name: numpy array}``: the base class checks
the runner is active and that the feed matches :meth:`Runner.input_specs` (names, shapes,
dtypes; one message style for every backend), then calls the backend's :meth:`Runner._infer`.
``last_timings`` holds the per-stage milliseconds of the last call (``h2d``, ``compute``,
``d2h`` on a GPU; ``compute`` on the CPU).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from htp_edge.artifacts.specs import TensorSpec
from htp_edge.errors import HtpEdgeError


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

    @classmethod
    def companion_options(cls, options: dict) -> dict:
        """Options for a small graph run beside the main one (the TCEP planner), given the main
        graph's ``options``; a backend may give it fewer threads. Default: the same options."""
        return dict(options)

    # -- introspection -----------------------------------------------------------------------
    # (inputs, outputs) read once by a backend's activate() and cleared by its deactivate(); a
    # backend that keeps its specs elsewhere overrides input_specs/output_specs.
    _specs: tuple[list[TensorSpec], list[TensorSpec]] | None = None

    def input_specs(self) -> list[TensorSpec]:
        return self._active_specs()[0]

    def output_specs(self) -> list[TensorSpec]:
        return self._active_specs()[1]

    def _active_specs(self) -> tuple[list[TensorSpec], list[TensorSpec]]:
        if self._specs is None:
            raise HtpEdgeError(f"{self.backend} backend: runner is not active. Expected activate() (or "
                               f"`with runner:`) before use, got an inactive runner.")
        return self._specs

    # -- inference ---------------------------------------------------------------------------
    def infer(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Check ``feed`` against the graph's inputs, then run it."""
        if not self.is_active:
            raise HtpEdgeError(f"{self.backend} backend: runner is not active. Expected activate() (or "
                               f"`with runner:`) before infer, got an inactive runner.")
        return self._infer(self.check_feed(feed))

    def check_feed(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The feed as numpy arrays, or one clear error naming what does not match."""
        specs = {s.name: s for s in self.input_specs()}
        missing, extra = sorted(set(specs) - set(feed)), sorted(set(feed) - set(specs))
        if missing or extra:
            raise HtpEdgeError(f"{self.backend} backend: feed names do not match the graph. Expected "
                               f"{sorted(specs)}, got {sorted(feed)} (missing {missing}, unexpected {extra}).")
        arrays = {}
        for name, spec in specs.items():
            value = np.asarray(feed[name])
            problem = spec.accepts(value)
            if problem:
                raise HtpEdgeError(f"{self.backend} backend: input {name!r} does not match the graph. {problem}. "
                                   f"Graphs have static shapes: re-export (or rebuild) for other sizes.")
            arrays[name] = value
        return arrays

    def _infer(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise NotImplementedError
