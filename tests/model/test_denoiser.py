import dataclasses

import numpy as np
import pytest
import torch

from htp_edge.errors import HtpEdgeError
from htp_edge.model.config import ModelConfig, PruningConfig, preset
from htp_edge.model.denoiser import Denoiser, DiffusionPoseModel
from htp_edge.model.macs import count_params
from tests.conftest import TINY, TINY_HTP, TINY_HTP_FEATURES


def _inputs(cfg, n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    x2d = torch.randn(n, cfg.frames, cfg.joints, 2, generator=g)
    xt = torch.randn(n, cfg.frames, cfg.joints, 3, generator=g)
    t = torch.tensor([999.0, 3.0][:n])
    return x2d, xt, t


def test_d3dp_parameter_count_is_exact():
    assert count_params(preset("d3dp")) == 34_835_459


def test_d3dp_state_dict_layout():
    sd = DiffusionPoseModel(TINY).state_dict()
    assert "pose_estimator.time_mlp.1.weight" in sd and "pose_estimator.time_mlp.3.weight" in sd
    assert "pose_estimator.head.0.weight" in sd and sd["pose_estimator.head.1.weight"].shape == (3, 16)
    buffers = [k for k in sd if not k.startswith("pose_estimator.")]
    assert len(buffers) == 12 and all(sd[k].dtype == torch.float64 and sd[k].shape == (1000,) for k in buffers)


@pytest.mark.parametrize("cfg", [TINY, TINY_HTP, TINY_HTP_FEATURES], ids=["d3dp", "htp", "htp-features"])
def test_shapes_and_kept_indices(cfg):
    net = Denoiser(cfg).eval()
    x2d, xt, t = _inputs(cfg)
    x0, kept = net(x2d, xt, t, return_kept=True)
    assert x0.shape == (2, cfg.frames, cfg.joints, 3)
    if cfg.prunes:
        assert kept.shape == (2, cfg.pruning.f)
        assert torch.all(kept[:, 1:] > kept[:, :-1])  # temporal order, unique
        plan = net.plan(x2d)
        assert plan["keep_frames"].shape == (2, cfg.pruning.n1)
        assert set(kept[0].tolist()) <= set(plan["keep_frames"][0].tolist())  # MGPTP keeps a subset of TCEP's
        if cfg.planned_tokens:
            assert plan["keep_tokens"].shape == (2, cfg.pruning.f)
            assert torch.equal(kept, plan["keep_frames"].gather(1, plan["keep_tokens"]))
    else:
        assert kept is None


def test_pruning_off_is_exactly_d3dp():
    d3dp = Denoiser(TINY).eval()
    off = dataclasses.replace(TINY_HTP, pruning=dataclasses.replace(TINY_HTP.pruning, n1=TINY.frames, f=TINY.frames))
    htp = Denoiser(off).eval()
    htp.load_state_dict(d3dp.state_dict(), strict=True)
    x2d, xt, t = _inputs(TINY)
    assert torch.equal(htp(x2d, xt, t), d3dp(x2d, xt, t))


def test_explicit_plan_matches_internal_plan():
    net = Denoiser(TINY_HTP).eval()
    x2d, xt, t = _inputs(TINY_HTP)
    assert torch.equal(net(x2d, xt, t), net(x2d, xt, t, **net.plan(x2d)))


def test_planned_tokens_do_not_depend_on_the_noisy_pose_or_step():
    net = Denoiser(TINY_HTP).eval()
    x2d, xt, t = _inputs(TINY_HTP)
    _, a = net(x2d, xt, t, return_kept=True)
    _, b = net(x2d, torch.randn_like(xt), t.flip(0), return_kept=True)
    assert torch.equal(a, b)


def test_plan_is_invariant_to_flip():
    from htp_edge.pose.skeleton import flip_pose
    net = Denoiser(dataclasses.replace(TINY_HTP, frames=27, pruning=dataclasses.replace(TINY_HTP.pruning, n1=13, f=5)))
    x2d = np.random.default_rng(1).normal(size=(3, 27, 17, 2)).cumsum(1).astype(np.float32)
    a = net.plan(torch.from_numpy(x2d))
    b = net.plan(torch.from_numpy(flip_pose(x2d)))
    assert a.keys() == {"keep_frames", "keep_tokens"}
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_seeded_construction_is_deterministic():
    torch.manual_seed(3)
    a = Denoiser(TINY_HTP).eval()
    torch.manual_seed(3)
    b = Denoiser(TINY_HTP).eval()
    x2d, xt, t = _inputs(TINY_HTP)
    assert torch.equal(a(x2d, xt, t), b(x2d, xt, t))


def test_gradients_reach_new_htp_parameters():
    net = Denoiser(TINY_HTP_FEATURES).train()
    x2d, xt, t = _inputs(TINY_HTP_FEATURES)
    net(x2d, xt, t).square().sum().backward()
    assert net.mgptp.mask_head.weight.grad.abs().sum() > 0
    assert net.sft_distance_bias.grad.abs().sum() > 0
    assert net.tra.cross_attention.linear_q.weight.grad.abs().sum() > 0
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)


@pytest.mark.parametrize("kwargs, match", [
    (dict(embed_dim=30, num_heads=4), "divisible"),
    (dict(pruning=PruningConfig(n1=500, f=61)), "n1 exceeds"),
    (dict(pruning=PruningConfig(tcep_layer=0, mgptp_layer=3)), "tcep_layer out of range"),
])
def test_bad_configs_are_refused(kwargs, match):
    with pytest.raises(HtpEdgeError, match=match):
        ModelConfig(**kwargs)


def test_mgptp_before_tcep_is_refused():
    with pytest.raises(HtpEdgeError, match="after TCEP"):
        PruningConfig(tcep_layer=3, mgptp_layer=2)
