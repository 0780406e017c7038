"""TensorRTRunner against the fake tensorrt (10.3 and 11.4) and the fake cudart."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from htp_edge.engines import BuildConfig, build_engine
from htp_edge.errors import HtpEdgeError
from htp_edge.runtime.backends import make_runner
from htp_edge.runtime.cuda_mem import CudaPythonMem
from tests.engines.fake_cudart import calls_named
from tests.engines.helpers import ORIN, RTX, SHAPE_IN, tiny_forward


@pytest.fixture
def engine(fake_trt, tiny_onnx, tmp_path):
    fake_trt._state.compute = lambda inputs: {"poses_3d": tiny_forward(inputs["keypoints_2d"])}
    return build_engine(tiny_onnx, tmp_path / "tiny.engine", BuildConfig.from_profile("orin-agx"), device=ORIN).engine


def _feed(seed: int = 0) -> dict:
    return {"keypoints_2d": np.random.default_rng(seed).uniform(0, 1000, SHAPE_IN).astype(np.float32)}


def _trt_calls(trt, name):
    return [args for n, args in trt._calls if n == name]


def test_buffers_once_and_execute_per_call(fake_trt, cudart, engine):
    runner = make_runner("tensorrt", engine)
    assert runner.backend == "tensorrt" and not runner.is_active
    with runner:
        assert [s.name for s in runner.input_specs()] == ["keypoints_2d"]
        assert [(s.name, s.shape) for s in runner.output_specs()] == [("poses_3d", (1, 9, 17, 3))]
        for seed in range(3):
            feed = _feed(seed)
            out = runner.infer(feed)
            np.testing.assert_allclose(out["poses_3d"], tiny_forward(feed["keypoints_2d"]))
            assert set(runner.last_timings) == {"h2d", "compute", "d2h"}
            assert all(v == pytest.approx(0.5) for v in runner.last_timings.values())
        stream = runner.stream.handle
    assert len(calls_named(cudart, "cudaMalloc")) == 2 and len(calls_named(cudart, "cudaMallocHost")) == 2
    bound = sorted(a[0] for a in _trt_calls(fake_trt, "IExecutionContext.set_tensor_address"))
    assert bound == ["keypoints_2d", "poses_3d"]
    assert _trt_calls(fake_trt, "IExecutionContext.execute_async_v3") == [(stream,)] * 3
    assert len(calls_named(cudart, "cudaMemcpyAsync")) == 6
    assert all(not live for live in cudart._live.values())  # deactivate freed everything


def test_outputs_are_copies(fake_trt, cudart, engine):
    with make_runner("tensorrt", engine) as runner:
        first = runner.infer(_feed(1))["poses_3d"]
        kept = first.copy()
        runner.infer(_feed(2))
        np.testing.assert_array_equal(first, kept)


def test_feed_is_validated(fake_trt, cudart, engine):
    with make_runner("tensorrt", engine) as runner:
        with pytest.raises(HtpEdgeError, match=r"missing \['keypoints_2d'\], unexpected \['x'\]"):
            runner.infer({"x": np.zeros(SHAPE_IN, np.float32)})
        with pytest.raises(HtpEdgeError,
                           match=r"Expected shape \(1, 9, 17, 2\) dtype float32, got shape \(1, 8, 17, 2\)"):
            runner.infer({"keypoints_2d": np.zeros((1, 8, 17, 2), np.float32)})
        with pytest.raises(HtpEdgeError, match="dtype float64"):
            runner.infer({"keypoints_2d": np.zeros(SHAPE_IN)})
    with pytest.raises(HtpEdgeError, match="not active"):
        runner.infer(_feed())


def test_cuda_graph_replays_the_execute_call(fake_trt, cudart, engine):
    with make_runner("tensorrt", engine, use_cuda_graph=True) as runner:
        for seed in range(4):
            runner.infer(_feed(seed))
    # call 1 runs normally (deferred init), call 2 runs and captures, calls 3-4 launch the graph
    assert len(_trt_calls(fake_trt, "IExecutionContext.execute_async_v3")) == 3
    assert len(calls_named(cudart, "cudaStreamBeginCapture")) == 1
    assert len(calls_named(cudart, "cudaGraphLaunch")) == 2
    assert len(calls_named(cudart, "cudaGraphExecDestroy")) == 1


def test_zero_copy_inputs_skip_the_h2d_copy(fake_trt, cudart, engine):
    with make_runner("tensorrt", engine, zero_copy_inputs=True) as runner:
        feed = _feed(3)
        out = runner.infer(feed)
        host_ptr = runner._inputs["keypoints_2d"].host.ptr
    np.testing.assert_allclose(out["poses_3d"], tiny_forward(feed["keypoints_2d"]))
    kinds = [a[3] for a in calls_named(cudart, "cudaMemcpyAsync")]
    assert kinds == [cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost]
    assert ("keypoints_2d", host_ptr) in _trt_calls(fake_trt, "IExecutionContext.set_tensor_address")
    assert len(calls_named(cudart, "cudaHostAlloc")) == 1


def test_injected_cuda_mem_and_execute_failure(fake_trt, cudart, engine):
    mem = CudaPythonMem(cudart)
    runner = make_runner("tensorrt", engine, cuda=mem)
    runner.activate()
    assert runner.cuda is mem
    fake_trt._state.execute_returns = False
    with pytest.raises(HtpEdgeError, match="execute_async_v3 failed"):
        runner.infer(_feed())
    runner.deactivate()
    assert all(not live for live in cudart._live.values())


def test_engine_for_another_gpu_is_refused_and_nothing_leaks(fake_trt, cudart, tiny_onnx, tmp_path):
    path = build_engine(tiny_onnx, tmp_path / "rtx.engine", BuildConfig(), device=RTX).engine
    runner = make_runner("tensorrt", path)
    with pytest.raises(HtpEdgeError, match="built for another GPU"):
        runner.activate()
    assert not runner.is_active and all(not live for live in cudart._live.values())


def test_cuda_failure_during_allocation_releases_resources(fake_trt, cudart, engine):
    cudart._fail["cudaMalloc"] = cudart.cudaError_t.cudaErrorMemoryAllocation
    with pytest.raises(HtpEdgeError, match="cudaErrorMemoryAllocation"):
        make_runner("tensorrt", engine).activate()
    assert all(not live for live in cudart._live.values())


def test_missing_bindings_and_bad_options(fake_trt, engine, monkeypatch):
    for name in ("cuda", "cuda.bindings", "cuda.bindings.runtime", "pycuda", "pycuda.driver"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(HtpEdgeError, match="CUDA bindings: not installed"):
        make_runner("tensorrt", engine).activate()
    with pytest.raises(HtpEdgeError, match=r"unknown option\(s\) \['use_graph'\]"):
        make_runner("tensorrt", engine, use_graph=True)
    with pytest.raises(HtpEdgeError, match="unknown cuda binding"):
        make_runner("tensorrt", engine, cuda="cupy")
