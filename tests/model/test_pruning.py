"""HTP pruning stages: TCEP scores, coverage prior, sorted TopK, DPC-kNN, SFT bias and TRA."""
import dataclasses

import numpy as np
import pytest
import torch

from htp_edge.model.denoiser import Denoiser
from htp_edge.model.pruning import (
    PoseTokenPlanner,
    TemporalPlanner,
    TokenRecovery,
    coverage_prior,
    distance_bias,
    dpc_knn_scores,
    gather_frames,
    sorted_topk,
)
from tests.conftest import TINY_HTP

F, J = 32, 17


def _planner(n1=8, eta=1.0, window=4, alpha=0.5, frames=F):
    return TemporalPlanner(frames, n1, eta, window, alpha)


def _still(frames=F, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(1, 1, J, 2, generator=g).expand(1, frames, J, 2).clone()


def _with_velocities(velocities: dict[int, torch.Tensor], frames=F, seed=0):
    """A still clip whose frame t moves by ``velocities[t]`` (J, 2) from frame t - 1."""
    vel = torch.zeros(1, frames, J, 2)
    for t, v in velocities.items():
        vel[0, t] = v
    return _still(frames, seed) + vel.cumsum(1)


def _joint_step(joint: int, speed: float = 0.05) -> torch.Tensor:
    """A velocity that moves one joint along x: distinct joints give orthogonal velocities."""
    v = torch.zeros(J, 2)
    v[joint, 0] = speed
    return v


def _walk(n=2, frames=F, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=0.02, size=(n, frames, J, 2)).cumsum(1) + rng.uniform(-0.3, 0.3, (n, 1, J, 2))
    return torch.from_numpy(x.astype(np.float32))


def _keep(planner, x):
    return sorted_topk(planner.scores(x), planner.n1)


# -- coverage prior ----------------------------------------------------------------------------

def test_coverage_prior_exact_small_cases():
    assert coverage_prior(8).tolist() == [1.0, 0.5, 0.75, 0.25, 0.875, 0.375, 0.625, 0.125]
    assert np.allclose(coverage_prior(9), 1.0 - np.array([0, 5, 3, 7, 2, 6, 4, 8, 1]) / 9)
    assert coverage_prior(1).tolist() == [1.0]


def _top_coverage(frames, n):
    return np.sort(np.argsort(-coverage_prior(frames))[:n])


def test_coverage_prior_top_n_is_near_uniform_for_every_n():
    assert _top_coverage(8, 2).tolist() == [0, 4]
    assert _top_coverage(8, 4).tolist() == [0, 2, 4, 6]
    assert _top_coverage(9, 3).tolist() == [0, 4, 8]
    assert _top_coverage(9, 5).tolist() == [0, 2, 4, 6, 8]
    for frames in list(range(1, 65)) + [243]:
        prior = coverage_prior(frames)
        assert prior.dtype == np.float32 and prior.max() == 1.0 and prior.min() > 0.0
        assert len(set(prior.tolist())) == frames  # a strict order: no ties between frames
        for n in range(1, frames + 1):
            gaps = np.diff(np.r_[-1, _top_coverage(frames, n), frames])
            assert gaps.max() <= 2 * -(-frames // n), (frames, n)


# -- sorted_topk -------------------------------------------------------------------------------

def test_sorted_topk_exact_small_cases():
    score = torch.tensor([[0.1, 0.9, 0.3, 0.7, 0.5], [5.0, 4.0, 3.0, 2.0, 1.0]])
    assert sorted_topk(score, 2).tolist() == [[1, 3], [0, 1]]
    assert sorted_topk(score, 3).tolist() == [[1, 3, 4], [0, 1, 2]]
    assert sorted_topk(score, 5).tolist() == [[0, 1, 2, 3, 4]] * 2
    assert sorted_topk(torch.tensor([[-3.0, -1.0, -2.0]]), 1).tolist() == [[1]]
    assert sorted_topk(score, 2).dtype == torch.int64


def test_sorted_topk_ties():
    tied = torch.tensor([[1.0, 3.0, 3.0, 2.0, 0.0]])
    assert sorted_topk(tied, 2).tolist() == [[1, 2]]  # the tied pair is the top two
    assert sorted_topk(tied, 3).tolist() == [[1, 2, 3]]
    flat = torch.zeros(2, 6)
    idx = sorted_topk(flat, 4)
    assert idx.shape == (2, 4)
    assert all(row == sorted(set(row)) and len(row) == 4 for row in idx.tolist())
    boundary = torch.tensor([[2.0, 1.0, 1.0, 1.0, 0.0]])
    idx = sorted_topk(boundary, 2)[0].tolist()
    assert idx[0] == 0 and idx[1] in (1, 2, 3)


def test_sorted_topk_is_a_sorted_topk_on_random_scores():
    g = torch.Generator().manual_seed(0)
    score = torch.randn(4, 243, generator=g)
    idx = sorted_topk(score, 61)
    assert torch.all(idx[:, 1:] > idx[:, :-1])
    expected = torch.sort(score.topk(61, dim=-1).indices, dim=-1).values
    assert torch.equal(idx, expected)


# -- TCEP ----------------------------------------------------------------------------------------

def test_still_clip_keeps_the_coverage_frames():
    keep = _keep(_planner(), _still())
    assert keep.tolist() == [[0, 4, 8, 12, 16, 20, 24, 28]]
    assert keep.tolist() == [_top_coverage(F, 8).tolist()]
    keep9 = _keep(_planner(n1=3, frames=9), _still(frames=9))
    assert keep9.tolist() == [[0, 4, 8]]


def test_exact_uniform_motion_keeps_the_coverage_frames():
    ramp = 0.25 * torch.arange(F, dtype=torch.float32)[None, :, None, None]
    x = _still() * 0 + ramp.expand(1, F, J, 2)
    assert _keep(_planner(), x).tolist() == [[0, 4, 8, 12, 16, 20, 24, 28]]


@pytest.mark.xfail(strict=True, reason="edges use sim > eta * mean(sim): with uniform motion every "
                                       "similarity equals the mean and rounding decides the graph")
def test_rounded_uniform_motion_keeps_the_coverage_frames():
    g = torch.Generator().manual_seed(0)
    base, v = torch.randn(1, 1, J, 2, generator=g), torch.randn(1, 1, J, 2, generator=g)
    x = base + 0.01 * torch.arange(F, dtype=torch.float32)[None, :, None, None] * v
    assert _keep(_planner(), x).tolist() == [[0, 4, 8, 12, 16, 20, 24, 28]]


def test_motion_burst_frames_are_kept():
    x = _with_velocities({t: _joint_step(t - 12) for t in range(12, 17)})  # moving frames 12..16
    assert _keep(_planner(n1=5, alpha=1.0), x).tolist() == [[12, 13, 14, 15, 16]]
    # alpha 0.5: the burst first, the rest by coverage among the still frames (0, 16, 8, 24, ...)
    assert _keep(_planner(n1=8), x).tolist() == [[0, 8, 12, 13, 14, 15, 16, 24]]


def test_most_salient_frame_is_kept_whatever_its_coverage():
    x = _with_velocities({31: _joint_step(3)})  # frame 31 has the lowest coverage prior
    assert coverage_prior(F).argmin() == 31
    keep = _keep(_planner(n1=2), x)
    assert keep.tolist() == [[0, 31]]


def test_correlated_motion_scores_below_uncorrelated_motion():
    steady = {t: _joint_step(0) for t in range(4, 9)}  # one direction: redundant neighbours
    varied = {t: _joint_step(t - 19) for t in range(20, 25)}  # orthogonal directions
    x = _with_velocities({**steady, **varied})
    scores = _planner(alpha=1.0).scores(x)[0]
    assert scores[20:25].min() > scores[4:9].max()
    assert _keep(_planner(n1=5, alpha=1.0), x).tolist() == [[20, 21, 22, 23, 24]]


def test_tcep_shapes_order_and_determinism():
    planner = _planner(n1=11)
    x = _walk(n=3)
    scores = planner.scores(x)
    assert scores.shape == (3, F) and scores.dtype == torch.float32 and torch.isfinite(scores).all()
    keep = _keep(planner, x)
    assert keep.shape == (3, 11) and keep.dtype == torch.int64
    assert torch.all(keep[:, 1:] > keep[:, :-1]) and keep.min() >= 0 and keep.max() < F
    assert torch.equal(planner.scores(x.clone()), scores)
    assert torch.equal(_keep(_planner(n1=11), x.clone()), keep)


def test_tcep_scores_each_clip_independently():
    planner = _planner(n1=11)
    x = _walk(n=3)
    together = planner.scores(x)
    for i in range(3):
        assert torch.allclose(planner.scores(x[i:i + 1]), together[i:i + 1], atol=1e-6)


def test_tcep_is_invariant_to_global_translation():
    planner = _planner(n1=11)
    x = _walk(n=3, seed=1)
    moved = x + torch.tensor([0.37, -1.25])
    assert torch.allclose(planner.scores(moved), planner.scores(x), atol=1e-4)
    assert torch.equal(_keep(planner, moved), _keep(planner, x))


@pytest.mark.parametrize("scale", [0.5, 2.0, 3.7, 10.0])
def test_tcep_is_invariant_to_scale(scale):
    planner = _planner(n1=11)
    x = _walk(n=3, seed=2)
    assert torch.allclose(planner.scores(scale * x), planner.scores(x), atol=1e-4)
    assert torch.equal(_keep(planner, scale * x), _keep(planner, x))


def test_tcep_saliency_weight():
    x = _walk(n=1, seed=3)
    prior = torch.from_numpy(coverage_prior(F))
    assert torch.allclose(_planner(alpha=0.0).scores(x)[0], 1.001 * prior)
    saliency = _planner(alpha=1.0).scores(x)[0] - 1e-3 * prior
    assert saliency.min() >= 0.0 and saliency.max() == pytest.approx(1.0, abs=1e-5)


# -- DPC-kNN (MGPTP) ---------------------------------------------------------------------------

def _blobs(members: dict[int, list[int]], spread: float, seed=0, dim=4):
    """Tokens (1, T, dim): token t sits at centre c + spread * noise for t in members[c]."""
    centres = 5.0 * torch.eye(3, dim)
    g = torch.Generator().manual_seed(seed)
    t = sum(len(v) for v in members.values())
    x = torch.zeros(1, t, dim)
    for c, tokens in members.items():
        for i in tokens:
            x[0, i] = centres[c] + spread * torch.randn(dim, generator=g)
    return x


def _ramp(t):
    return torch.arange(t, dtype=torch.float32) * (1e-4 / t)


def test_dpc_knn_picks_one_token_per_blob():
    members = {0: [0, 1, 2, 3], 1: [4, 5, 6, 7, 8], 2: [9, 10, 11, 12, 13, 14]}
    x = _blobs(members, spread=0.05)
    picked = sorted_topk(dpc_knn_scores(x, 2, _ramp(15)), 3)[0].tolist()
    assert [next(c for c, m in members.items() if i in m) for i in picked] == [0, 1, 2]


def test_dpc_knn_tie_break_prefers_the_last_duplicate():
    members = {0: [0, 3, 6], 1: [1, 4, 7], 2: [2, 5, 8]}
    x = _blobs(members, spread=0.0)
    for _ in range(2):
        assert sorted_topk(dpc_knn_scores(x, 2, _ramp(9)), 3).tolist() == [[6, 7, 8]]


def test_dpc_knn_is_invariant_to_token_translation():
    x = _blobs({0: [0, 1, 2], 1: [3, 4, 5, 6], 2: [7, 8]}, spread=0.3, seed=1)
    a = dpc_knn_scores(x, 2, _ramp(9))
    b = dpc_knn_scores(x + 100.0, 2, _ramp(9))
    assert a.shape == (1, 9) and torch.allclose(a, b, atol=1e-3)


def test_pose_token_planner_uses_root_relative_poses_and_the_mask():
    x = _walk(n=2, frames=12, seed=4)
    shift = torch.randn(2, 12, 1, 2, generator=torch.Generator().manual_seed(0))
    planner = PoseTokenPlanner(12, 4, 2, mask_guided=True)
    tokens = planner(x, None, None)
    assert tokens.shape == (2, 4) and torch.all(tokens[:, 1:] > tokens[:, :-1])
    assert torch.equal(planner(x + shift, None, None), tokens)  # per-frame translation
    mask = torch.zeros(2, 12)
    mask[:, [1, 5, 6, 10]] = 1.0
    assert planner(x, None, mask).tolist() == [[1, 5, 6, 10]] * 2
    keep = torch.tensor([[0, 2, 4, 6, 8, 10, 11]] * 2)
    within = PoseTokenPlanner(7, 3, 2, mask_guided=False)(x, keep, None)
    assert torch.equal(within, PoseTokenPlanner(7, 3, 2, mask_guided=False)(x[:, keep[0]], None, None))


# -- gather and SFT distance bias ----------------------------------------------------------------

def test_gather_frames_exact():
    n, j, t, c = 2, 3, 5, 4
    x = torch.arange(n * j * t * c, dtype=torch.float32).reshape(n * j, t, c)
    idx = torch.tensor([[0, 3], [1, 4]])
    out = gather_frames(x, idx, n, j)
    assert out.shape == (n * j, 2, c)
    for b in range(n):
        for joint in range(j):
            assert torch.equal(out[b * j + joint], x[b * j + joint, idx[b]])


def test_distance_bias_shape_and_values():
    heads, frames = 3, 10
    table = torch.arange(heads * frames, dtype=torch.float32).reshape(heads, frames)
    idx = torch.tensor([[0, 2, 7], [1, 4, 9]])
    bias = distance_bias(table, idx)
    assert bias.shape == (2, heads, 3, 3)
    for n in range(2):
        for h in range(heads):
            for a in range(3):
                for b in range(3):
                    assert bias[n, h, a, b] == table[h, abs(int(idx[n, a]) - int(idx[n, b]))]


def test_distance_bias_depends_only_on_frame_distance():
    table = torch.randn(2, 12, generator=torch.Generator().manual_seed(0))
    idx = torch.tensor([[0, 1, 5, 8]])
    bias = distance_bias(table, idx)
    assert torch.equal(bias, distance_bias(table, idx + 3))  # shifted kept frames
    assert torch.equal(bias, bias.transpose(-1, -2))
    assert torch.equal(bias.diagonal(dim1=-2, dim2=-1), table[:, :1].expand(2, 4)[None])
    ramp = torch.arange(12, dtype=torch.float32).expand(2, 12)
    assert torch.equal(distance_bias(ramp, idx)[0, 0], (idx[0][:, None] - idx[0][None, :]).abs().float())
    assert torch.equal(distance_bias(torch.zeros(2, 12), idx), torch.zeros(1, 2, 4, 4))


def test_zero_sft_bias_is_the_unbiased_denoiser():
    cfg = TINY_HTP
    no_sft = dataclasses.replace(cfg, pruning=dataclasses.replace(cfg.pruning, sft=False))
    torch.manual_seed(0)
    with_bias = Denoiser(cfg).eval()
    without = Denoiser(no_sft).eval()
    without.load_state_dict({k: v for k, v in with_bias.state_dict().items() if k != "sft_distance_bias"})
    g = torch.Generator().manual_seed(1)
    x2d, xt = torch.randn(2, 9, 17, 2, generator=g), torch.randn(2, 9, 17, 3, generator=g)
    t = torch.tensor([10.0, 500.0])
    assert not with_bias.sft_distance_bias.any()
    ref = without(x2d, xt, t)
    assert torch.equal(with_bias(x2d, xt, t), ref)


def test_sft_bias_of_each_block_is_taken_at_the_original_frame_indices():
    torch.manual_seed(0)
    net = Denoiser(TINY_HTP).eval()
    with torch.no_grad():
        net.sft_distance_bias.normal_(generator=torch.Generator().manual_seed(2))
    seen = {}
    for i, block in enumerate(net.TTEblocks):
        block.register_forward_pre_hook(lambda _, args, i=i: seen.__setitem__(i, args[1] if len(args) > 1 else None))
    x2d = _walk(n=2, frames=9, seed=6)
    xt = torch.randn(2, 9, 17, 3, generator=torch.Generator().manual_seed(0))
    plan = net.plan(x2d)
    _, kept = net(x2d, xt, torch.tensor([3.0, 700.0]), return_kept=True, **plan)
    assert seen[0] is None  # full frames, before TCEP
    assert torch.equal(seen[1], distance_bias(net.sft_distance_bias[1], plan["keep_frames"]))
    assert torch.equal(seen[2], distance_bias(net.sft_distance_bias[2], kept))
    assert seen[2].shape == (2, TINY_HTP.num_heads, TINY_HTP.pruning.f, TINY_HTP.pruning.f)


# -- TRA -------------------------------------------------------------------------------------------

def _tra(dim=8, frames=9, heads=2, seed=0):
    torch.manual_seed(seed)
    tra = TokenRecovery(dim, frames, heads).eval()
    with torch.no_grad():
        tra.x_token.normal_()
    return tra


def test_tra_restores_every_frame():
    tra = _tra()
    for k in (1, 3, 9):
        assert tra(torch.randn(4, k, 8), None).shape == (4, 9, 8)
        assert tra(torch.randn(4, k, 8), torch.randn(4, 9, 8)).shape == (4, 9, 8)


def test_tra_treats_kept_tokens_as_a_set():
    tra = _tra()
    kept = torch.randn(2, 4, 8, generator=torch.Generator().manual_seed(1))
    out = tra(kept, None)
    assert torch.allclose(tra(kept[:, [2, 0, 3, 1]], None), out, atol=1e-6)
    assert torch.allclose(tra(kept.repeat_interleave(2, dim=1), None), out, atol=1e-6)


def test_tra_exact_cases():
    tra = _tra()
    ca = tra.cross_attention
    v = torch.randn(1, 1, 8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        one_value = tra(v.expand(3, 5, 8), None)  # one distinct token: attention is constant
        expected = tra.x_token + ca.proj(ca.linear_v(v))
    assert torch.allclose(one_value, expected.expand(3, 9, 8), atol=1e-6)
    skip = torch.randn(3, 9, 8)
    with torch.no_grad():
        ca.proj.weight.zero_()
        ca.proj.bias.zero_()
    kept = torch.randn(3, 4, 8)
    assert torch.equal(tra(kept, None), tra.x_token.expand(3, 9, 8))
    assert torch.equal(tra(kept, skip), skip + tra.x_token)


def test_denoiser_recovers_all_frames_from_the_kept_tokens():
    net = Denoiser(TINY_HTP).eval()
    x2d = _walk(n=2, frames=9, seed=5)
    xt = torch.randn(2, 9, 17, 3, generator=torch.Generator().manual_seed(0))
    x0, kept = net(x2d, xt, torch.tensor([3.0, 700.0]), return_kept=True)
    assert x0.shape == (2, 9, 17, 3) and kept.shape == (2, TINY_HTP.pruning.f)
    assert torch.isfinite(x0).all()
