"""The CUDA memory interface over fake cuda-python and fake pycuda modules."""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from htp_edge.errors import HtpEdgeError
from htp_edge.runtime import cuda_mem
from htp_edge.runtime.cuda_mem import CudaPythonMem, PyCudaMem, load_cuda, try_device_info
from tests.engines import fake_cudart
from tests.engines.fake_cudart import calls_named, make_fake_cudart


@pytest.fixture
def rt():
    return make_fake_cudart()


def test_round_trip_moves_bytes_and_times_with_events(rt):
    mem = CudaPythonMem(rt)
    host_in = mem.alloc_host((2, 3), np.float32)
    host_out = mem.alloc_host((2, 3), np.float32)
    dev = mem.alloc_device(host_in.nbytes)
    stream = mem.create_stream()
    start, end = mem.create_event(), mem.create_event()
    host_in.array[...] = np.arange(6, dtype=np.float32).reshape(2, 3)
    mem.record_event(start, stream)
    mem.copy_htod_async(dev, host_in, stream)
    mem.copy_dtoh_async(host_out, dev, stream)
    mem.record_event(end, stream)
    mem.synchronize(stream)
    np.testing.assert_array_equal(host_out.array, host_in.array)
    assert mem.elapsed_ms(start, end) == pytest.approx(0.5)
    kinds = [args[3] for args in calls_named(rt, "cudaMemcpyAsync")]
    assert kinds == [rt.cudaMemcpyKind.cudaMemcpyHostToDevice, rt.cudaMemcpyKind.cudaMemcpyDeviceToHost]
    assert isinstance(stream.handle, int) and stream.handle == int(stream.obj)
    for buf in (host_in, host_out):
        mem.free_host(buf)
    mem.free_device(dev)
    mem.destroy_stream(stream)
    for event in (start, end):
        mem.destroy_event(event)
    assert all(not live for live in rt._live.values())


def test_error_codes_become_clear_errors(rt):
    mem = CudaPythonMem(rt)
    rt._fail["cudaMalloc"] = rt.cudaError_t.cudaErrorMemoryAllocation
    with pytest.raises(HtpEdgeError,
                       match=r"CUDA: cudaMalloc failed\. Expected cudaSuccess, got cudaErrorMemoryAllocation \(2\)"):
        mem.alloc_device(1024)
    rt._fail["cudaStreamSynchronize"] = rt.cudaError_t.cudaErrorInvalidValue
    with pytest.raises(HtpEdgeError, match="cudaErrorInvalidValue"):
        mem.synchronize(mem.create_stream())


def test_mapped_host_memory_is_zero_copy(rt):
    mem = CudaPythonMem(rt)
    buf = mem.alloc_host((17, 2), np.float32, mapped=True)
    assert buf.mapped and buf.device_ptr == buf.ptr
    assert calls_named(rt, "cudaHostAlloc") == [(17 * 2 * 4, rt.cudaHostAllocMapped)]
    assert calls_named(rt, "cudaHostGetDevicePointer") == [(buf.ptr, 0)]


def test_device_info(rt):
    info = CudaPythonMem(rt).device_info(0)
    assert (info.name, info.compute_capability, info.cc) == ("Orin", (8, 7), "8.7")
    assert info.cuda_runtime == "12.6" and info.integrated is True and info.binding == "cuda-python"


def test_graph_capture_and_launch(rt):
    mem = CudaPythonMem(rt)
    stream = mem.create_stream()
    seen = []
    graph = mem.capture_graph(stream, lambda: seen.append("work"))
    mem.launch_graph(graph, stream)
    mem.destroy_graph(graph)
    names = [n for n, _ in rt._calls]
    assert seen == ["work"]
    assert names[-6:] == ["cudaStreamBeginCapture", "cudaStreamEndCapture", "cudaGraphInstantiate",
                          "cudaGraphLaunch", "cudaGraphExecDestroy", "cudaGraphDestroy"]


def test_load_cuda_prefers_cuda_bindings_runtime(rt, monkeypatch):
    fake_cudart.install(monkeypatch, rt)
    mem = load_cuda()
    assert isinstance(mem, CudaPythonMem) and mem.cudart is rt
    assert calls_named(rt, "cudaSetDevice") == [(0,)]


def test_load_cuda_falls_back_to_old_cuda_cudart_layout(rt, monkeypatch):
    old = types.ModuleType("cuda")
    old.cudart = rt
    monkeypatch.setitem(sys.modules, "cuda", old)
    monkeypatch.setitem(sys.modules, "cuda.bindings", None)
    assert load_cuda("cuda-python").cudart is rt


def _hide_bindings(monkeypatch) -> None:
    for name in ("cuda", "cuda.bindings", "cuda.bindings.runtime", "cuda.cudart", "pycuda", "pycuda.driver"):
        monkeypatch.setitem(sys.modules, name, None)


def test_no_binding_is_a_clear_error(monkeypatch):
    _hide_bindings(monkeypatch)
    with pytest.raises(HtpEdgeError) as info:
        load_cuda()
    message = str(info.value)
    assert message.startswith("CUDA bindings: not installed.") and "pip install cuda-python" in message
    assert "--backend onnxruntime" in message
    assert try_device_info() is None
    with pytest.raises(HtpEdgeError, match="unknown binding"):
        load_cuda("cupy")


# -- pycuda ----------------------------------------------------------------------------------
def make_fake_pycuda_driver() -> types.ModuleType:
    drv = types.ModuleType("pycuda.driver")
    drv._calls = []

    class Error(Exception):
        pass

    class MemoryError_(Error):
        pass

    class Pinned(bytearray):
        def get_device_pointer(self):
            return 0xD000

        def free(self):
            drv._calls.append("free_host")

    class Alloc:
        def __init__(self, n):
            self.n = n

        def __int__(self):
            return 0xB000

        def free(self):
            drv._calls.append("free_device")

    class Context:
        def push(self):
            drv._calls.append("push")

        def pop(self):
            drv._calls.append("pop")

        def detach(self):
            drv._calls.append("detach")

    class Device:
        def __init__(self, index):
            self.index = index

        def name(self):
            return "NVIDIA GeForce RTX 4090"

        def compute_capability(self):
            return (8, 9)

        def get_attribute(self, attr):
            return 0

        def total_memory(self):
            return 24 << 30

        def retain_primary_context(self):
            return Context()

    class Stream:
        handle = 0x5000

        def synchronize(self):
            drv._calls.append("sync")

    class Event:
        t = 0.0

        def record(self, stream):
            Event.t += 1.0
            self.t = Event.t

        def synchronize(self):
            pass

        def time_since(self, start):
            return self.t - start.t

    def mem_alloc(n):
        if n > 1 << 40:
            raise MemoryError_("cuMemAlloc failed: out of memory")
        return Alloc(n)

    def pagelocked_empty(shape, dtype, mem_flags=None):
        drv._calls.append(("pagelocked_empty", mem_flags))
        return np.ndarray(shape, dtype, buffer=Pinned(int(np.prod(shape)) * np.dtype(dtype).itemsize))

    drv.Error, drv.Device, drv.Stream, drv.Event = Error, Device, Stream, Event
    drv.mem_alloc, drv.pagelocked_empty = mem_alloc, pagelocked_empty
    drv.init = lambda: drv._calls.append("init")
    drv.get_version = lambda: (12, 8, 0)
    drv.get_driver_version = lambda: 12080
    drv.device_attribute = types.SimpleNamespace(INTEGRATED="INTEGRATED")
    drv.host_alloc_flags = types.SimpleNamespace(DEVICEMAP=2)
    drv.memcpy_htod_async = lambda dst, src, stream: drv._calls.append(("htod", dst))
    drv.memcpy_dtoh_async = lambda dst, src, stream: drv._calls.append(("dtoh", src))
    return drv


def test_pycuda_implementation():
    drv = make_fake_pycuda_driver()
    mem = PyCudaMem(drv)
    info = mem.device_info()
    assert (info.cc, info.cuda_runtime, info.binding) == ("8.9", "12.8", "pycuda")
    host = mem.alloc_host((4,), np.float32, mapped=True)
    assert host.device_ptr == 0xD000 and host.array.shape == (4,)
    dev = mem.alloc_device(16)
    stream = mem.create_stream()
    start, end = mem.create_event(), mem.create_event()
    mem.record_event(start, stream)
    mem.copy_htod_async(dev, host, stream)
    mem.copy_dtoh_async(host, dev, stream)
    mem.record_event(end, stream)
    mem.synchronize(stream)
    assert mem.elapsed_ms(start, end) == 1.0 and stream.handle == 0x5000
    mem.free_host(host)
    mem.free_device(dev)
    mem.close()
    assert drv._calls[:2] == ["init", "push"] and drv._calls[-2:] == ["pop", "detach"]
    assert ("htod", 0xB000) in drv._calls and ("dtoh", 0xB000) in drv._calls


def test_pycuda_errors_and_no_graphs():
    mem = PyCudaMem(make_fake_pycuda_driver())
    with pytest.raises(HtpEdgeError, match=r"CUDA \(pycuda\): mem_alloc failed.*out of memory"):
        mem.alloc_device(1 << 41)
    with pytest.raises(HtpEdgeError, match="CUDA graphs: not supported with pycuda"):
        mem.capture_graph(mem.create_stream(), lambda: None)


def test_cuda_version_formatting():
    assert cuda_mem._cuda_version(12060) == "12.6" and cuda_mem._cuda_version(13020) == "13.2"
    assert cuda_mem._cuda_version(0) is None
