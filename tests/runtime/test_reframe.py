"""Lifter(reframe=True): each clip is lifted as a virtual camera aimed at the person sees it."""
from __future__ import annotations

import numpy as np

from htp_edge import Lifter, StreamingLifter
from htp_edge.pose.geometry import Intrinsics, project_points
from htp_edge.pose.virtual_camera import fit_view, from_virtual, to_virtual


def _far_walker(frames: int) -> np.ndarray:
    """A person 7 m away, 2 m to the side, walking toward the camera: (T, 17, 3) camera frame."""
    rng = np.random.default_rng(0)
    pose = rng.uniform(-0.2, 0.2, (17, 3))
    pose[:, 1] = np.linspace(1.2, -0.5, 17)
    return np.stack([pose + [2.0, 0.0, 7.0 - 0.05 * t] for t in range(frames)])


def test_reframed_lift_is_the_lift_of_the_virtual_view_turned_back(tiny_htp_onnx):
    intr = Intrinsics(520.0, 520.0, 500.0, 500.0)
    lifter_plain = Lifter.load(tiny_htp_onnx[0], aggregation="mean")
    lifter = Lifter.load(tiny_htp_onnx[0], aggregation="mean", reframe=True)
    px = project_points(_far_walker(lifter.frames), intr).astype(np.float32)  # one clip
    conf = np.ones(px.shape[:2], np.float32)
    got = lifter.lift(np.concatenate([px, conf[..., None]], -1), 1000, 1000, intrinsics=intr)
    view = fit_view(px, conf, intr, width=1000)
    virtual = to_virtual(px, intr, view).astype(np.float32)
    want = from_virtual(lifter_plain.lift(np.concatenate([virtual, conf[..., None]], -1), view.size, view.size,
                                          intrinsics=view.intrinsics), view)
    np.testing.assert_allclose(got, want, atol=1e-5)
    plain = lifter_plain.lift(np.concatenate([px, conf[..., None]], -1), 1000, 1000, intrinsics=intr)
    assert np.abs(got - plain).max() > 1e-3  # it is not the plain lift


def test_reframed_hypotheses_are_in_the_real_camera_frame(tiny_htp_onnx):
    intr = Intrinsics(520.0, 520.0, 500.0, 500.0)
    lifter = Lifter.load(tiny_htp_onnx[0], aggregation="mean", reframe=True)
    px = project_points(_far_walker(lifter.frames), intr).astype(np.float32)
    out, hyps = lifter.lift(px, 1000, 1000, intrinsics=intr, return_hypotheses=True)
    np.testing.assert_allclose(hyps.mean(axis=1)[0][:, 1:], out[:, 1:], atol=1e-5)


def test_streaming_lifter_follows_the_reframed_lifter(tiny_htp_onnx):
    intr = Intrinsics(520.0, 520.0, 500.0, 500.0)
    lifter = Lifter.load(tiny_htp_onnx[0], reframe=True)
    px = project_points(_far_walker(lifter.frames + 4), intr).astype(np.float32)
    stream = StreamingLifter(lifter, 1000, 1000, mode="causal", intrinsics=intr)
    got = [p for p in (stream.push(f) for f in px) if p is not None]
    want = lifter.lift(px[-lifter.frames:], 1000, 1000, intrinsics=intr)[-1]
    np.testing.assert_allclose(got[-1], want, atol=1e-5)


def test_reframe_defaults_off():
    from htp_edge.runtime.lifter import LifterConfig
    assert LifterConfig().reframe is False
