"""The runner protocol (feed checks for every backend) and the one comparator over runners."""
from __future__ import annotations

import numpy as np
import pytest

from htp_edge.artifacts.specs import TensorSpec
from htp_edge.errors import HtpEdgeError
from htp_edge.runtime.backends import make_runner
from htp_edge.runtime.backends.base import Runner
from htp_edge.runtime.compare import compare_runners
from htp_edge.tolerances import Tol


class Affine(Runner):
    """y = a * x + b on a (2, 3) float32 input, plus the argmax as an index output."""

    backend = "numpy"

    def __init__(self, a: float = 1.0, b: float = 0.0) -> None:
        super().__init__()
        self.a, self.b, self.calls = a, b, 0

    def input_specs(self):
        return [TensorSpec("x", (2, 3), np.dtype(np.float32))]

    def output_specs(self):
        return [TensorSpec("y", (2, 3), np.dtype(np.float32)), TensorSpec("i", (2,), np.dtype(np.int64))]

    def _infer(self, feed):
        self.calls += 1
        y = self.a * feed["x"] + self.b
        return {"y": y, "i": y.argmax(-1)}


def test_every_backend_checks_the_feed_the_same_way():
    runner = Affine()
    with pytest.raises(HtpEdgeError, match="not active"):
        runner.infer({"x": np.zeros((2, 3), np.float32)})
    runner.activate()
    with pytest.raises(HtpEdgeError, match=r"numpy backend: feed names .*missing \['x'\], unexpected \['z'\]"):
        runner.infer({"z": np.zeros((2, 3), np.float32)})
    with pytest.raises(HtpEdgeError, match=r"Expected shape \(2, 3\) dtype float32, got shape \(3, 2\)"):
        runner.infer({"x": np.zeros((3, 2), np.float32)})
    with pytest.raises(HtpEdgeError, match="dtype float64"):
        runner.infer({"x": np.zeros((2, 3))})
    assert runner.calls == 0
    assert runner.infer({"x": np.array([[1, 2, 3], [3, 2, 1]], np.float32)})["i"].tolist() == [2, 0]


def test_dynamic_dimensions_accept_any_size():
    spec = TensorSpec("x", (None, 3), np.dtype(np.float32))
    assert spec.accepts(np.zeros((7, 3), np.float32)) is None
    assert "got shape (7, 4)" in spec.accepts(np.zeros((7, 4), np.float32))
    assert TensorSpec("x", None, np.dtype(np.float32)).accepts(np.zeros((1, 2, 3), np.float32)) is None


def test_torch_runner_refuses_missing_names_instead_of_dropping_them():
    torch = pytest.importorskip("torch")
    runner = make_runner("torch", torch.nn.Identity(), input_names=("keypoints_2d", "noisy_pose"),
                         output_names=("pose_3d",))
    runner.activate()
    with pytest.raises(HtpEdgeError, match=r"torch backend: feed names .*missing \['noisy_pose'\]"):
        runner.infer({"keypoints_2d": np.zeros((1, 2), np.float32)})


def test_compare_runners_reports_per_output():
    ref, near, far = Affine(), Affine(b=1e-5), Affine(a=-1.0)
    for r in (ref, near, far):
        r.activate()
    feeds = [{"x": np.random.default_rng(s).normal(size=(2, 3)).astype(np.float32)} for s in range(3)]
    ok = compare_runners(ref, near, feeds, {"y": Tol(atol=1e-4), "*index": Tol(exact=True)})
    assert ok.ok and ok.feeds == 3 and ok.tool == "numpy vs numpy"
    assert ok.output("y").max_abs == pytest.approx(1e-5, rel=1e-2) and ok.output("i").agreement == 1.0
    bad = compare_runners(ref, far, feeds, {"y": Tol(atol=1e-4), "*index": Tol(exact=True, min_agreement=0.5)})
    assert not bad.ok and set(bad.to_json()["outputs"]) == {"y", "i"}
    assert ref.calls == 6
    with pytest.raises(HtpEdgeError, match="no feeds"):
        compare_runners(ref, near, [], "fp32")
