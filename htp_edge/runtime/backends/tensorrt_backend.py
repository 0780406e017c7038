"""TensorRT runner: one engine, buffers allocated once, ``execute_async_v3`` on one stream.

``activate()`` loads the engine (refusing TensorRT/GPU mismatches), allocates one device buffer
and one pinned host buffer per I/O tensor, binds each device buffer once with
``set_tensor_address`` and creates the stream and timing events. ``infer(feed)`` copies the
inputs host -> device, executes, copies the outputs back, synchronises and records
``last_timings = {"h2d", "compute", "d2h"}`` in milliseconds from CUDA events.

Options (all keyword): ``cuda`` ("auto", "cuda-python", "pycuda" or a
:class:`~htp_edge.runtime.cuda_mem.CudaMem`), ``use_cuda_graph`` (capture the execute call once
and replay it), ``zero_copy_inputs`` (mapped pinned inputs, no H2D copy: Jetson unified memory),
``check_manifest`` (refuse engines whose manifest names another TensorRT/GPU), ``trt`` (a
tensorrt module, for tests).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from htp_edge.artifacts.specs import TensorSpec
from htp_edge.errors import HtpEdgeError
from htp_edge.runtime.backends.base import Runner
from htp_edge.runtime.cuda_mem import CudaMem, DeviceBuffer, HostBuffer, load_cuda


@dataclass(frozen=True)
class TensorRTOptions:
    """Validated options of :class:`TensorRTRunner`."""

    cuda: object = "auto"
    use_cuda_graph: bool = False
    zero_copy_inputs: bool = False
    check_manifest: bool = True
    device_index: int = 0
    trt: object = None

    def __post_init__(self) -> None:
        if isinstance(self.cuda, str) and self.cuda not in ("auto", "cuda-python", "pycuda"):
            raise HtpEdgeError(f"tensorrt backend: unknown cuda binding. Expected auto, "
                               f"cuda-python, pycuda or a CudaMem, got {self.cuda!r}.")
        if not isinstance(self.cuda, (str, CudaMem)):
            raise HtpEdgeError(f"tensorrt backend: bad cuda option. Expected a binding name or a "
                               f"CudaMem, got {type(self.cuda).__name__}.")
        if self.device_index < 0:
            raise HtpEdgeError(f"tensorrt backend: device_index must be >= 0, got {self.device_index}.")


@dataclass
class _Binding:
    """One I/O tensor: its spec and its buffers."""

    spec: TensorSpec
    host: HostBuffer
    device: DeviceBuffer | None  # None when the host buffer is mapped (zero copy)

    @property
    def device_ptr(self) -> int:
        return self.host.device_ptr if self.device is None else self.device.ptr


class TensorRTRunner(Runner):
    """Runs a TensorRT engine file (``.engine`` plan with an optional ``<engine>.json`` manifest)."""

    backend = "tensorrt"

    def __init__(self, artifact, **options) -> None:
        super().__init__()
        unknown = set(options) - set(TensorRTOptions.__dataclass_fields__)
        if unknown:
            raise HtpEdgeError(f"tensorrt backend: unknown option(s) {sorted(unknown)}. Expected "
                               f"{', '.join(TensorRTOptions.__dataclass_fields__)}.")
        self.path = Path(artifact)
        self.options = TensorRTOptions(**options)
        self._reset()

    def _reset(self) -> None:
        self.cuda: CudaMem | None = None
        self.loaded = None
        self.context = None
        self.stream = None
        self._events: list = []
        self._inputs: dict[str, _Binding] = {}
        self._outputs: dict[str, _Binding] = {}
        self._graph = None
        self._executed_once = False

    # -- lifecycle ---------------------------------------------------------------------------
    def activate(self) -> None:
        from htp_edge.runtime.engine_loader import load_engine

        opts = self.options
        self.cuda = opts.cuda if isinstance(opts.cuda, CudaMem) else load_cuda(opts.cuda, opts.device_index)
        try:
            device = self.cuda.device_info(opts.device_index)
            self.loaded = load_engine(self.path, trt=opts.trt, device=device,
                                      check_manifest=opts.check_manifest)
            self.context = self.loaded.create_execution_context()
            self.stream = self.cuda.create_stream()
            self._events = [self.cuda.create_event() for _ in range(4)]
            self._allocate()
        except BaseException:
            self._release()  # keep the original error; release what was allocated
            self._reset()
            raise
        super().activate()

    def _allocate(self) -> None:
        for spec in self.loaded.inputs:
            self._bind(self._inputs, spec, mapped=self.options.zero_copy_inputs)
        for spec in self.loaded.outputs:
            self._bind(self._outputs, spec, mapped=False)

    def _bind(self, table: dict, spec: TensorSpec, mapped: bool) -> None:
        """Allocate the buffers of one tensor (registered at once, so deactivate frees them)."""
        if any(d < 0 for d in spec.shape):
            raise HtpEdgeError(f"tensorrt backend: tensor {spec.name!r} has a dynamic shape. "
                               f"Expected static shapes, got {spec.shape}. Export with fixed "
                               f"frames/hypotheses.")
        host = self.cuda.alloc_host(spec.shape, spec.dtype, mapped=mapped)
        binding = table[spec.name] = _Binding(spec=spec, host=host, device=None)
        if not mapped:
            binding.device = self.cuda.alloc_device(host.nbytes)
        if not self.context.set_tensor_address(spec.name, binding.device_ptr):
            raise HtpEdgeError(f"tensorrt backend: set_tensor_address({spec.name!r}) failed. "
                               f"Expected True, got False.")

    def deactivate(self) -> None:
        """Free every buffer, event, graph and the stream; the first CUDA error is raised after
        everything was attempted."""
        errors = self._release()
        self._reset()
        super().deactivate()
        if errors:
            raise errors[0]

    def _release(self) -> list[HtpEdgeError]:
        cuda, errors = self.cuda, []
        if cuda is None:
            return errors
        steps = []
        if self._graph is not None:
            steps.append(lambda g=self._graph: cuda.destroy_graph(g))
        for binding in [*self._inputs.values(), *self._outputs.values()]:
            if binding.device is not None:
                steps.append(lambda d=binding.device: cuda.free_device(d))
            steps.append(lambda h=binding.host: cuda.free_host(h))
        steps += [lambda e=event: cuda.destroy_event(e) for event in self._events]
        if self.stream is not None:
            steps.append(lambda s=self.stream: cuda.destroy_stream(s))
        if not isinstance(self.options.cuda, CudaMem):
            steps.append(cuda.close)
        for step in steps:
            try:
                step()
            except HtpEdgeError as exc:
                errors.append(exc)
        return errors

    # -- introspection -----------------------------------------------------------------------
    def input_specs(self) -> list[TensorSpec]:
        return list(self._require_loaded().inputs)

    def output_specs(self) -> list[TensorSpec]:
        return list(self._require_loaded().outputs)

    def _require_loaded(self):
        if self.loaded is None:
            raise HtpEdgeError("tensorrt backend: runner is not active. Expected activate() (or "
                               "`with runner:`) before use, got an inactive runner.")
        return self.loaded

    # -- inference ---------------------------------------------------------------------------
    def _infer(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self._require_loaded()
        for name, binding in self._inputs.items():
            np.copyto(binding.host.array, feed[name])
        cuda, stream = self.cuda, self.stream
        ev_start, ev_h2d, ev_compute, ev_d2h = self._events
        cuda.record_event(ev_start, stream)
        for binding in self._inputs.values():
            if binding.device is not None:
                cuda.copy_htod_async(binding.device, binding.host, stream)
        cuda.record_event(ev_h2d, stream)
        self._execute()
        cuda.record_event(ev_compute, stream)
        for binding in self._outputs.values():
            cuda.copy_dtoh_async(binding.host, binding.device, stream)
        cuda.record_event(ev_d2h, stream)
        cuda.synchronize(stream)
        self.last_timings = {"h2d": cuda.elapsed_ms(ev_start, ev_h2d),
                             "compute": cuda.elapsed_ms(ev_h2d, ev_compute),
                             "d2h": cuda.elapsed_ms(ev_compute, ev_d2h)}
        return {name: b.host.array.copy() for name, b in self._outputs.items()}

    def _execute(self) -> None:
        if self._graph is not None:
            self.cuda.launch_graph(self._graph, self.stream)
            return
        self._enqueue()
        if self.options.use_cuda_graph and self._executed_once:
            self._graph = self.cuda.capture_graph(self.stream, self._enqueue)
        self._executed_once = True

    def _enqueue(self) -> None:
        if not self.context.execute_async_v3(self.stream.handle):
            raise HtpEdgeError(f"tensorrt backend: execute_async_v3 failed for {self.path}. "
                               f"Expected True, got False. Run with --debug to see TensorRT's log.")
