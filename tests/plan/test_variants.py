"""Checkpoints at other n1 / f: which weights carry over, and that the variant runs."""
from __future__ import annotations

import pytest
import torch

from htp_edge.errors import HtpEdgeError
from htp_edge.model.checkpoint import load_model
from htp_edge.plan.variants import POS_EMBED, adapt_state, describe, resample_tokens, variant_checkpoint


def test_describe_reads_the_trained_counts(tiny_htp_ckpt):
    info = describe(str(tiny_htp_ckpt))
    assert (info.frames, info.n1, info.f, info.model) == (9, 6, 3, "htp-tiny")
    assert len(info.sha256) == 64 and info.is_trained(6, 3) and not info.is_trained(4, 3)


def test_trained_counts_run_the_checkpoint_itself(tiny_htp_ckpt, tmp_path):
    info = describe(str(tiny_htp_ckpt))
    assert variant_checkpoint(info, 6, 3, tmp_path) == str(tiny_htp_ckpt)
    assert not any(tmp_path.iterdir())


def test_other_n1_keeps_every_weight(tiny_htp_ckpt, tmp_path):
    info = describe(str(tiny_htp_ckpt))
    path = variant_checkpoint(info, 4, 3, tmp_path)
    base, _ = load_model(tiny_htp_ckpt)
    net, meta = load_model(path)
    assert (net.config.pruning.n1, net.config.pruning.f) == (4, 3)
    a, b = base.state_dict(), net.state_dict()
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
    assert meta["plan_variant"]["trained_n1"] == 6 and meta["plan_variant"]["pos_embed_token"] == "unchanged"
    x2d = torch.zeros(2, 9, 17, 2).uniform_(-1, 1)
    x0, kept = net.pose_estimator(x2d, torch.randn(2, 9, 17, 3), torch.tensor([999.0, 500.0]), return_kept=True)
    assert x0.shape == (2, 9, 17, 3) and kept.shape == (2, 3)


def test_other_f_resamples_the_token_embedding(tiny_htp_ckpt, tmp_path):
    info = describe(str(tiny_htp_ckpt))
    base, _ = load_model(tiny_htp_ckpt)
    net, meta = load_model(variant_checkpoint(info, 6, 5, tmp_path))
    old, new = base.state_dict()[POS_EMBED], net.state_dict()[POS_EMBED]
    assert new.shape == (1, 5, old.shape[2])
    assert torch.allclose(new[0, 0], old[0, 0]) and torch.allclose(new[0, -1], old[0, -1])
    assert torch.allclose(new[0, 2], old[0, 1])  # 3 -> 5 rows: the middle row lands on the middle
    assert meta["plan_variant"]["pos_embed_token"] == "resampled linearly"
    others = [k for k in base.state_dict() if k != POS_EMBED]
    assert all(torch.equal(base.state_dict()[k], net.state_dict()[k]) for k in others)


def test_f_equal_n1_switches_mgptp_off(tiny_htp_ckpt, tmp_path):
    net, _ = load_model(variant_checkpoint(describe(str(tiny_htp_ckpt)), 4, 4, tmp_path))
    assert net.config.tcep_active and not net.config.mgptp_active and POS_EMBED not in net.state_dict()


def test_resample_between_lengths():
    table = torch.arange(6, dtype=torch.float32).reshape(1, 3, 2)  # rows (0,1), (2,3), (4,5)
    assert torch.equal(resample_tokens(table, 3), table)
    assert resample_tokens(table, 5)[0, 1].tolist() == [1.0, 2.0]
    assert resample_tokens(table[:, :1], 4).shape == (1, 4, 2)


def test_adapt_state_refuses_other_shape_changes():
    with pytest.raises(HtpEdgeError, match="changes shape"):
        adapt_state({"a": torch.zeros(2)}, {"a": torch.zeros(3)})
    with pytest.raises(HtpEdgeError, match="lacks"):
        adapt_state({}, {"a": torch.zeros(3)})


def test_d3dp_has_no_knobs(tmp_path):
    info = describe("d3dp-small")
    assert info.n1 is None and info.f is None
    assert variant_checkpoint(info, None, None, tmp_path) == "d3dp-small"
    with pytest.raises(HtpEdgeError, match="no pruning knobs"):
        variant_checkpoint(info, 9, 4, tmp_path)
