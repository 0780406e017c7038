"""A recording fake of cuda-python's runtime module (``cuda.bindings.runtime``).

Calls return ``(cudaError_t, *values)`` like the real bindings. "Device" memory is ordinary host
memory (ctypes buffers), so copies really move bytes and a fake TensorRT engine can read its
inputs from the addresses it was given. Events read a fake clock that advances 0.5 ms per
record. ``cudart._fail[name] = cudaError_t.<error>`` makes the next calls of ``name`` fail;
``cudart._calls`` lists ``(name, args)`` of every call.
"""
from __future__ import annotations

import ctypes
import enum
import sys
import types


class cudaError_t(enum.IntEnum):
    cudaSuccess = 0
    cudaErrorInvalidValue = 1
    cudaErrorMemoryAllocation = 2
    cudaErrorNoDevice = 100
    cudaErrorStreamCaptureUnsupported = 900


class cudaMemcpyKind(enum.IntEnum):
    cudaMemcpyHostToHost = 0
    cudaMemcpyHostToDevice = 1
    cudaMemcpyDeviceToHost = 2
    cudaMemcpyDeviceToDevice = 3


class cudaStreamCaptureMode(enum.IntEnum):
    cudaStreamCaptureModeGlobal = 0
    cudaStreamCaptureModeThreadLocal = 1
    cudaStreamCaptureModeRelaxed = 2


class _Handle:
    """An opaque handle like cuda-python's ``cudaStream_t``: ``int()`` gives the pointer."""

    _next = 0x1000

    def __init__(self, kind: str) -> None:
        _Handle._next += 0x10
        self.kind, self.ptr = kind, _Handle._next

    def __int__(self) -> int:
        return self.ptr

    def __repr__(self) -> str:
        return f"<{self.kind} {self.ptr:#x}>"


class _DeviceProp:
    def __init__(self, name: str, major: int, minor: int, integrated: int) -> None:
        self.name = name.encode() + b"\0" * 8
        self.major, self.minor, self.integrated = major, minor, integrated
        self.totalGlobalMem = 8 << 30


def make_fake_cudart(name: str = "Orin", cc: tuple[int, int] = (8, 7), integrated: bool = True,
                     runtime_version: int = 12060) -> types.ModuleType:
    """A fresh fake runtime module for one GPU ``name`` with compute capability ``cc``."""
    rt = types.ModuleType("cuda.bindings.runtime")
    rt._calls, rt._fail, rt._buffers, rt._clock = [], {}, {}, [0.0]
    rt._live = {"device": set(), "host": set(), "stream": set(), "event": set(), "graph": set()}
    rt.cudaError_t, rt.cudaMemcpyKind, rt.cudaStreamCaptureMode = cudaError_t, cudaMemcpyKind, cudaStreamCaptureMode
    rt.cudaHostAllocMapped = 2
    prop = _DeviceProp(name, cc[0], cc[1], int(integrated))

    def api(fn):
        def call(*args):
            rt._calls.append((fn.__name__, args))
            if fn.__name__ in rt._fail:
                return (rt._fail[fn.__name__], None)
            result = fn(*args)
            rest = result if isinstance(result, tuple) else (result,) if result is not None else ()
            return (cudaError_t.cudaSuccess,) + rest
        call.__name__ = fn.__name__
        setattr(rt, fn.__name__, call)
        return call

    def alloc(nbytes: int, kind: str) -> int:
        buf = ctypes.create_string_buffer(int(nbytes))
        ptr = ctypes.addressof(buf)
        rt._buffers[ptr] = buf
        rt._live[kind].add(ptr)
        return ptr

    def free(ptr: int, kind: str) -> None:
        rt._live[kind].discard(ptr)
        rt._buffers.pop(ptr, None)

    @api
    def cudaGetErrorName(err):
        return cudaError_t(err).name.encode()

    @api
    def cudaGetDevice():
        return 0

    @api
    def cudaSetDevice(index):
        return None

    @api
    def cudaGetDeviceProperties(index):
        return prop

    @api
    def cudaRuntimeGetVersion():
        return runtime_version

    @api
    def cudaDriverGetVersion():
        return runtime_version

    @api
    def cudaMalloc(nbytes):
        return alloc(nbytes, "device")

    @api
    def cudaFree(ptr):
        free(ptr, "device")

    @api
    def cudaMallocHost(nbytes):
        return alloc(nbytes, "host")

    @api
    def cudaHostAlloc(nbytes, flags):
        return alloc(nbytes, "host")

    @api
    def cudaHostGetDevicePointer(ptr, flags):
        return ptr

    @api
    def cudaFreeHost(ptr):
        free(ptr, "host")

    @api
    def cudaMemcpyAsync(dst, src, count, kind, stream):
        ctypes.memmove(dst, src, count)

    @api
    def cudaStreamCreate():
        handle = _Handle("cudaStream_t")
        rt._live["stream"].add(handle.ptr)
        return handle

    @api
    def cudaStreamDestroy(stream):
        rt._live["stream"].discard(int(stream))

    @api
    def cudaStreamSynchronize(stream):
        return None

    @api
    def cudaEventCreate():
        handle = _Handle("cudaEvent_t")
        handle.time = None
        rt._live["event"].add(handle.ptr)
        return handle

    @api
    def cudaEventRecord(event, stream):
        rt._clock[0] += 0.5
        event.time = rt._clock[0]

    @api
    def cudaEventSynchronize(event):
        return None

    @api
    def cudaEventElapsedTime(start, end):
        return end.time - start.time

    @api
    def cudaEventDestroy(event):
        rt._live["event"].discard(int(event))

    @api
    def cudaStreamBeginCapture(stream, mode):
        return None

    @api
    def cudaStreamEndCapture(stream):
        return _Handle("cudaGraph_t")

    @api
    def cudaGraphInstantiate(graph, flags):
        handle = _Handle("cudaGraphExec_t")
        rt._live["graph"].add(handle.ptr)
        return handle

    @api
    def cudaGraphLaunch(graph_exec, stream):
        return None

    @api
    def cudaGraphExecDestroy(graph_exec):
        rt._live["graph"].discard(int(graph_exec))

    @api
    def cudaGraphDestroy(graph):
        return None

    return rt


def calls_named(rt, name: str) -> list[tuple]:
    """Arguments of every recorded call of ``name``."""
    return [args for n, args in rt._calls if n == name]


def install(monkeypatch, rt) -> None:
    """Make ``from cuda.bindings import runtime`` return ``rt`` (and hide pycuda)."""
    cuda_pkg = types.ModuleType("cuda")
    bindings = types.ModuleType("cuda.bindings")
    bindings.runtime = rt
    cuda_pkg.bindings = bindings
    monkeypatch.setitem(sys.modules, "cuda", cuda_pkg)
    monkeypatch.setitem(sys.modules, "cuda.bindings", bindings)
    monkeypatch.setitem(sys.modules, "cuda.bindings.runtime", rt)
