"""A two-iteration training smoke run on real-motion batches, checkpoint layout and resume."""
import dataclasses

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
    with pytest.raises(HtpEdgeError, match="newest-weight"):
        TrainConfig(newest_weight=0)


def test_newest_weight_puts_the_loss_on_the_last_frame():
    from htp_edge.train.objective import mpjpe, weighted_mpjpe
    target = torch.zeros(2, 5, 17, 3)
    pred = target.clone()
    pred[:, -1, :, 0] = 1.0  # only the newest frame is off, by 1
    assert mpjpe(pred, target).item() == pytest.approx(1 / 5)
    assert weighted_mpjpe(pred, target, 1.0).item() == pytest.approx(1 / 5)
    assert weighted_mpjpe(pred, target, 8.0).item() == pytest.approx(8 / 12)
    pred = target.clone()
    pred[:, 0, :, 0] = 1.0  # only the oldest frame is off
    assert weighted_mpjpe(pred, target, 8.0).item() == pytest.approx(1 / 12)
    # the objective uses it, and weight 1 is the plain MPJPE
    gen = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    net = lambda x2d, x_t, t: torch.zeros_like(x_t)  # noqa: E731
    x2d, x3d = torch.zeros(2, 5, 17, 2), torch.rand(2, 5, 17, 3, generator=gen())
    plain = DiffusionObjective().loss(net, x2d, x3d, gen())
    assert DiffusionObjective(newest_weight=1.0).loss(net, x2d, x3d, gen()) == plain
    x0 = x3d.clone()
    x0[:, :, 0] = 0
    assert DiffusionObjective(newest_weight=4.0).loss(net, x2d, x3d, gen()).item() == pytest.approx(
        weighted_mpjpe(torch.zeros_like(x0), x0, 4.0).item())


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
    # resuming the warm-started run (same settings, more epochs) keeps its provenance
    train(dataclasses.replace(still, epochs=2), batches, out, resume=True, progress=False, model_config=TINY_HTP)
    assert load_model(out)[1]["init"]["sha256"] == meta["init"]["sha256"]


def test_warm_start_refuses_another_architecture(tmp_path):
    batches = motion_batches(TINY_HTP.frames, batch_size=2)
    cfg = TrainConfig(model="htp", epochs=1, iters_per_epoch=1, batch_size=2, warmup_iters=1)
    with pytest.raises(HtpEdgeError, match="--init htp-small cannot start"):
        train(cfg, batches, tmp_path / "x.pt", progress=False, model_config=TINY_HTP, init="htp-small")
    assert not (tmp_path / "x.pt").exists()


def test_worker_batches_are_fixed_by_seed_and_worker_count():
    def first(workers, seed, n=4):
        stream = motion_batches(TINY_HTP.frames, batch_size=2, workers=workers)(np.random.default_rng(seed))
        return [next(stream) for _ in range(n)]
    a, b, c = first(2, 5), first(2, 5), first(2, 6)
    for (x2a, x3a), (x2b, x3b) in zip(a, b):
        np.testing.assert_array_equal(x2a, x2b)
        np.testing.assert_array_equal(x3a, x3b)
    assert a[0][0].shape == (2, TINY_HTP.frames, 17, 2) and a[0][1].shape == (2, TINY_HTP.frames, 17, 3)
    assert not np.array_equal(a[0][1], c[0][1])
    assert not np.array_equal(a[0][1], a[1][1])  # the two workers draw different batches


def test_training_with_workers_runs_and_records_them(tmp_path):
    batches = motion_batches(TINY_HTP.frames, batch_size=2, workers=2)
    cfg = TrainConfig(model="htp", epochs=1, iters_per_epoch=3, batch_size=2, warmup_iters=1)
    r = train(cfg, batches, tmp_path / "w.pt", progress=False, model_config=TINY_HTP, data_record={"workers": 2})
    assert np.isfinite(r["final_loss"])
    _, meta = load_model(tmp_path / "w.pt")
    assert meta["data"]["workers"] == 2 and meta["train_config"]["device"] == "cpu"


def test_bad_device_and_workers():
    with pytest.raises(HtpEdgeError, match="unknown device. Expected cpu, cuda or cuda:N, got 'tpu'"):
        TrainConfig(device="tpu")
    with pytest.raises(HtpEdgeError, match="workers must be >= 0"):
        motion_batches(TINY_HTP.frames, batch_size=2, workers=-1)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error where no CUDA GPU is present")
def test_cuda_device_without_a_gpu_is_one_clear_error(tmp_path):
    cfg = TrainConfig(model="htp", epochs=1, iters_per_epoch=1, batch_size=2, device="cuda")
    with pytest.raises(HtpEdgeError, match="--device cuda needs a CUDA GPU"):
        train(cfg, motion_batches(TINY_HTP.frames, batch_size=2), tmp_path / "x.pt", progress=False,
              model_config=TINY_HTP)
    assert not (tmp_path / "x.pt").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_training_matches_cpu_at_the_first_step(tmp_path):
    # same seed, same batches, same noise draws: the first loss agrees to float tolerance
    cfg = dict(model="htp", epochs=1, iters_per_epoch=1, batch_size=2, warmup_iters=1, seed=4)
    losses = [train(TrainConfig(**cfg, device=d), motion_batches(TINY_HTP.frames, batch_size=2),
                    tmp_path / f"{d}.pt", progress=False, model_config=TINY_HTP)["final_loss"]
              for d in ("cpu", "cuda")]
    assert losses[1] == pytest.approx(losses[0], rel=1e-3)
    net, _ = load_model(tmp_path / "cuda.pt")
    assert all(p.device.type == "cpu" for p in net.parameters())


def test_resume_accepts_a_checkpoint_written_before_a_config_field_existed(tmp_path):
    batches = motion_batches(TINY_HTP.frames, batch_size=2)
    cfg = TrainConfig(model="htp", epochs=1, iters_per_epoch=1, batch_size=2, warmup_iters=1)
    out = tmp_path / "old.pt"
    train(cfg, batches, out, progress=False, model_config=TINY_HTP)
    ckpt = torch.load(out, weights_only=True)
    del ckpt["htp_edge"]["config"]["pruning"]["plan_space"]  # as written before plan_space was added
    del ckpt["htp_edge"]["train_config"]["newest_weight"]
    torch.save(ckpt, out)
    r = train(dataclasses.replace(cfg, epochs=2), batches, out, resume=True, progress=False, model_config=TINY_HTP)
    assert [h["epoch"] for h in r["history"]] == [1, 2]
