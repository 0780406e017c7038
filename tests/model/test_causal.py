"""The causal switch: output frame t depends on input frames <= t only; the default is unchanged."""
import dataclasses

import numpy as np
import pytest
import torch

from htp_edge.errors import HtpEdgeError
from htp_edge.model.checkpoint import config_from_dict, config_to_dict
from htp_edge.model.config import causal_variant, preset
from htp_edge.model.denoiser import Denoiser
from htp_edge.model.pruning import CausalSelector, causal_segments
from tests.conftest import TINY, TINY_HTP, TINY_HTP_FEATURES

# htp without MGPTP (TCEP -> TRA) and with MGPTP straight on all frames (no TCEP) cover each stage alone
HTP_TCEP_ONLY = dataclasses.replace(TINY_HTP, name="htp-tcep",
                                    pruning=dataclasses.replace(TINY_HTP.pruning, mgptp=False))
HTP_MGPTP_ONLY = dataclasses.replace(TINY_HTP, name="htp-mgptp",
                                     pruning=dataclasses.replace(TINY_HTP.pruning, tcep=False))
# htp-small's frames and pruning (F=27, n1=14, f=7) at a narrow width, to keep the test fast
HTP_SMALL_NARROW = dataclasses.replace(preset("htp-small"), embed_dim=16, num_heads=2)
CONFIGS = [TINY, TINY_HTP, HTP_TCEP_ONLY, HTP_MGPTP_ONLY, HTP_SMALL_NARROW]
IDS = ["d3dp", "htp", "htp-tcep-only", "htp-mgptp-only", "htp-small-narrow"]


@pytest.fixture(autouse=True)
def _one_thread():
    """Many tiny forward passes: one thread avoids thread hand-off costs on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _net(cfg, seed=0):
    torch.manual_seed(seed)
    net = Denoiser(cfg).eval()
    with torch.no_grad():  # break the zero-initialised symmetries (biases, pos embeddings, TRA tokens)
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return net


def _inputs(cfg, n=2, seed=1):
    g = torch.Generator().manual_seed(seed)
    x2d = (0.03 * torch.randn(n, cfg.frames, cfg.joints, 2, generator=g)).cumsum(1)  # random walks: TCEP sees motion
    x_t = torch.randn(n, cfg.frames, cfg.joints, 3, generator=g)
    t = torch.tensor([3.0, 400.0, 999.0])[:n]
    return x2d, x_t, t


def _perturb_after(x2d, x_t, t_frame, seed):
    g = torch.Generator().manual_seed(seed)
    a, b = x2d.clone(), x_t.clone()
    a[:, t_frame + 1:] += 0.2 * torch.randn(a[:, t_frame + 1:].shape, generator=g)
    b[:, t_frame + 1:] = torch.randn(b[:, t_frame + 1:].shape, generator=g)
    return a, b


def _worst_leak(net, cfg, seeds=(11,)) -> list[float]:
    """Per frame t: the largest change of output frames <= t when every later input frame changes."""
    x2d, x_t, t = _inputs(cfg)
    with torch.no_grad():
        base = net(x2d, x_t, t)
        worst = []
        for frame in range(cfg.frames):
            change = 0.0
            for seed in seeds:
                a, b = _perturb_after(x2d, x_t, frame, seed)
                change = max(change, float((net(a, b, t)[:, :frame + 1] - base[:, :frame + 1]).abs().max()))
            worst.append(change)
    return worst


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_causal_model_never_sees_later_frames(cfg):
    cfg = causal_variant(cfg)
    net = _net(cfg)
    worst = _worst_leak(net, cfg)
    assert worst == [0.0] * cfg.frames, worst  # bit for bit, frame by frame, the newest included


@pytest.mark.parametrize("cfg", CONFIGS[:-1], ids=IDS[:-1])
def test_the_same_weights_without_the_switch_do_see_later_frames(cfg):
    """The leak test can fail: the non-causal model's early outputs move with later frames."""
    worst = _worst_leak(_net(cfg), cfg)
    assert max(worst[: cfg.frames - 1]) > 1e-4


@pytest.mark.parametrize("cfg", [TINY_HTP, HTP_MGPTP_ONLY, HTP_SMALL_NARROW], ids=["htp", "mgptp-only", "htp-small"])
def test_newest_frame_is_always_kept_to_the_last_block(cfg):
    cfg = causal_variant(cfg)
    net = _net(cfg)
    for seed in range(4):
        x2d, x_t, t = _inputs(cfg, seed=seed)
        x2d[0] = x2d[0, :1]  # a still clip too: every score ties
        with torch.no_grad():
            plan = net.plan(x2d)
            _, kept = net(x2d, x_t, t, return_kept=True, **plan)
        assert (kept[:, -1] == cfg.frames - 1).all()
        assert kept.shape[1] == cfg.frames_at(cfg.depth - 1)
        assert (kept[:, 1:] > kept[:, :-1]).all()  # distinct, in temporal order
        if "keep_frames" in plan:
            assert (plan["keep_frames"][:, -1] == cfg.frames - 1).all()


def test_causal_plan_adapts_to_motion():
    """TCEP stays data-driven: clips with different motion keep different frames."""
    cfg = causal_variant(HTP_SMALL_NARROW)
    net = _net(cfg)
    x2d, _, _ = _inputs(cfg, n=3, seed=5)
    with torch.no_grad():
        frames = net.plan(x2d)["keep_frames"].numpy()
    assert len({tuple(row) for row in frames}) > 1


def test_selector_is_online_and_keeps_one_per_segment():
    length, keep = 13, 5
    sel = CausalSelector(length, keep, eta=1.0)
    seg = causal_segments(length, keep)
    assert seg[-1] == keep - 1 and (seg[:-1] < keep - 1).all() and (np.diff(seg) >= 0).all()
    g = torch.Generator().manual_seed(0)
    score = torch.rand(64, length, generator=g)
    idx = sel(score)
    assert idx.shape == (64, keep) and (idx[:, -1] == length - 1).all()
    assert all(sorted(seg[row]) == list(range(keep)) for row in idx.numpy())  # one per segment
    for i in range(length - 1):  # changing positions after i never changes the choice up to i
        later = score.clone()
        later[:, i + 1:] = torch.rand(64, length - i - 1, generator=g) * 3
        got = sel(later)
        for row, (a, b) in enumerate(zip(idx.numpy(), got.numpy())):
            assert list(a[a <= i]) == list(b[b <= i]), (row, i)


def test_switch_defaults_off_and_round_trips():
    assert not preset("htp-small").causal and not TINY.causal
    old = config_to_dict(TINY_HTP)
    old.pop("causal")  # a checkpoint written before the switch
    assert config_from_dict(old) == TINY_HTP
    c = preset("htp-small-causal")
    assert c.causal and c.name == "htp-small-causal" and c.tag() == "htp_f27_n14_m7_c128d4_causal"
    assert config_from_dict(config_to_dict(c)) == c
    assert dataclasses.replace(c, causal=False, name="htp-small") == preset("htp-small")
    assert preset("htp-small").tag() == "htp_f27_n14_m7_c128d4"


def test_causal_and_plain_share_every_weight():
    """The switch adds no weights: the non-causal checkpoint warm-starts the causal model."""
    plain, causal = Denoiser(TINY_HTP), Denoiser(causal_variant(TINY_HTP))
    assert {k: v.shape for k, v in plain.state_dict().items()} == {k: v.shape for k, v in causal.state_dict().items()}
    causal.load_state_dict(plain.state_dict(), strict=True)


def test_feature_clustering_is_refused_when_causal():
    with pytest.raises(HtpEdgeError, match="pose2d"):
        causal_variant(TINY_HTP_FEATURES)
    with pytest.raises(HtpEdgeError, match="causal must be true or false"):
        dataclasses.replace(TINY, causal=1)
