"""Training recipes (--recipe d3dp), their overrides and record, D3DP's schedule, mixed precision."""
import argparse
import dataclasses

import pytest
import torch

import htp_edge.model.config as model_config
from htp_edge.cli import cmd_train
from htp_edge.cli.main import main
from htp_edge.errors import HtpEdgeError
from htp_edge.model.checkpoint import read_checkpoint, save_checkpoint
from htp_edge.model.denoiser import DiffusionPoseModel
from htp_edge.train.recipes import D3DP, DEFAULT, Recipe, d3dp_iters_per_epoch, override, recipe
from htp_edge.train.trainer import TrainConfig
from tests.conftest import TINY_HTP


@pytest.fixture(autouse=True)
def tiny_preset(monkeypatch):
    presets = model_config._presets
    monkeypatch.setattr(model_config, "_presets", lambda: {**presets(), "htp-tiny": TINY_HTP})


def _train(out, *flags):
    return main(["train", "--model", "htp-tiny", "--out", str(out), "--epochs", "1", "--iters-per-epoch", "1",
                 "--batch-size", "2", "--no-eval", *flags])


def _args(*flags):
    parser = argparse.ArgumentParser()
    cmd_train.add_arguments(parser)
    return parser.parse_args(["--out", "x.pt", *flags])


def test_the_d3dp_recipe_is_d3dps_main_py():
    # paTRICK-swk/D3DP common/arguments.py defaults and main.py's optimiser
    r = recipe("d3dp")
    assert (r.lr, r.lr_decay, r.weight_decay, r.epochs, r.batch_size) == (6e-5, 0.993, 0.1, 400, 1024 // 243)
    assert (r.schedule, r.warmup_iters, r.grad_clip, r.loss, r.drop_path) == ("exp", 0, 0.0, "mpjpe2", 0.1)
    assert r.flip and r.timesteps == 1000 and r.iters_per_epoch is None
    assert (r.part_mix, r.limb_rotation, r.tilt) == (0.0, 0.0, 0.0)  # D3DP augments by flipping only
    with pytest.raises(HtpEdgeError, match="unknown recipe. Expected one of default, d3dp, got 'x'"):
        recipe("x")


def test_recipes_are_validated_and_flags_override_them():
    with pytest.raises(dataclasses.FrozenInstanceError):
        D3DP.lr = 1.0
    with pytest.raises(HtpEdgeError, match="unknown schedule"):
        dataclasses.replace(DEFAULT, schedule="step")
    with pytest.raises(HtpEdgeError, match="has 1000 timesteps"):
        dataclasses.replace(D3DP, timesteps=500)
    r = override(D3DP, lr=1e-4, epochs=None, batch_size=8)
    assert (r.lr, r.epochs, r.batch_size, r.lr_decay) == (1e-4, 400, 8, 0.993)
    assert isinstance(r, Recipe) and r.name == "d3dp"


def test_a_d3dp_epoch_is_every_chunk_once_and_once_flipped():
    # 243 -> 1 chunk, 244 -> 2 (the last padded), 10 -> 1: 4 chunks, 8 with their flips, 4 a step
    assert d3dp_iters_per_epoch([243, 244, 10], 243, 4) == 2
    assert d3dp_iters_per_epoch([243, 244, 10], 243, 4, flip=False) == 1
    assert d3dp_iters_per_epoch([243, 244, 10], 243, 3) == 3  # the last step partial
    with pytest.raises(HtpEdgeError, match="Pass --iters-per-epoch"):
        d3dp_iters_per_epoch([], 243, 4)


def test_the_exp_schedule_decays_per_epoch():
    cfg = TrainConfig(epochs=3, iters_per_epoch=10, lr=6e-5, schedule="exp", lr_decay=0.993, warmup_iters=0)
    lrs = [cfg.lr_at(i) for i in range(30)]
    assert lrs[:10] == [6e-5] * 10 and lrs[10] == pytest.approx(6e-5 * 0.993) and lrs[29] == pytest.approx(
        6e-5 * 0.993 ** 2)
    with pytest.raises(HtpEdgeError, match="lr-decay must be in"):
        TrainConfig(lr_decay=1.5)


def test_cli_recipe_resolution_and_the_d3dp_epoch_length():
    class Batches:
        sequence_lengths = (243, 244, 10)
    args = _args("--recipe", "d3dp", "--model", "htp", "--lr", "1e-4")
    cfg = cmd_train._train_config(args, cmd_train._recipe(args), Batches(), 243)
    assert (cfg.recipe, cfg.lr, cfg.lr_decay, cfg.batch_size, cfg.iters_per_epoch) == ("d3dp", 1e-4, 0.993, 4, 2)
    assert (cfg.loss, cfg.grad_clip, cfg.warmup_iters, cfg.drop_path_rate, cfg.frames) == ("mpjpe2", 0.0, 0, 0.1, None)
    plain = _args()
    cfg = cmd_train._train_config(plain, cmd_train._recipe(plain), None, 27)  # the default recipe: old defaults
    assert (cfg.epochs, cfg.iters_per_epoch, cfg.batch_size, cfg.lr, cfg.weight_decay) == (12, 150, 16, 1e-3, 0.05)
    assert (cfg.schedule, cfg.warmup_iters, cfg.grad_clip, cfg.loss, cfg.drop_path_rate) == ("cosine", 100, 1.0,
                                                                                            "mpjpe", 0.1)
    with pytest.raises(HtpEdgeError, match="does not list them. Expected --iters-per-epoch N"):
        cmd_train._train_config(args, cmd_train._recipe(args), object(), 243)


def test_a_d3dp_recipe_run_records_the_recipe(tmp_path):
    out = tmp_path / "d.pt"
    assert _train(out, "--recipe", "d3dp", "--lr", "2e-5") == 0
    meta = read_checkpoint(out)["htp_edge"]
    tc = meta["train_config"]
    assert (tc["recipe"], tc["lr"], tc["schedule"], tc["loss"], tc["grad_clip"], tc["batch_size"]) == (
        "d3dp", 2e-5, "exp", "mpjpe2", 0.0, 2)
    assert meta["recipe"] == D3DP.record()  # the recipe as published; train_config holds what ran
    assert meta["data"]["augment"]["part_mix_prob"] == 0.0 and meta["data"]["augment"]["tilt_prob"] == 0.0


def test_resume_refuses_another_recipe_and_accepts_records_older_than_recipes(tmp_path, capsys):
    out = tmp_path / "m.pt"
    assert _train(out) == 0
    capsys.readouterr()
    assert _train(out, "--resume", "--epochs", "2", "--recipe", "d3dp") == 2
    err = capsys.readouterr().err
    assert "--recipe d3dp (checkpoint default)" in err and "--lr 6e-05 (checkpoint 0.001)" in err, err
    ckpt = read_checkpoint(out)  # a record written before recipes, schedules and --amp existed
    meta = ckpt["htp_edge"]
    for key in ("schedule", "lr_decay", "loss", "amp", "recipe", "frames"):
        del meta["train_config"][key]
    net = DiffusionPoseModel(TINY_HTP)
    net.load_state_dict({k[len("module."):]: v for k, v in ckpt["model_pos"].items()})
    save_checkpoint(out, net, epoch=1, optimizer=ckpt["optimizer"], record={k: v for k, v in meta.items()
                                                                            if k != "config"})
    assert _train(out, "--resume", "--epochs", "2") == 0, capsys.readouterr().err
    assert read_checkpoint(out)["epoch"] == 2


def test_amp_fp16_on_the_cpu_is_one_clear_error_and_bf16_runs(tmp_path, capsys):
    out = tmp_path / "a.pt"
    assert _train(out, "--amp", "fp16") == 2
    err = capsys.readouterr().err
    assert "--amp fp16 needs a CUDA device" in err and "Use --amp bf16 on the CPU" in err and len(
        err.strip().splitlines()) == 1, err
    assert not out.exists()
    assert _train(out, "--amp", "bf16", "--json") == 0
    meta = read_checkpoint(out)["htp_edge"]
    assert meta["train_config"]["amp"] == "bf16" and torch.isfinite(torch.tensor(meta["final_loss"]))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_amp_fp16_on_a_gpu_trains_and_checkpoints_its_grad_scaler(tmp_path):
    out = tmp_path / "g.pt"
    assert _train(out, "--device", "cuda", "--amp", "fp16") == 0
    meta = read_checkpoint(out)["htp_edge"]
    assert meta["train_config"]["amp"] == "fp16" and meta["amp"]["scale"] > 0
    assert torch.isfinite(torch.tensor(meta["final_loss"]))
    assert _train(out, "--device", "cuda", "--amp", "fp16", "--resume", "--epochs", "2") == 0
    assert read_checkpoint(out)["epoch"] == 2
