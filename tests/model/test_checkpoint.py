import dataclasses

import pytest
import torch

from htp_edge.errors import HtpEdgeError
from htp_edge.model.checkpoint import PREFIX, load_model, save_checkpoint
from htp_edge.model.denoiser import DiffusionPoseModel
from tests.conftest import TINY, TINY_HTP


def _d3dp_file(path, state):
    """A checkpoint exactly as D3DP writes it: no htp_edge record, 'module.' prefixes."""
    torch.save({"epoch": 3, "lr": 1e-4, "random_state": None, "optimizer": {},
                "model_pos": {PREFIX + k: v for k, v in state.items()}}, path)
    return path


def test_roundtrip_is_strict_and_exact(tmp_path):
    net = DiffusionPoseModel(TINY_HTP)
    path = save_checkpoint(tmp_path / "m.pt", net, epoch=2, record={"final_loss": 0.1})
    ckpt = torch.load(path, weights_only=True)
    assert set(ckpt) >= {"epoch", "lr", "random_state", "optimizer", "model_pos"}
    assert all(k.startswith("module.") for k in ckpt["model_pos"])
    loaded, meta = load_model(path)
    assert loaded.config == TINY_HTP and meta["final_loss"] == 0.1
    for k, v in net.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k])


def test_d3dp_layout_without_record_infers_architecture(tmp_path):
    cfg = dataclasses.replace(TINY, embed_dim=16, num_heads=8)
    net = DiffusionPoseModel(cfg)
    loaded, meta = load_model(_d3dp_file(tmp_path / "d3dp.bin", net.state_dict()))
    assert meta == {} and loaded.config.frames == 9 and loaded.config.depth == 3
    assert torch.equal(loaded.pose_estimator.head[1].weight, net.pose_estimator.head[1].weight)


def test_d3dp_checkpoint_initialises_htp_shared_weights(tmp_path):
    net = DiffusionPoseModel(dataclasses.replace(TINY, num_heads=8, depth=4))
    loaded, _ = load_model(_d3dp_file(tmp_path / "d.pt", net.state_dict()), model="htp")
    assert loaded.config.prunes and loaded.pose_estimator.tra is not None
    assert torch.equal(loaded.pose_estimator.STEblocks[1].attn.qkv.weight,
                       net.pose_estimator.STEblocks[1].attn.qkv.weight)


def test_missing_key_is_named(tmp_path):
    state = DiffusionPoseModel(TINY).state_dict()
    del state["pose_estimator.TTEblocks.1.mlp.fc2.bias"]
    with pytest.raises(HtpEdgeError, match=r"missing keys: pose_estimator\.TTEblocks\.1\.mlp\.fc2\.bias"):
        load_model(_d3dp_file(tmp_path / "x.pt", state))


def test_unexpected_and_misshaped_keys_are_named(tmp_path):
    net = DiffusionPoseModel(TINY_HTP)
    path = save_checkpoint(tmp_path / "m.pt", net)
    ckpt = torch.load(path, weights_only=True)
    ckpt["model_pos"]["module.pose_estimator.extra"] = torch.zeros(1)
    ckpt["model_pos"]["module.pose_estimator.tra.x_token"] = torch.zeros(1, 5, 16)
    torch.save(ckpt, path)
    with pytest.raises(HtpEdgeError,
                       match=r"unexpected keys: pose_estimator\.extra.*mis-shaped keys: pose_estimator\.tra\.x_token"):
        load_model(path)


def test_foreign_and_missing_files(tmp_path):
    bad = tmp_path / "junk.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(HtpEdgeError, match="not a readable PyTorch checkpoint"):
        load_model(bad)
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(HtpEdgeError, match="not in D3DP's layout"):
        load_model(tmp_path / "other.pt")
    with pytest.raises(HtpEdgeError, match="file not found"):
        load_model(tmp_path / "nope.pt")
