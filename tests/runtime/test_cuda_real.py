"""The cuda-python memory layer and the TensorRT runner's CUDA side on a real GPU.

These tests run only where a CUDA GPU and cuda-python (``from cuda.bindings import runtime``) are
present; everywhere else the whole module is skipped at collection with the reason. They are
marked ``gpu`` (deselect with ``-m "not gpu"``).

TensorRT is not needed: the runner loads an engine through the fake ``tensorrt`` of
tests/engines/fake_tensorrt.py whose execution context does real GPU work. Its
``execute_async_v3(stream)`` enqueues device-to-device ``cudaMemcpyAsync`` copies on the runner's
stream between the addresses the runner bound with ``set_tensor_address``, so the outputs are
right only if the runner's buffers, copies, stream, graph capture and zero-copy inputs are.
"""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from htp_edge.artifacts.manifest import FORMAT
from htp_edge.artifacts.naming import manifest_path
from htp_edge.errors import HtpEdgeError
from htp_edge.runtime.backends import make_runner
from htp_edge.runtime.cuda_mem import CudaPythonMem, DeviceBuffer, import_cudart, load_cuda, try_device_info
from tests.engines.fake_tensorrt import FLAVOURS, make_fake_tensorrt

pytestmark = pytest.mark.gpu


def _probe():
    """``(cudart, None)`` when cuda-python sees at least one GPU, else ``(None, why not)``."""
    try:
        cudart = import_cudart()
    except Exception as exc:  # noqa: BLE001 - ImportError, or bindings that cannot load
        return None, f"cuda-python is not importable ({type(exc).__name__}: {exc})"
    try:
        err, count = cudart.cudaGetDeviceCount()
    except Exception as exc:  # noqa: BLE001
        return None, f"cudaGetDeviceCount raised {type(exc).__name__}: {exc}"
    if err != cudart.cudaError_t.cudaSuccess:
        return None, f"cudaGetDeviceCount returned {err!r} (no driver or no device)"
    if count < 1:
        return None, "cudaGetDeviceCount found no device"
    return cudart, None


CUDART, WHY_NOT = _probe()
if CUDART is None:
    pytest.skip(f"needs a CUDA GPU and cuda-python: {WHY_NOT}", allow_module_level=True)


# -- fixtures and helpers --------------------------------------------------------------------
@pytest.fixture(scope="module")
def cudart():
    return CUDART


@pytest.fixture(scope="module")
def mem(cudart):
    mem = CudaPythonMem(cudart)
    mem.call("cudaSetDevice", 0)
    return mem


class Resources:
    """What one test allocated; :meth:`release` (also run at teardown) frees it, newest first."""

    def __init__(self, mem: CudaPythonMem) -> None:
        self.mem, self.held = mem, []

    def _keep(self, free, obj):
        self.held.append((free, obj))
        return obj

    def host(self, shape, dtype, mapped: bool = False):
        return self._keep(self.mem.free_host, self.mem.alloc_host(shape, dtype, mapped=mapped))

    def device(self, nbytes: int):
        return self._keep(self.mem.free_device, self.mem.alloc_device(nbytes))

    def stream(self):
        return self._keep(self.mem.destroy_stream, self.mem.create_stream())

    def event(self):
        return self._keep(self.mem.destroy_event, self.mem.create_event())

    def release(self) -> None:
        while self.held:
            free, obj = self.held.pop()
            free(obj)


@pytest.fixture
def res(mem):
    resources = Resources(mem)
    yield resources
    resources.release()


def _attributes(cudart, ptr: int):
    """``cudaPointerGetAttributes(ptr)``: ``.type`` is a ``cudaMemoryType`` member."""
    err, attrs = cudart.cudaPointerGetAttributes(ptr)
    assert err == cudart.cudaError_t.cudaSuccess, f"cudaPointerGetAttributes({ptr:#x}) -> {err!r}"
    return attrs


def _memory_type(cudart, name: str):
    return getattr(cudart.cudaMemoryType, f"cudaMemoryType{name}")


def _assert_freed(cudart, ptrs) -> None:
    """Each pointer is unknown to CUDA again (freed, not leaked)."""
    for ptr in ptrs:
        assert _attributes(cudart, ptr).type == _memory_type(cudart, "Unregistered"), hex(ptr)


def _random(shape, dtype, seed: int) -> np.ndarray:
    """Random bit patterns of ``dtype`` (NaNs and infs included): compare with ``tobytes``."""
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    return np.random.default_rng(seed).integers(0, 256, nbytes, dtype=np.uint8).view(dtype).reshape(shape)


def _poison(buf) -> None:
    buf.array.view(np.uint8)[...] = 0xAB


# -- the device ------------------------------------------------------------------------------
def test_device_info_of_the_real_device(mem, cudart):
    info = mem.device_info(0)
    assert info.name.strip() and "\0" not in info.name
    assert info.compute_capability >= (7, 0)
    assert info.cc == f"{info.compute_capability[0]}.{info.compute_capability[1]}"
    for version in (info.cuda_runtime, info.cuda_driver):
        assert re.fullmatch(r"\d+\.\d", version) and int(version.split(".")[0]) >= 11, version
    assert info.total_memory > 1 << 30
    assert isinstance(info.integrated, bool)
    assert (info.index, info.binding) == (0, "cuda-python")
    assert mem.device_info() == info  # index None -> cudaGetDevice, set to 0 by the fixture
    assert try_device_info("cuda-python", 0) == info


def test_device_info_agrees_with_torch(mem):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA here")
    info, prop = mem.device_info(0), torch.cuda.get_device_properties(0)
    assert info.name == prop.name
    assert info.compute_capability == (prop.major, prop.minor)
    assert info.total_memory == prop.total_memory


def test_load_cuda_gives_cuda_python_on_the_device(cudart):
    mem = load_cuda("cuda-python", 0)
    try:
        assert isinstance(mem, CudaPythonMem) and mem.cudart is cudart and mem.supports_graphs
        err, device = cudart.cudaGetDevice()
        assert (err, device) == (cudart.cudaError_t.cudaSuccess, 0)
    finally:
        mem.close()


# -- memory, copies, events ------------------------------------------------------------------
SHAPES = [(1,), (7,), (3, 5), (2, 9, 17, 2), (64, 1024, 16)]


@pytest.mark.parametrize("dtype", [np.float32, np.float16], ids=["fp32", "fp16"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_pinned_round_trip_through_the_device(mem, cudart, res, shape, dtype):
    host_in, host_out = res.host(shape, dtype), res.host(shape, dtype)
    dev = res.device(host_in.nbytes)
    stream, start, between, end = res.stream(), res.event(), res.event(), res.event()
    assert host_in.array.shape == shape and host_in.array.dtype == dtype and not host_in.mapped
    assert host_in.array.ctypes.data == host_in.ptr and dev.nbytes == host_in.nbytes
    assert _attributes(cudart, host_in.ptr).type == _memory_type(cudart, "Host")
    assert _attributes(cudart, dev.ptr).type == _memory_type(cudart, "Device")
    assert _attributes(cudart, dev.ptr).device == 0
    data = _random(shape, dtype, seed=len(shape))
    host_in.array[...] = data
    _poison(host_out)
    mem.record_event(start, stream)
    mem.copy_htod_async(dev, host_in, stream)
    mem.record_event(between, stream)
    mem.copy_dtoh_async(host_out, dev, stream)
    mem.record_event(end, stream)
    mem.synchronize(stream)
    assert host_out.array.tobytes() == data.tobytes()
    for a, b in ((start, between), (between, end), (start, end)):
        ms = mem.elapsed_ms(a, b)
        assert math.isfinite(ms) and ms >= 0.0
    assert mem.elapsed_ms(start, end) >= mem.elapsed_ms(start, between)
    ptrs = [host_in.ptr, host_out.ptr, dev.ptr]
    res.release()
    _assert_freed(cudart, ptrs)


def test_mapped_host_memory_is_zero_copy(mem, cudart, res):
    shape = (4, 33)
    mapped = res.host(shape, np.float32, mapped=True)
    plain, back = res.host(shape, np.float32), res.host(shape, np.float32)
    stream = res.stream()
    assert mapped.mapped and mapped.device_ptr and not plain.mapped
    attrs = _attributes(cudart, mapped.ptr)
    assert attrs.type == _memory_type(cudart, "Host") and int(attrs.devicePointer) == mapped.device_ptr
    on_device = DeviceBuffer(ptr=mapped.device_ptr, nbytes=mapped.nbytes)
    # the host writes, the GPU reads through the device pointer
    mapped.array[...] = np.random.default_rng(1).standard_normal(shape, dtype=np.float32)
    _poison(plain)
    mem.copy_dtoh_async(plain, on_device, stream)
    mem.synchronize(stream)
    np.testing.assert_array_equal(plain.array, mapped.array)
    # the GPU writes through the device pointer, the host sees it without a copy back
    back.array[...] = np.random.default_rng(2).standard_normal(shape, dtype=np.float32)
    mem.copy_htod_async(on_device, back, stream)
    mem.synchronize(stream)
    np.testing.assert_array_equal(mapped.array, back.array)
    ptrs = [mapped.ptr, plain.ptr, back.ptr]
    res.release()
    _assert_freed(cudart, ptrs)


def test_absurd_allocation_is_a_clear_error_and_not_sticky(mem, cudart, res):
    with pytest.raises(HtpEdgeError) as raised:
        mem.alloc_device(1 << 50)  # 1 PiB
    message = str(raised.value)
    match = re.search(r"CUDA: cudaMalloc failed\. Expected cudaSuccess, got (cudaError\w+) \((\d+)\)",
                      message)
    assert match, message
    assert match.group(1) == "cudaErrorMemoryAllocation"
    assert int(match.group(2)) == int(cudart.cudaError_t.cudaErrorMemoryAllocation)
    cudart.cudaGetLastError()  # clears the recorded error (an OOM does not poison the context)
    assert cudart.cudaGetLastError()[0] == cudart.cudaError_t.cudaSuccess
    # the process can still allocate and copy
    host_in, host_out = res.host((256,), np.float32), res.host((256,), np.float32)
    dev, stream = res.device(1 << 20), res.stream()
    host_in.array[...] = np.arange(256, dtype=np.float32)
    _poison(host_out)
    mem.copy_htod_async(dev, host_in, stream)
    mem.copy_dtoh_async(host_out, dev, stream)
    mem.synchronize(stream)
    np.testing.assert_array_equal(host_out.array, host_in.array)
    res.release()
    assert cudart.cudaDeviceSynchronize()[0] == cudart.cudaError_t.cudaSuccess


def test_cuda_graph_replays_the_captured_copies(mem, cudart, res):
    shape = (5, 17, 3)
    host_in, host_out = res.host(shape, np.float32), res.host(shape, np.float32)
    dev, stream = res.device(host_in.nbytes), res.stream()
    host_in.array[...] = 1.0
    _poison(host_out)
    poisoned = host_out.array.tobytes()

    def work():
        mem.copy_htod_async(dev, host_in, stream)
        mem.copy_dtoh_async(host_out, dev, stream)

    assert mem.supports_graphs
    graph = mem.capture_graph(stream, work)
    try:
        mem.synchronize(stream)
        assert host_out.array.tobytes() == poisoned  # captured, not executed
        for seed in (3, 4):
            value = np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)
            host_in.array[...] = value  # the graph reads the same pinned buffer, new contents
            mem.launch_graph(graph, stream)
            mem.synchronize(stream)
            np.testing.assert_array_equal(host_out.array, value)
    finally:
        mem.destroy_graph(graph)
    ptrs = [host_in.ptr, host_out.ptr, dev.ptr]
    res.release()
    _assert_freed(cudart, ptrs)
    assert cudart.cudaDeviceSynchronize()[0] == cudart.cudaError_t.cudaSuccess


# -- the TensorRT runner over a fake engine that does real GPU work ---------------------------
IO = [("a", "INPUT", "FLOAT", (3, 5)), ("b", "INPUT", "FLOAT", (3, 5)), ("h", "INPUT", "HALF", (1,)),
      ("y", "OUTPUT", "FLOAT", (2, 3, 5)), ("h_out", "OUTPUT", "HALF", (1,))]
DTYPES = {"FLOAT": np.float32, "HALF": np.float16}
SPECS = {name: (DTYPES[dt], shape) for name, _, dt, shape in IO}
# the engine's "layers": y = stack(a, b), h_out = h, as (source, destination, byte offset)
COPIES = [("a", "y", 0), ("b", "y", 15 * 4), ("h", "h_out", 0)]


def _nbytes(name: str) -> int:
    dtype, shape = SPECS[name]
    return math.prod(shape) * np.dtype(dtype).itemsize


def _feed(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(SPECS[name][1]).astype(SPECS[name][0]) for name in ("a", "b", "h")}


def _expected(feed: dict) -> dict:
    return {"y": np.stack([feed["a"], feed["b"]]), "h_out": feed["h"]}


@pytest.fixture(params=sorted(FLAVOURS))
def copy_trt(request, cudart):
    """A fake tensorrt whose ``execute_async_v3`` copies inputs to outputs on the GPU."""
    trt = make_fake_tensorrt(request.param)
    trt._state.io = list(IO)
    trt._executions = []
    kind = cudart.cudaMemcpyKind.cudaMemcpyDeviceToDevice

    def execute_async_v3(self, stream_handle):
        trt._calls.append(("IExecutionContext.execute_async_v3", (stream_handle,)))
        trt._executions.append(stream_handle)
        for src, dst, offset in COPIES:
            (err,) = cudart.cudaMemcpyAsync(self._addresses[dst] + offset, self._addresses[src],
                                            _nbytes(src), kind, stream_handle)
            if err != cudart.cudaError_t.cudaSuccess:
                return False
        return True

    trt.IExecutionContext.execute_async_v3 = execute_async_v3
    return trt


def _write_engine(trt, path, compute_capability: str):
    """A plan from the fake builder (I/O = ``IO``) and a manifest naming ``compute_capability``."""
    builder = trt.Builder(trt.Logger())
    plan = builder.build_serialized_network(builder.create_network(0), builder.create_builder_config())
    path.write_bytes(bytes(plan))
    manifest_path(path).write_text(json.dumps({
        "format": FORMAT, "tensorrt": {"version": trt.__version__},
        "device": {"name": "test GPU", "compute_capability": compute_capability}}))
    return path


@pytest.fixture
def engine(copy_trt, mem, tmp_path):
    return _write_engine(copy_trt, tmp_path / "copy.engine", mem.device_info(0).cc)


@pytest.mark.parametrize("use_cuda_graph", [False, True], ids=["plain", "graph"])
@pytest.mark.parametrize("zero_copy_inputs", [False, True], ids=["copied", "zero-copy"])
def test_runner_end_to_end_on_the_gpu(mem, cudart, copy_trt, engine, use_cuda_graph, zero_copy_inputs):
    runner = make_runner("tensorrt", engine, cuda=mem, trt=copy_trt, use_cuda_graph=use_cuda_graph,
                         zero_copy_inputs=zero_copy_inputs)
    runner.activate()
    try:
        assert runner.cuda is mem and runner.is_active
        assert [(s.name, s.shape, s.dtype) for s in runner.input_specs()] == [
            ("a", (3, 5), np.float32), ("b", (3, 5), np.float32), ("h", (1,), np.float16)]
        bound = {args[0]: args[1] for name, args in copy_trt._calls
                 if name == "IExecutionContext.set_tensor_address"}
        bindings = {**runner._inputs, **runner._outputs}
        assert bound == {name: b.device_ptr for name, b in bindings.items()}
        for name, binding in bindings.items():
            is_mapped = zero_copy_inputs and name in runner._inputs
            assert binding.host.mapped == is_mapped and (binding.device is None) == is_mapped
            kind = "Host" if is_mapped else "Device"
            assert _attributes(cudart, binding.device_ptr).type == _memory_type(cudart, kind), name
        for seed in range(5):
            feed = _feed(seed)
            out = runner.infer(feed)
            assert set(out) == {"y", "h_out"}
            for name, value in _expected(feed).items():
                assert out[name].dtype == value.dtype and out[name].shape == value.shape
                np.testing.assert_array_equal(out[name], value, err_msg=f"{name}, call {seed + 1}")
            assert set(runner.last_timings) == {"h2d", "compute", "d2h"}
            assert all(math.isfinite(v) and v >= 0.0 for v in runner.last_timings.values())
        stream = runner.stream.handle
        ptrs = [p for b in bindings.values() for p in (b.host.ptr, b.device.ptr if b.device else None) if p]
        assert (runner._graph is not None) == use_cuda_graph
    finally:
        runner.deactivate()  # raises the first CUDA error of the release, if any
    assert not runner.is_active and runner.stream is None and runner.cuda is None
    # with a graph: call 1 executes, call 2 executes and captures, calls 3-5 replay the graph
    assert copy_trt._executions == [stream] * (3 if use_cuda_graph else 5)
    _assert_freed(cudart, ptrs)
    assert cudart.cudaDeviceSynchronize()[0] == cudart.cudaError_t.cudaSuccess


def test_runner_loads_cuda_python_itself(cudart, copy_trt, engine):
    with make_runner("tensorrt", engine, cuda="cuda-python", trt=copy_trt, use_cuda_graph=True) as runner:
        assert isinstance(runner.cuda, CudaPythonMem) and runner.cuda.cudart is cudart
        for seed in (10, 11, 12):
            feed = _feed(seed)
            out = runner.infer(feed)
            np.testing.assert_array_equal(out["y"], _expected(feed)["y"])
            np.testing.assert_array_equal(out["h_out"], _expected(feed)["h_out"])
        ptrs = [b.host.ptr for b in runner._inputs.values()] + [b.device.ptr for b in runner._outputs.values()]
    assert not runner.is_active
    _assert_freed(cudart, ptrs)


def test_runner_refuses_an_engine_for_another_gpu_before_allocating(mem, copy_trt, tmp_path):
    cc = mem.device_info(0).cc
    other = "5.3" if cc != "5.3" else "8.7"
    path = _write_engine(copy_trt, tmp_path / "other.engine", other)
    runner = make_runner("tensorrt", path, cuda=mem, trt=copy_trt)
    with pytest.raises(HtpEdgeError, match=rf"built for another GPU\. Expected compute capability "
                                           rf"{re.escape(cc)} \(this GPU\), got {re.escape(other)}"):
        runner.activate()
    assert not runner.is_active and runner.stream is None and not runner._inputs
    assert copy_trt._executions == []
