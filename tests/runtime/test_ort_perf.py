"""ONNX Runtime session settings, the IOBinding path, the profiler summary and the gap bench."""
from __future__ import annotations

import numpy as np
import pytest

from htp_edge.artifacts.resources import checkpoints_dir
from htp_edge.bench.gap import GapConfig, measure_gap, recorded_feed
from htp_edge.bench.gemm import GemmRateConfig, gemm_shapes, is_batched_product, measure_rates
from htp_edge.bench.profile import node_macs, profile_graph, summarize_profile
from htp_edge.bench.run import walking_keypoints
from htp_edge.errors import HtpEdgeError
from htp_edge.runtime.backends.onnxruntime_backend import SPINNING_KEY, OnnxRuntimeRunner, OrtSessionConfig
from htp_edge.runtime.lifter import Lifter

GRAPH = checkpoints_dir() / "htp-small_c1_h1_flip.onnx"


@pytest.fixture(scope="module")
def feed():
    with Lifter.load(GRAPH, cpu_graph=False) as lifter:
        return recorded_feed(lifter, walking_keypoints(lifter.frames))


@pytest.mark.parametrize("bad", [{"threads": -1}, {"threads": True}, {"spinning": "yes"}, {"optimization": "max"}])
def test_bad_settings_are_refused(bad):
    with pytest.raises(HtpEdgeError, match="onnxruntime backend"):
        OrtSessionConfig(**bad)


def test_settings_reach_the_session_options():
    import onnxruntime as ort
    opts = OrtSessionConfig(threads=1, spinning=False, optimization="basic").session_options(ort)
    assert opts.intra_op_num_threads == 1 and opts.inter_op_num_threads == 1
    assert opts.get_session_config_entry(SPINNING_KEY) == "0"
    assert opts.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    default = OrtSessionConfig().session_options(ort)
    assert default.intra_op_num_threads == 0
    with pytest.raises(Exception):  # no entry: ONNX Runtime's default spinning
        default.get_session_config_entry(SPINNING_KEY)


def test_planner_runs_on_one_thread_without_spinning_and_denoiser_keeps_its_settings():
    with Lifter.load(GRAPH, threads=2, spinning=True, cpu_graph=False) as lifter:
        planner, denoiser = lifter.graphs.planner.config, lifter.graphs.denoiser.config
    assert (planner.threads, planner.spinning) == (1, False)
    assert (denoiser.threads, denoiser.spinning) == (2, True)


def test_thread_settings_do_not_change_poses():
    kp = walking_keypoints(40)
    with Lifter.load(GRAPH, cpu_graph=False) as a, Lifter.load(GRAPH, threads=1, spinning=False,
                                                                 cpu_graph=False) as b:
        np.testing.assert_allclose(a.lift(kp, 1000, 1000), b.lift(kp, 1000, 1000), atol=1e-5)


def test_io_binding_equals_plain_run_and_returns_fresh_arrays(feed):
    with OnnxRuntimeRunner(GRAPH) as plain, OnnxRuntimeRunner(GRAPH, io_binding=True) as bound:
        ref = plain.infer(feed)
        first = bound.infer(feed)
        moved = dict(feed, noisy_pose=feed["noisy_pose"][::-1].copy())
        second = bound.infer(moved)
        assert first.keys() == ref.keys()
        for name in ref:
            np.testing.assert_array_equal(first[name], ref[name])
        assert not np.shares_memory(first["pose_3d"], second["pose_3d"])
        np.testing.assert_array_equal(second["pose_3d"], plain.infer(moved)["pose_3d"])


def test_profile_counts_the_graph_macs_and_times_every_op(feed):
    from htp_edge.artifacts.onnx_meta import read_graph_meta
    meta = read_graph_meta(GRAPH)
    summary = summarize_profile(profile_graph(GRAPH, feed, runs=2, warmup=1))
    expected = meta.macs_per_pass * meta.batch
    assert abs(summary["macs"] - expected) / expected < 0.01  # analytic count vs profiled shapes
    assert sum(r["share_pct"] for r in summary["ops"].values()) == pytest.approx(100.0)
    assert 0 < summary["matmul_ms"] < summary["kernel_ms"]


def test_node_macs_from_shapes():
    assert node_macs("MatMul", [(2, 7, 128), (128, 384)], [(2, 7, 384)]) == 2 * 7 * 384 * 128
    assert node_macs("Gemm", [(14, 128), (384, 128)], [(14, 384)]) == 14 * 384 * 128
    assert node_macs("FusedMatMul", [(3, 4, 17, 32), (3, 4, 17, 32)], [(3, 4, 17, 17)]) == 3 * 4 * 17 * 17 * 32
    assert node_macs("Softmax", [(3, 4)], [(3, 4)]) == 0
    # fused attention: qkv GEMM + q k^T + a v
    assert node_macs("Attention", [(3, 7, 128), (128, 384), (384,)], [(3, 7, 128)]) == \
        3 * 7 * 128 * 384 + 2 * 3 * 7 * 7 * 128
    assert node_macs("Attention", [(3, 7, 128), (384,)], [(3, 7, 128)]) == 3 * 7 * 128 * 384 + 2 * 3 * 7 * 7 * 128


def test_gemm_shapes_cover_the_profiled_macs_and_rates_are_measured(feed):
    nodes = profile_graph(GRAPH, feed, runs=1, warmup=0)
    shapes = gemm_shapes(nodes)
    weight_macs = sum(n.macs for n in nodes if n.macs and not is_batched_product(n))
    assert sum(s.macs for s in shapes) == weight_macs
    assert 0.8 * summarize_profile(nodes)["macs"] < weight_macs < summarize_profile(nodes)["macs"]
    calls = []
    report = measure_rates(lambda: calls.append(1), 10 ** 6, shapes[:3], GemmRateConfig(iters=2, warmup=1, square=64))
    assert len(calls) == 3 and all(v > 0 for v in report["gmacs_per_s"].values())
    rates = report["gmacs_per_s"]
    assert report["roofline_gmacs_per_s"] == max(rates["square"], rates["model_shapes"])  # no ORT reference given


def test_the_roofline_includes_onnx_runtimes_own_gemm():
    import importlib.util
    from pathlib import Path
    script = Path(__file__).resolve().parents[2] / "scripts" / "bench_gemm.py"
    spec = importlib.util.spec_from_file_location("htp_edge_script_bench_gemm", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    square = module.ort_square_runner(64, threads=1)
    a = np.asarray(square()[0])
    assert a.shape == (64, 64) and np.isfinite(a).all()
    report = measure_rates(lambda: None, 10 ** 6, [], GemmRateConfig(iters=2, warmup=0, square=64, settle_ms=0),
                           run_square_ort=square)
    rates = report["gmacs_per_s"]
    assert report["roofline_gmacs_per_s"] == max(rates["square"], rates["square_ort"]) > 0  # no model shapes
    assert report["graph_vs_roofline_pct"] == pytest.approx(100 * rates["graph"] / report["roofline_gmacs_per_s"])


def test_gap_bench_compares_the_same_feed():
    with Lifter.load(GRAPH, cpu_graph=False) as lifter:
        report = measure_gap(GRAPH, {"runtime": lifter}, GapConfig(iters=2, warmup=1, settle_ms=0))
    assert report["bare"]["n"] == 2
    r = report["runtime"]
    assert r["max_abs_diff_vs_bare"] <= 1e-6  # the recorded feed is what the runtime ran
    assert r["denoise_vs_bare"] == pytest.approx(r["denoise_p50_ms"] / report["bare"]["p50_ms"])
    assert r["total_p50_ms"] >= r["denoise_p50_ms"]
