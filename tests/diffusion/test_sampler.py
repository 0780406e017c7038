import numpy as np
import pytest

from htp_edge.diffusion.sampler import DDIMSampler, SamplerConfig, ddim_schedule, ddim_times
from htp_edge.diffusion.schedule import alphas_cumprod, cosine_betas, diffusion_buffers
from htp_edge.pose.skeleton import LEFT_JOINTS, RIGHT_JOINTS, flip_pose


def test_ddim_times():
    assert ddim_times(5) == [999, 799, 599, 399, 199, -1]
    assert ddim_times(1) == [999, -1]


def test_schedule_against_hand_computed_values():
    betas = cosine_betas()
    f = lambda t: np.cos((t / 1000 + 0.008) / 1.008 * np.pi / 2) ** 2  # noqa: E731
    assert betas[0] == pytest.approx(1 - f(1) / f(0), rel=1e-12)
    assert betas[-1] == 0.999  # clipped
    ac = alphas_cumprod()
    step = ddim_schedule(5)[0]  # t = 999 -> 799
    ab, abn = ac[999], ac[799]
    sigma = np.sqrt((1 - ab / abn) * (1 - abn) / (1 - ab))
    assert step.sigma == pytest.approx(sigma, rel=1e-12)
    assert step.c == pytest.approx(np.sqrt(1 - abn - sigma ** 2), rel=1e-12)
    assert step.sqrt_recip_ab == pytest.approx(np.sqrt(1 / ab)) and step.sqrt_ab_next == pytest.approx(np.sqrt(abn))
    last = ddim_schedule(5)[-1]
    assert last.t_next == -1 and last.sqrt_ab_next == 1.0 and last.sigma == 0.0
    assert set(diffusion_buffers()) >= {"betas", "posterior_mean_coef2"} and len(diffusion_buffers()) == 12


def test_flip_is_an_involution_swapping_right_joints():
    x = np.random.default_rng(0).normal(size=(4, 17, 3))
    y = flip_pose(x)
    np.testing.assert_array_equal(flip_pose(y), x)
    np.testing.assert_array_equal(y[:, list(RIGHT_JOINTS), 0], -x[:, list(LEFT_JOINTS), 0])
    np.testing.assert_array_equal(y[:, list(RIGHT_JOINTS), 1:], x[:, list(LEFT_JOINTS), 1:])
    np.testing.assert_array_equal(y[:, 0, 1:], x[:, 0, 1:])


def test_sampler_shapes_steps_and_flip_averaging():
    rng = np.random.default_rng(0)
    target = rng.uniform(-0.5, 0.5, size=(5, 17, 3)).astype(np.float32)
    calls = []

    def denoise(x2d, x_t, t, plan):
        calls.append((x2d.shape, x_t.shape, float(t[0]), plan["keep_frames"].shape if plan else None))
        half = x2d.shape[0] // 2
        out = np.repeat(target[None], x2d.shape[0], 0)
        out[half:] = flip_pose(out[half:])  # the flipped half predicts the mirrored pose
        return out

    cfg = SamplerConfig(steps=3, hypotheses=4, flip=True)
    x2d = rng.normal(size=(2, 5, 17, 2)).astype(np.float32)
    res = DDIMSampler(cfg).sample(denoise, x2d, np.random.default_rng(1),
                                  plan={"keep_frames": np.zeros((2, 3), np.int64)})
    assert res.x0_steps.shape == (3, 2, 4, 5, 17, 3)
    assert [c[2] for c in calls] == [999.0, 665.0, 332.0]
    assert calls[0][:2] == ((16, 5, 17, 2), (16, 5, 17, 3)) and calls[0][3] == (16, 3)
    np.testing.assert_allclose(res.final, np.broadcast_to(target, res.final.shape), atol=1e-6)


def test_sampler_is_deterministic_with_a_seed():
    def denoise(x2d, x_t, t, plan):
        return 0.5 * x_t + 0.01 * t[:, None, None, None] / 1000

    cfg = SamplerConfig(steps=4, hypotheses=2, flip=False)
    x2d = np.zeros((1, 3, 17, 2), np.float32)
    a = DDIMSampler(cfg).sample(denoise, x2d, np.random.default_rng(5)).x0_steps
    b = DDIMSampler(cfg).sample(denoise, x2d, np.random.default_rng(5)).x0_steps
    c = DDIMSampler(cfg).sample(denoise, x2d, np.random.default_rng(6)).x0_steps
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert np.abs(a).max() <= 1.1


def test_bad_sampler_config():
    from htp_edge.errors import HtpEdgeError
    with pytest.raises(HtpEdgeError, match="steps out of range"):
        SamplerConfig(steps=0)
