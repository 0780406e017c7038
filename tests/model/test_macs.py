import pytest
import torch
from torch import nn

from htp_edge.model.config import preset
from htp_edge.model.denoiser import Denoiser
from htp_edge.model.layers import Attention, CrossAttention
from htp_edge.model.macs import count_macs
from tests.conftest import TINY, TINY_HTP, TINY_HTP_FEATURES


def _hooked_macs(cfg) -> int:
    """MACs seen by forward hooks on every Linear and attention module for one pass."""
    net = Denoiser(cfg).eval()
    total = [0]

    def linear(mod, inp, out):
        total[0] += inp[0].numel() // mod.in_features * mod.in_features * mod.out_features

    def attention(mod, inp, out):
        b, n, c = inp[0].shape
        nk = inp[1].shape[1] if isinstance(mod, CrossAttention) else n
        total[0] += 2 * b * n * nk * c

    for m in net.modules():
        if isinstance(m, nn.Linear):
            m.register_forward_hook(linear)
        elif isinstance(m, (Attention, CrossAttention)):
            m.register_forward_hook(attention)
    x2d = torch.randn(1, cfg.frames, cfg.joints, 2)
    with torch.no_grad():
        net(x2d, torch.randn(1, cfg.frames, cfg.joints, 3), torch.tensor([5.0]))
    return total[0]


@pytest.mark.parametrize("cfg", [TINY, TINY_HTP, TINY_HTP_FEATURES, preset("htp-small")],
                         ids=["d3dp", "htp", "htp-features", "htp-small"])
def test_analytic_count_matches_hooks(cfg):
    rep = count_macs(cfg)
    scoring = rep.stages.get("tcep", 0) + rep.stages.get("mgptp_score", 0)
    # hooks see Linear layers and attention, not the parameter-free scoring matmuls of TCEP/MGPTP
    assert _hooked_macs(cfg) == rep.total - scoring


def test_d3dp_reference_figures():
    rep = count_macs(preset("d3dp"))
    assert round(rep.linear / 1e9, 1) == 138.6 and round(rep.attention / 1e9, 1) == 8.8
    assert round(rep.total / 1e9, 1) == 147.4


def test_htp_preset_meets_the_budget():
    assert count_macs(preset("htp")).total <= 0.43 * count_macs(preset("d3dp")).total
