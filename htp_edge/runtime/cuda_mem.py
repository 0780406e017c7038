"""A small CUDA memory / stream / event interface over cuda-python or pycuda.

The TensorRT runner needs little from CUDA: device buffers, pinned host buffers (optionally
zero-copy mapped, which removes the copies for tiny inputs on Jetson's unified memory),
asynchronous copies on one stream, events for timing and, optionally, CUDA-graph capture.
:class:`CudaMem` is that interface; :class:`CudaPythonMem` implements it with cuda-python
(``from cuda.bindings import runtime``, or ``from cuda import cudart`` before version 13) and
:class:`PyCudaMem` with pycuda. The bindings are imported inside :func:`load_cuda` only.

Every cuda-python call returns ``(cudaError_t, *values)``; :meth:`CudaPythonMem.call` checks the
error code and raises :class:`~htp_edge.errors.HtpEdgeError` naming the call and the error.
"""
from __future__ import annotations

import ctypes
import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from htp_edge.artifacts.specs import DeviceInfo
from htp_edge.errors import HtpEdgeError

BINDINGS = ("cuda-python", "pycuda")
INSTALL_HINT = ("Install cuda-python (`pip install cuda-python`; wheels for x86_64 and aarch64, "
                "incl. Python 3.10 on JetPack 6) or pycuda, or use --backend onnxruntime")


@dataclass
class DeviceBuffer:
    """Device memory: ``ptr`` is what ``set_tensor_address`` takes."""

    ptr: int
    nbytes: int
    handle: object = None


@dataclass
class HostBuffer:
    """Pinned host memory viewed as a numpy array; ``device_ptr`` is set when mapped."""

    array: np.ndarray
    ptr: int
    device_ptr: int | None = None
    handle: object = None

    @property
    def nbytes(self) -> int:
        return int(self.array.nbytes)

    @property
    def mapped(self) -> bool:
        return self.device_ptr is not None


@dataclass
class Stream:
    """A CUDA stream; ``handle`` is the integer TensorRT's ``execute_async_v3`` takes."""

    handle: int
    obj: object = None


@dataclass
class Graph:
    """An instantiated CUDA graph (``exec_obj``) and its template (``graph_obj``)."""

    graph_obj: object
    exec_obj: object


def _cuda_version(value: int | None) -> str | None:
    """``12060`` -> ``"12.6"``."""
    if not value:
        return None
    return f"{int(value) // 1000}.{(int(value) % 1000) // 10}"


def _nbytes(shape, dtype) -> int:
    return int(math.prod(shape)) * np.dtype(dtype).itemsize


class CudaMem:
    """The interface the TensorRT runner uses; see :class:`CudaPythonMem`, :class:`PyCudaMem`."""

    binding = "base"
    supports_graphs = False

    def device_info(self, index: int = 0) -> DeviceInfo:
        raise NotImplementedError

    def alloc_device(self, nbytes: int) -> DeviceBuffer:
        raise NotImplementedError

    def free_device(self, buf: DeviceBuffer) -> None:
        raise NotImplementedError

    def alloc_host(self, shape, dtype, mapped: bool = False) -> HostBuffer:
        raise NotImplementedError

    def free_host(self, buf: HostBuffer) -> None:
        raise NotImplementedError

    def create_stream(self) -> Stream:
        raise NotImplementedError

    def destroy_stream(self, stream: Stream) -> None:
        raise NotImplementedError

    def copy_htod_async(self, dst: DeviceBuffer, src: HostBuffer, stream: Stream) -> None:
        raise NotImplementedError

    def copy_dtoh_async(self, dst: HostBuffer, src: DeviceBuffer, stream: Stream) -> None:
        raise NotImplementedError

    def synchronize(self, stream: Stream) -> None:
        raise NotImplementedError

    def create_event(self):
        raise NotImplementedError

    def record_event(self, event, stream: Stream) -> None:
        raise NotImplementedError

    def elapsed_ms(self, start, end) -> float:
        """Milliseconds between two recorded events (waits for ``end``)."""
        raise NotImplementedError

    def destroy_event(self, event) -> None:
        raise NotImplementedError

    def capture_graph(self, stream: Stream, work: Callable[[], None]) -> Graph:
        """Capture the work ``work()`` enqueues on ``stream`` into an instantiated graph."""
        raise HtpEdgeError(f"CUDA graphs: not supported with {self.binding}. Expected "
                           f"cuda-python, got {self.binding}. Install cuda-python or run "
                           f"without use_cuda_graph.")

    def launch_graph(self, graph: Graph, stream: Stream) -> None:
        raise NotImplementedError

    def destroy_graph(self, graph: Graph) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the binding holds (e.g. pycuda's pushed context)."""


class CudaPythonMem(CudaMem):
    """:class:`CudaMem` over cuda-python's runtime module ``cudart`` (injectable for tests)."""

    binding = "cuda-python"
    supports_graphs = True

    def __init__(self, cudart) -> None:
        self.cudart = cudart
        self._success = cudart.cudaError_t.cudaSuccess

    def call(self, name: str, *args):
        """Call ``cudart.<name>(*args)``, check its error code, return the remaining values."""
        result = getattr(self.cudart, name)(*args)
        err, values = result[0], tuple(result[1:])
        if err != self._success:
            raise HtpEdgeError(
                f"CUDA: {name} failed. Expected cudaSuccess, got {self._error_name(err)} "
                f"({int(err)}). Check that a CUDA GPU is visible (nvidia-smi / tegrastats) and has "
                f"free memory.")
        if not values:
            return None
        return values[0] if len(values) == 1 else values

    def _error_name(self, err) -> str:
        try:
            name_err, name = self.cudart.cudaGetErrorName(err)
        except Exception:  # noqa: BLE001 - only for the message
            return str(err)
        if name_err != self._success:
            return str(err)
        return name.decode() if isinstance(name, bytes) else str(name)

    def device_info(self, index: int | None = None) -> DeviceInfo:
        if index is None:
            index = int(self.call("cudaGetDevice"))
        prop = self.call("cudaGetDeviceProperties", index)
        name = prop.name.split(b"\0")[0].decode() if isinstance(prop.name, bytes) else str(prop.name)
        return DeviceInfo(
            name=name, compute_capability=(int(prop.major), int(prop.minor)),
            cuda_runtime=_cuda_version(self.call("cudaRuntimeGetVersion")),
            cuda_driver=_cuda_version(self.call("cudaDriverGetVersion")),
            integrated=bool(getattr(prop, "integrated", 0)),
            total_memory=int(getattr(prop, "totalGlobalMem", 0)) or None,
            index=index, binding=self.binding)

    def alloc_device(self, nbytes: int) -> DeviceBuffer:
        nbytes = max(int(nbytes), 1)
        return DeviceBuffer(ptr=int(self.call("cudaMalloc", nbytes)), nbytes=nbytes)

    def free_device(self, buf: DeviceBuffer) -> None:
        self.call("cudaFree", buf.ptr)

    def alloc_host(self, shape, dtype, mapped: bool = False) -> HostBuffer:
        nbytes = max(_nbytes(shape, dtype), 1)
        if mapped:
            ptr = int(self.call("cudaHostAlloc", nbytes, self.cudart.cudaHostAllocMapped))
            device_ptr = int(self.call("cudaHostGetDevicePointer", ptr, 0))
        else:
            ptr, device_ptr = int(self.call("cudaMallocHost", nbytes)), None
        raw = (ctypes.c_byte * nbytes).from_address(ptr)
        array = np.frombuffer(raw, dtype=np.uint8)[:_nbytes(shape, dtype)]
        array = array.view(dtype).reshape(shape)
        return HostBuffer(array=array, ptr=ptr, device_ptr=device_ptr, handle=raw)

    def free_host(self, buf: HostBuffer) -> None:
        self.call("cudaFreeHost", buf.ptr)

    def create_stream(self) -> Stream:
        obj = self.call("cudaStreamCreate")
        return Stream(handle=int(obj), obj=obj)

    def destroy_stream(self, stream: Stream) -> None:
        self.call("cudaStreamDestroy", stream.obj)

    def copy_htod_async(self, dst: DeviceBuffer, src: HostBuffer, stream: Stream) -> None:
        kind = self.cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
        self.call("cudaMemcpyAsync", dst.ptr, src.ptr, src.nbytes, kind, stream.obj)

    def copy_dtoh_async(self, dst: HostBuffer, src: DeviceBuffer, stream: Stream) -> None:
        kind = self.cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        self.call("cudaMemcpyAsync", dst.ptr, src.ptr, dst.nbytes, kind, stream.obj)

    def synchronize(self, stream: Stream) -> None:
        self.call("cudaStreamSynchronize", stream.obj)

    def create_event(self):
        return self.call("cudaEventCreate")

    def record_event(self, event, stream: Stream) -> None:
        self.call("cudaEventRecord", event, stream.obj)

    def elapsed_ms(self, start, end) -> float:
        self.call("cudaEventSynchronize", end)
        return float(self.call("cudaEventElapsedTime", start, end))

    def destroy_event(self, event) -> None:
        self.call("cudaEventDestroy", event)

    def capture_graph(self, stream: Stream, work: Callable[[], None]) -> Graph:
        mode = self.cudart.cudaStreamCaptureMode.cudaStreamCaptureModeThreadLocal
        self.call("cudaStreamBeginCapture", stream.obj, mode)
        try:
            work()
        finally:
            graph = self.call("cudaStreamEndCapture", stream.obj)
        return Graph(graph_obj=graph, exec_obj=self.call("cudaGraphInstantiate", graph, 0))

    def launch_graph(self, graph: Graph, stream: Stream) -> None:
        self.call("cudaGraphLaunch", graph.exec_obj, stream.obj)

    def destroy_graph(self, graph: Graph) -> None:
        self.call("cudaGraphExecDestroy", graph.exec_obj)
        self.call("cudaGraphDestroy", graph.graph_obj)


class PyCudaMem(CudaMem):
    """:class:`CudaMem` over ``pycuda.driver`` on the device's primary context (shared with
    TensorRT, which uses the runtime API)."""

    binding = "pycuda"

    def __init__(self, driver, index: int = 0) -> None:
        self.driver = driver
        with self._guard("init"):
            driver.init()
            self.device = driver.Device(index)
            self.context = self.device.retain_primary_context()
            self.context.push()
        self.index = index

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        try:
            yield
        except self.driver.Error as exc:
            raise HtpEdgeError(f"CUDA (pycuda): {what} failed. Expected success, got "
                               f"{type(exc).__name__}: {exc}. Check that a CUDA GPU is visible "
                               f"and has free memory.") from None

    def device_info(self, index: int | None = None) -> DeviceInfo:
        with self._guard("device query"):
            major, minor = self.device.compute_capability()
            runtime = ".".join(str(v) for v in self.driver.get_version()[:2])
            integrated = self.device.get_attribute(self.driver.device_attribute.INTEGRATED)
            return DeviceInfo(
                name=str(self.device.name()), compute_capability=(int(major), int(minor)),
                cuda_runtime=runtime, cuda_driver=_cuda_version(self.driver.get_driver_version()),
                integrated=bool(integrated), total_memory=int(self.device.total_memory()),
                index=self.index, binding=self.binding)

    def alloc_device(self, nbytes: int) -> DeviceBuffer:
        nbytes = max(int(nbytes), 1)
        with self._guard("mem_alloc"):
            alloc = self.driver.mem_alloc(nbytes)
        return DeviceBuffer(ptr=int(alloc), nbytes=nbytes, handle=alloc)

    def free_device(self, buf: DeviceBuffer) -> None:
        with self._guard("free"):
            buf.handle.free()

    def alloc_host(self, shape, dtype, mapped: bool = False) -> HostBuffer:
        with self._guard("pagelocked_empty"):
            if mapped:
                flags = self.driver.host_alloc_flags.DEVICEMAP
                array = self.driver.pagelocked_empty(tuple(shape), dtype, mem_flags=flags)
                device_ptr = int(array.base.get_device_pointer())
            else:
                array = self.driver.pagelocked_empty(tuple(shape), dtype)
                device_ptr = None
        return HostBuffer(array=array, ptr=int(array.ctypes.data), device_ptr=device_ptr,
                          handle=array.base)

    def free_host(self, buf: HostBuffer) -> None:
        with self._guard("free pinned"):
            buf.handle.free()

    def create_stream(self) -> Stream:
        with self._guard("Stream"):
            obj = self.driver.Stream()
        return Stream(handle=int(obj.handle), obj=obj)

    def destroy_stream(self, stream: Stream) -> None:
        stream.obj = None

    def copy_htod_async(self, dst: DeviceBuffer, src: HostBuffer, stream: Stream) -> None:
        with self._guard("memcpy_htod_async"):
            self.driver.memcpy_htod_async(dst.ptr, src.array, stream.obj)

    def copy_dtoh_async(self, dst: HostBuffer, src: DeviceBuffer, stream: Stream) -> None:
        with self._guard("memcpy_dtoh_async"):
            self.driver.memcpy_dtoh_async(dst.array, src.ptr, stream.obj)

    def synchronize(self, stream: Stream) -> None:
        with self._guard("stream synchronize"):
            stream.obj.synchronize()

    def create_event(self):
        with self._guard("Event"):
            return self.driver.Event()

    def record_event(self, event, stream: Stream) -> None:
        with self._guard("event record"):
            event.record(stream.obj)

    def elapsed_ms(self, start, end) -> float:
        with self._guard("event timing"):
            end.synchronize()
            return float(end.time_since(start))

    def destroy_event(self, event) -> None:
        """pycuda frees events when they are garbage collected."""

    def close(self) -> None:
        if getattr(self, "context", None) is not None:
            with self._guard("context pop"):
                self.context.pop()
                self.context.detach()
            self.context = None


def import_cudart():
    """cuda-python's runtime module: ``cuda.bindings.runtime`` (>= 12.6) or ``cuda.cudart``."""
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        from cuda import cudart  # cuda-python < 12.6 layout, removed in 13
    return cudart


def load_cuda(prefer: str = "auto", index: int = 0) -> CudaMem:
    """A :class:`CudaMem` over the first available binding (``prefer``: auto, cuda-python,
    pycuda); a clear error when none is installed."""
    if prefer not in ("auto",) + BINDINGS:
        raise HtpEdgeError(f"CUDA bindings: unknown binding. Expected auto, "
                           f"{', '.join(BINDINGS)}, got {prefer!r}.")
    problems = []
    if prefer in ("auto", "cuda-python"):
        try:
            return _cuda_python(index)
        except ImportError as exc:
            problems.append(f"cuda-python: {exc}")
    if prefer in ("auto", "pycuda"):
        try:
            import pycuda.driver as driver
        except ImportError as exc:
            problems.append(f"pycuda: {exc}")
        else:
            return PyCudaMem(driver, index)
    wanted = " or ".join(BINDINGS) if prefer == "auto" else prefer
    raise HtpEdgeError(f"CUDA bindings: not installed. Expected {wanted}, "
                       f"got {'; '.join(problems)}. {INSTALL_HINT}.")


def _cuda_python(index: int) -> CudaPythonMem:
    mem = CudaPythonMem(import_cudart())
    mem.call("cudaSetDevice", index)
    return mem


def try_device_info(prefer: str = "auto", index: int = 0) -> DeviceInfo | None:
    """The device's :class:`DeviceInfo`, or ``None`` when no binding or GPU is available."""
    try:
        mem = load_cuda(prefer, index)
    except HtpEdgeError:
        return None
    try:
        return mem.device_info(index)
    except HtpEdgeError:
        return None
    finally:
        mem.close()
