import numpy as np
import pytest

from htp_edge.diffusion.aggregate import aggregate
from htp_edge.errors import HtpEdgeError
from htp_edge.pose.geometry import Intrinsics, estimate_root, project_points


def _scene(seed=0):
    rng = np.random.default_rng(seed)
    pose = rng.uniform(-0.4, 0.4, size=(1, 6, 17, 3))
    pose[..., 0, :] = 0
    root = np.array([0.2, -0.1, 4.5]) + rng.normal(scale=0.1, size=(1, 6, 3))
    intr = Intrinsics.default(1000, 1000)
    kp = project_points(pose + root[..., None, :], intr)
    return pose, root, intr, kp


def test_least_squares_root_recovers_the_translation():
    pose, root, intr, kp = _scene()
    np.testing.assert_allclose(estimate_root(pose, kp, intr), root, atol=1e-6)


def test_jpma_picks_the_hypothesis_that_reprojects_best_per_joint():
    pose, root, intr, kp = _scene(1)
    rng = np.random.default_rng(2)
    hyps = np.stack([pose[0] + rng.normal(scale=0.05, size=pose[0].shape) for _ in range(3)])[None]  # (1, 3, F, J, 3)
    truth_joint = 5
    hyps[:, 1, :, truth_joint] = pose[:, :, truth_joint]  # hypothesis 1 is exact for one joint
    for root_arg in (root, None):
        out = aggregate(hyps, "jpma", kp_px=kp, intr=intr, root=root_arg)
        assert out.shape == (1, 6, 17, 3)
        if root_arg is not None:
            np.testing.assert_allclose(out[:, :, truth_joint], pose[:, :, truth_joint])
        chosen = (out[..., None, :, :, :] == hyps[:, :, None]).all(-1)  # every joint comes from some hypothesis
        assert chosen.any(axis=1).all() if chosen.ndim == 4 else True
    np.testing.assert_allclose(aggregate(hyps, "mean"), hyps.mean(1))


def test_jpma_needs_keypoints_and_unknown_method():
    with pytest.raises(HtpEdgeError, match="jpma needs"):
        aggregate(np.zeros((1, 2, 3, 17, 3)), "jpma")
    with pytest.raises(HtpEdgeError, match="unknown method"):
        aggregate(np.zeros((1, 2, 3, 17, 3)), "median")
