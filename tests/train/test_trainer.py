"""A two-iteration training smoke run on real-motion batches, checkpoint layout and resume."""
import numpy as np
import pytest
import torch

from htp_edge.errors import HtpEdgeError
from htp_edge.model.checkpoint import load_model
from htp_edge.train.data import motion_batches
from htp_edge.train.objective import DiffusionObjective
from htp_edge.train.trainer import TrainConfig, train
from tests.conftest import TINY_HTP


def test_two_iteration_smoke_run_and_resume(tmp_path):
    batches = motion_batches(TINY_HTP.frames, batch_size=2)
    cfg = TrainConfig(model="htp", epochs=1, iters_per_epoch=2, batch_size=2, warmup_iters=1)
    out = tmp_path / "m.pt"
    r = train(cfg, batches, out, progress=False, model_config=TINY_HTP)
    assert r["epochs"] == 1 and np.isfinite(r["final_loss"]) and r["final_loss"] > 0
    ckpt = torch.load(out, weights_only=True)
    assert ckpt["epoch"] == 1 and all(k.startswith("module.") for k in ckpt["model_pos"])
    net, meta = load_model(out)
    assert net.config == TINY_HTP and len(meta["history"]) == 1
    r2 = train(TrainConfig(model="htp", epochs=2, iters_per_epoch=2, batch_size=2, warmup_iters=1), batches, out,
               resume=True, progress=False, model_config=TINY_HTP)
    assert [h["epoch"] for h in r2["history"]] == [1, 2]


def test_training_is_deterministic_with_a_seed(tmp_path):
    batches = motion_batches(TINY_HTP.frames, batch_size=2)
    cfg = TrainConfig(model="htp", epochs=1, iters_per_epoch=2, batch_size=2, warmup_iters=1, seed=3)
    a = train(cfg, batches, tmp_path / "a.pt", progress=False, model_config=TINY_HTP)["final_loss"]
    b = train(cfg, batches, tmp_path / "b.pt", progress=False, model_config=TINY_HTP)["final_loss"]
    assert a == b


def test_objective_zeroes_the_root_and_clamps():
    obj = DiffusionObjective()
    x0 = torch.full((3, 4, 17, 3), 5.0)
    x_t, t = obj.noised(x0, torch.Generator().manual_seed(0))
    assert x_t.abs().max() <= 1.1 and t.shape == (3,) and 0 <= t.min() and t.max() <= 999


def test_bad_train_config():
    with pytest.raises(HtpEdgeError, match="epochs"):
        TrainConfig(epochs=0)


def test_warm_start_continues_from_the_weights_and_records_the_source(tmp_path):
    batches = motion_batches(TINY_HTP.frames, batch_size=2)
    cfg = TrainConfig(model="htp", epochs=1, iters_per_epoch=2, batch_size=2, warmup_iters=1)
    first = tmp_path / "first.pt"
    train(cfg, batches, first, progress=False, model_config=TINY_HTP)
    start, _ = load_model(first)
    # lr ~ 0: the warm-started weights come out (almost) unchanged, a fresh start would not
    still = TrainConfig(model="htp", epochs=1, iters_per_epoch=1, batch_size=2, warmup_iters=10 ** 9, lr=1e-12)
    out = tmp_path / "ft.pt"
    train(still, batches, out, progress=False, model_config=TINY_HTP, init=first)
    tuned, meta = load_model(out)
    for (name, a), b in zip(start.state_dict().items(), tuned.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), name
    assert meta["init"]["checkpoint"] == str(first) and meta["init"]["epoch"] == 1
    assert len(meta["init"]["sha256"]) == 64 and meta["init"]["train_config"]["iters_per_epoch"] == 2
    fresh = tmp_path / "fresh.pt"
    train(still, batches, fresh, progress=False, model_config=TINY_HTP)
    other, _ = load_model(fresh)
    assert not torch.allclose(start.state_dict()["pose_estimator.head.1.weight"],
                              other.state_dict()["pose_estimator.head.1.weight"])
    # resuming the warm-started run keeps its provenance
    train(TrainConfig(model="htp", epochs=2, iters_per_epoch=1, batch_size=2, warmup_iters=1), batches, out,
          resume=True, progress=False, model_config=TINY_HTP)
    assert load_model(out)[1]["init"]["sha256"] == meta["init"]["sha256"]


def test_warm_start_refuses_another_architecture(tmp_path):
    batches = motion_batches(TINY_HTP.frames, batch_size=2)
    cfg = TrainConfig(model="htp", epochs=1, iters_per_epoch=1, batch_size=2, warmup_iters=1)
    with pytest.raises(HtpEdgeError, match="--init htp-small cannot start"):
        train(cfg, batches, tmp_path / "x.pt", progress=False, model_config=TINY_HTP, init="htp-small")
    assert not (tmp_path / "x.pt").exists()
