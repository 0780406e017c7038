"""One pruning stage alone (`train --pruning tcep|mgptp`, the ablation) and warm starts across stages."""
import pytest
import torch

from htp_edge.errors import HtpEdgeError
from htp_edge.model.checkpoint import load_model, pruning_param_prefixes, save_checkpoint
from htp_edge.model.config import causal_variant, preset, with_pruning_stages
from htp_edge.model.denoiser import DiffusionPoseModel
from htp_edge.model.macs import count_macs
from htp_edge.train.data import motion_batches
from htp_edge.train.trainer import TrainConfig, train
from tests.conftest import TINY, TINY_HTP


def test_one_stage_alone_keeps_the_other_off_and_costs_between_none_and_both():
    htp = preset("htp-small")
    tcep, mgptp = with_pruning_stages(htp, "tcep"), with_pruning_stages(htp, "mgptp")
    assert with_pruning_stages(htp, "both") is htp
    assert (tcep.name, tcep.tcep_active, tcep.mgptp_active) == ("htp-small-tcep", True, False)
    assert (mgptp.name, mgptp.tcep_active, mgptp.mgptp_active) == ("htp-small-mgptp", False, True)
    total = {c.name: count_macs(c).linear + count_macs(c).attention for c in (htp, tcep, mgptp, preset("d3dp-small"))}
    for one in ("htp-small-tcep", "htp-small-mgptp"):
        assert total["htp-small"] < total[one] < total["d3dp-small"]
    assert with_pruning_stages(causal_variant(htp), "tcep").name == "htp-small-tcep-causal"


def test_bad_stage_choices_are_one_clear_error():
    with pytest.raises(HtpEdgeError, match="unknown pruning stages"):
        with_pruning_stages(preset("htp-small"), "tra")
    with pytest.raises(HtpEdgeError, match="d3dp-small has no pruning"):
        with_pruning_stages(preset("d3dp-small"), "tcep")


@pytest.mark.parametrize("stages", ["tcep", "mgptp"])
def test_a_one_stage_model_runs_and_round_trips(tmp_path, stages):
    cfg = with_pruning_stages(TINY_HTP, stages)
    torch.manual_seed(0)
    path = save_checkpoint(tmp_path / "m.pt", DiffusionPoseModel(cfg))
    net, _ = load_model(path)
    assert net.config == cfg
    x2d = torch.randn(2, cfg.frames, 17, 2)
    with torch.no_grad():
        out = net.pose_estimator(x2d, torch.randn(2, cfg.frames, 17, 3), torch.zeros(2, dtype=torch.long))
    assert out.shape == (2, cfg.frames, 17, 3) and torch.isfinite(out).all()


def _still(iters=1):  # lr ~ 0: the weights come out as they went in
    return TrainConfig(model="x", epochs=1, iters_per_epoch=iters, batch_size=2, warmup_iters=10 ** 9, lr=1e-12)


def test_warm_start_across_stages_drops_and_keeps_only_the_stage_weights(tmp_path):
    batches = motion_batches(TINY_HTP.frames, batch_size=2)
    torch.manual_seed(1)
    source = save_checkpoint(tmp_path / "htp.pt", DiffusionPoseModel(TINY_HTP))
    src = load_model(source)[0].state_dict()
    stage = pruning_param_prefixes()
    # an unpruned model from HTP's weights: the backbone carried over, the stages' weights dropped
    r = train(_still(), batches, tmp_path / "d3dp.pt", progress=False, model_config=TINY, init=source)
    net, meta = load_model(tmp_path / "d3dp.pt")
    assert r["final_loss"] > 0 and meta["init"]["fresh"] == []
    assert meta["init"]["dropped"] == sorted(k for k in src if k.startswith(stage))
    for key, value in net.state_dict().items():
        assert torch.allclose(value, src[key], atol=1e-6), key
    # and back: HTP from the unpruned weights keeps its stages' fresh values, recorded
    train(_still(), batches, tmp_path / "back.pt", progress=False, model_config=TINY_HTP, init=tmp_path / "d3dp.pt")
    meta = load_model(tmp_path / "back.pt")[1]
    assert meta["init"]["fresh"] == sorted(k for k in src if k.startswith(stage)) and meta["init"]["dropped"] == []


def test_warm_start_still_refuses_a_backbone_of_another_size(tmp_path):
    torch.manual_seed(1)
    source = save_checkpoint(tmp_path / "htp.pt", DiffusionPoseModel(TINY_HTP))
    bigger = TINY.__class__(**{**TINY.__dict__, "embed_dim": 32})
    with pytest.raises(HtpEdgeError, match="cannot start .*mis-shaped"):
        train(_still(), motion_batches(TINY.frames, batch_size=2), tmp_path / "x.pt", progress=False,
              model_config=bigger, init=source)
    assert not (tmp_path / "x.pt").exists()
