"""The OpenVINO backend: the runner protocol, parity with ONNX Runtime on the bundled graphs,
Lifter.load / htp-edge bench with backend="openvino", one clear line when openvino is absent."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from htp_edge.artifacts import names
from htp_edge.artifacts.naming import GraphLayout, bundled_onnx, planner_onnx
from htp_edge.bench.run import walking_keypoints
from htp_edge.errors import HtpEdgeError
from htp_edge.pose.normalize import normalize_screen
from htp_edge.runtime.backends import ONNX_BACKENDS, backend_names, make_runner
from htp_edge.runtime.compare import compare_runners

HTP = bundled_onnx("htp-small", GraphLayout())
D3DP = bundled_onnx("d3dp-small", GraphLayout())


def test_registered_as_an_onnx_backend():
    assert "openvino" in backend_names() and "openvino" in ONNX_BACKENDS
    runner = make_runner("openvino", HTP)  # creating touches nothing
    assert runner.backend == "openvino" and not runner.is_active


def test_missing_openvino_is_one_clear_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino -> ImportError
    runner = make_runner("openvino", HTP)
    with pytest.raises(HtpEdgeError, match=r"openvino is not installed.*pip install htp_edge\[openvino\]") as err:
        runner.activate()
    assert "\n" not in str(err.value) and not runner.is_active


def test_bad_options_are_refused_before_anything_loads():
    with pytest.raises(HtpEdgeError, match="unknown device"):
        make_runner("openvino", HTP, device="TPU")
    with pytest.raises(HtpEdgeError, match="threads must be an integer"):
        make_runner("openvino", HTP, threads=-1)


@pytest.fixture(scope="module")
def ov():
    return pytest.importorskip("openvino")


def _feeds(count: int = 2) -> list[dict[str, np.ndarray]]:
    """Denoiser feeds of the bundled htp-small graph: real clips, the plan from the planner graph."""
    ort = make_runner("onnxruntime", planner_onnx(HTP))
    ort.activate()
    feeds = []
    for seed in range(count):
        clip = normalize_screen(walking_keypoints(27, seed=seed), 1000, 1000)[None]  # (1, F, J, 2)
        plan = ort.infer({names.KEYPOINTS_2D: clip})
        rng = np.random.default_rng(seed)
        feeds.append({names.KEYPOINTS_2D: np.concatenate([clip, clip]),  # (2, F, J, 2): flip x clip
                      names.NOISY_POSE: rng.standard_normal((2, 27, 17, 3), dtype=np.float32),
                      names.TIMESTEP: np.full((2,), 999.0, np.float32),
                      **{k: np.concatenate([v, v]) for k, v in plan.items()}})
    return feeds


def test_runner_protocol(ov, tmp_path):
    runner = make_runner("openvino", HTP, threads=1)
    with pytest.raises(HtpEdgeError, match="openvino backend: runner is not active"):
        runner.input_specs()
    with pytest.raises(HtpEdgeError, match="not active"):
        runner.infer(_feeds(1)[0])
    ort = make_runner("onnxruntime", HTP)
    with runner, ort:
        assert runner.is_active
        assert runner.input_specs() == ort.input_specs() and runner.output_specs() == ort.output_specs()
        feed = _feeds(1)[0]
        with pytest.raises(HtpEdgeError, match=r"openvino backend: feed names .*missing \['keep_tokens'\]"):
            runner.infer({k: v for k, v in feed.items() if k != names.KEEP_TOKENS})
        with pytest.raises(HtpEdgeError, match=r"input 'timestep' does not match the graph. Expected shape \(2\)"):
            runner.infer({**feed, names.TIMESTEP: np.zeros((3,), np.float32)})
        out = runner.infer(feed)
        assert set(out) == {names.POSE_3D, names.KEPT_FRAMES} and out[names.KEPT_FRAMES].dtype == np.int64
        assert runner.last_timings["compute"] > 0
    assert not runner.is_active
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a graph")
    with pytest.raises(HtpEdgeError, match=r"openvino: cannot load .*bad.onnx with OpenVINO") as err:
        make_runner("openvino", bad).activate()
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("graph", [HTP, D3DP], ids=["htp-small", "d3dp-small"])
def test_parity_with_onnxruntime(ov, graph):
    ref, cand = make_runner("onnxruntime", graph), make_runner("openvino", graph.read_bytes())  # bytes load too
    with ref, cand:
        feeds = _feeds()
        if graph == D3DP:
            feeds = [{k: v for k, v in f.items() if k in names.DENOISER_INPUTS} for f in feeds]
        report = compare_runners(ref, cand, feeds, "fp32")
    assert report.ok, report.failures()
    assert report.output(names.POSE_3D).max_abs <= 1e-4
    if graph == HTP:
        assert report.output(names.KEPT_FRAMES).agreement == 1.0


def test_lifter_and_bench_on_openvino(ov, capsys):
    from htp_edge.cli.main import main
    from htp_edge.runtime.lifter import Lifter
    kp = walking_keypoints(40)
    with Lifter.load("htp-small", backend="onnxruntime") as a, Lifter.load("htp-small", backend="openvino") as b:
        assert b.graphs.denoiser.backend == b.graphs.planner.backend == "openvino"
        np.testing.assert_allclose(b.lift(kp, 1000, 1000), a.lift(kp, 1000, 1000), atol=1e-4, rtol=1e-4)
    code = main(["bench", "--model", "htp-small", "--backend", "openvino", "--iters", "2", "--warmup", "0",
                 "--threads", "1", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    assert report["backend"] == "openvino" and report["total"]["p50_ms"] > 0 and report["macs_per_pass"] > 0
