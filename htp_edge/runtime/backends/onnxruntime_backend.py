"""ONNX Runtime backend: the embedded default on the CPU; CUDA/TensorRT providers when present.

Thread settings are explicit (:class:`OrtSessionConfig`): every session gets its own intra-op
pool of ``threads`` (0: ONNX Runtime's default, one per physical core) and a spinning policy.
A lifter runs two sessions back to back (the TCEP planner, then the denoiser); with ONNX
Runtime's defaults the planner's idle workers keep spinning while the denoiser wants every
core, so the small companion graph (:meth:`OnnxRuntimeRunner.companion_options`) runs on the
calling thread alone, without spinning. Process-wide global pools
(``use_per_session_threads=False``) are not used: once set, every session in the process,
including the user's own, must opt in or fails to load.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from htp_edge.artifacts.onnx_meta import import_onnxruntime, ort_specs
from htp_edge.artifacts.specs import TensorSpec
from htp_edge.errors import HtpEdgeError
from htp_edge.runtime.backends.base import Runner

OPTIMIZATION = ("disable", "basic", "extended", "all")
SPINNING_KEY = "session.intra_op.allow_spinning"
INTER_SPINNING_KEY = "session.inter_op.allow_spinning"


@dataclass(frozen=True)
class OrtSessionConfig:
    """How one InferenceSession is created.

    ``threads``: intra-op threads (0: ONNX Runtime's default). ``spinning``: whether idle
    workers busy-wait for the next parallel section (None: ONNX Runtime's default, on).
    ``io_binding``: bind inputs and preallocated outputs (``run_with_iobinding``) instead of
    ``run``. ``optimization``: graph optimisation level. ``profile_prefix``: write ONNX
    Runtime's per-node JSON profile (``end_profile()`` returns its path).
    """

    threads: int = 0
    spinning: bool | None = None
    io_binding: bool = False
    optimization: str = "all"
    profile_prefix: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 0:
            raise HtpEdgeError(f"onnxruntime backend: threads must be an integer >= 0 (0: ONNX Runtime's "
                               f"default), got {self.threads!r}.")
        if self.spinning not in (None, True, False):
            raise HtpEdgeError(f"onnxruntime backend: spinning must be true, false or unset, got {self.spinning!r}.")
        if self.optimization not in OPTIMIZATION:
            raise HtpEdgeError(f"onnxruntime backend: unknown optimization level. Expected one of "
                               f"{', '.join(OPTIMIZATION)}, got {self.optimization!r}.")

    def session_options(self, ort):
        """The ``onnxruntime.SessionOptions`` these settings describe."""
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        opts.inter_op_num_threads = 1  # graphs run sequentially; no second pool
        if self.threads:
            opts.intra_op_num_threads = self.threads
        if self.spinning is not None:
            opts.add_session_config_entry(SPINNING_KEY, "1" if self.spinning else "0")
            opts.add_session_config_entry(INTER_SPINNING_KEY, "1" if self.spinning else "0")
        levels = ort.GraphOptimizationLevel
        opts.graph_optimization_level = {"disable": levels.ORT_DISABLE_ALL, "basic": levels.ORT_ENABLE_BASIC,
                                         "extended": levels.ORT_ENABLE_EXTENDED,
                                         "all": levels.ORT_ENABLE_ALL}[self.optimization]
        if self.profile_prefix:
            opts.enable_profiling = True
            opts.profile_file_prefix = self.profile_prefix
        return opts


# the companion (planner) graph: a few hundred microseconds of small ops on the calling thread
COMPANION = {"threads": 1, "spinning": False}


class OnnxRuntimeRunner(Runner):
    """Runs an ONNX file (or serialized model bytes) with onnxruntime.InferenceSession."""

    backend = "onnxruntime"

    def __init__(self, artifact, providers: Sequence[str] | None = None, threads: int = 0,
                 spinning: bool | None = None, io_binding: bool = False, optimization: str = "all",
                 profile_prefix: str | None = None) -> None:
        super().__init__()
        self.artifact = artifact
        self.providers = providers
        self.config = OrtSessionConfig(threads=threads, spinning=spinning, io_binding=io_binding,
                                       optimization=optimization, profile_prefix=profile_prefix)
        self.session = None
        self._binding = None

    @property
    def threads(self) -> int:
        return self.config.threads

    @classmethod
    def companion_options(cls, options: dict) -> dict:
        """Options for the planner beside a denoiser opened with ``options``: one thread, no spinning."""
        return {**options, **COMPANION}

    def activate(self) -> None:
        ort = import_onnxruntime()
        opts = self.config.session_options(ort)
        providers = resolved_providers(self.providers)
        src = str(self.artifact) if isinstance(self.artifact, (str, Path)) else self.artifact
        try:
            self.session = ort.InferenceSession(src, sess_options=opts, providers=providers)
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises several private types
            name = self.artifact if isinstance(self.artifact, (str, Path)) else "model bytes"
            raise HtpEdgeError(f"onnx: cannot load {name} with ONNX Runtime ({str(exc).splitlines()[0][:200]}). "
                               f"Expected a valid .onnx file exported by `htp-edge export`.") from None
        self._specs = ort_specs(self.session.get_inputs()), ort_specs(self.session.get_outputs())  # read once
        self._binding = _Binding(self.session, self._specs[1]) if self.config.io_binding else None
        super().activate()

    def deactivate(self) -> None:
        self.session, self._specs, self._binding = None, None, None
        super().deactivate()

    def end_profile(self) -> str | None:
        """Stop ONNX Runtime's profiler; the path of its JSON (None without ``profile_prefix``)."""
        if self.session is None or not self.config.profile_prefix:
            return None
        return self.session.end_profiling()

    def _infer(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        t0 = time.perf_counter()
        if self._binding is not None:
            outs = self._binding.run(feed)
        else:
            names = [o.name for o in self._specs[1]]
            outs = dict(zip(names, self.session.run(names, feed)))
        self.last_timings = {"compute": (time.perf_counter() - t0) * 1e3}
        return outs


class _Binding:
    """Inputs bound in place and outputs written into arrays allocated once per call shape."""

    def __init__(self, session, outputs: list[TensorSpec]) -> None:
        self.session, self.io = session, session.io_binding()
        self.outputs = outputs
        self.static = all(s.shape is not None and None not in s.shape for s in outputs)

    def run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        for name, value in feed.items():
            self.io.bind_cpu_input(name, np.ascontiguousarray(value))
        if not self.static:  # ONNX Runtime allocates outputs of dynamic shape
            for spec in self.outputs:
                self.io.bind_output(spec.name, "cpu")
            self.session.run_with_iobinding(self.io)
            return dict(zip([s.name for s in self.outputs], self.io.copy_outputs_to_cpu()))
        outs = {s.name: np.empty(s.shape, s.dtype) for s in self.outputs}  # fresh: callers may keep them
        for name, array in outs.items():
            self.io.bind_output(name, "cpu", 0, array.dtype, array.shape, array.ctypes.data)
        self.session.run_with_iobinding(self.io)
        return outs


def resolved_providers(providers: Sequence[str] | None) -> list[str]:
    """The providers a runner given ``providers`` (None: the defaults) will ask for."""
    return list(providers or default_providers(import_onnxruntime()))


def default_providers(ort) -> list[str]:
    """TensorRT, then CUDA, then CPU, as far as the installed onnxruntime offers them."""
    avail = ort.get_available_providers()
    order = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    return [p for p in order if p in avail] or ["CPUExecutionProvider"]

