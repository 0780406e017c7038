"""Data-parallel training over torch.distributed (gloo, two CPU processes) is the single-process run.

Two ranks spawned on a free localhost port run :func:`train` on the same seeded global batches;
each takes its half. Compared with one process on the same batches: the loss, the gradients
(AdamW's first moment after one step is 0.1 x the gradient), the weights after the step; a run
stopped after epoch 1 and resumed on two ranks ends bit for bit where the uninterrupted two-rank
run ends, and within float tolerance where one process ends. Then the CLI under ``torchrun``:
one checkpoint, written by rank 0, one JSON result.
"""
import dataclasses
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from htp_edge.errors import HtpEdgeError
from htp_edge.model.checkpoint import load_model
from htp_edge.train.distributed import Group, start
from htp_edge.train.trainer import TrainConfig, train
from tests.conftest import TINY_HTP

BATCH = 4
# the d3dp recipe's step (exp decay, MPJPE^2/2 gradient, no clipping) and the default one (cosine, clip 1)
D3DP_STEP = TrainConfig(model="htp", epochs=1, iters_per_epoch=1, batch_size=BATCH, lr=1e-3, weight_decay=0.1,
                        warmup_iters=0, grad_clip=0.0, schedule="exp", lr_decay=0.993, loss="mpjpe2", seed=5)
DEFAULT_STEP = dataclasses.replace(D3DP_STEP, grad_clip=1.0, schedule="cosine", loss="mpjpe", warmup_iters=1)
TWO_EPOCHS = dataclasses.replace(D3DP_STEP, epochs=2, iters_per_epoch=2)
JOBS = (("d3dp.pt", D3DP_STEP, False), ("default.pt", DEFAULT_STEP, False), ("full.pt", TWO_EPOCHS, False),
        ("part.pt", dataclasses.replace(TWO_EPOCHS, epochs=1), False), ("part.pt", TWO_EPOCHS, True))


def _batches(rng: np.random.Generator):
    """Global batches (x2d (B, F, 17, 2), x3d (B, F, 17, 3)) drawn from ``rng`` as they go."""
    while True:
        x2d = rng.uniform(-1, 1, (BATCH, TINY_HTP.frames, 17, 2)).astype(np.float32)
        yield x2d, (0.3 * rng.standard_normal((BATCH, TINY_HTP.frames, 17, 3))).astype(np.float32)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank(rank: int, world: int, ports: list[int], folder: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    for port, (name, cfg, resume) in zip(ports, JOBS):
        os.environ["MASTER_PORT"] = str(port)
        result = train(cfg, _batches, Path(folder) / name, resume=resume, progress=False, model_config=TINY_HTP)
        assert result["rank"] == rank and result["world_size"] == world


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The jobs on two gloo ranks (folder ``ddp``) and in one process (folder ``one``)."""
    ddp, one = tmp_path_factory.mktemp("ddp"), tmp_path_factory.mktemp("one")
    mp.spawn(_rank, args=(2, [_free_port() for _ in JOBS], str(ddp)), nprocs=2, join=True)
    for name, cfg, _ in JOBS[:3]:
        train(cfg, _batches, one / name, progress=False, model_config=TINY_HTP, distributed=False)
    return ddp, one


def _ckpt(path):
    return torch.load(path, weights_only=True)


@pytest.mark.parametrize("name", ["d3dp.pt", "default.pt"])
def test_one_step_on_two_ranks_is_the_single_process_step(runs, name):
    ddp, one = runs
    a, b = _ckpt(one / name), _ckpt(ddp / name)
    assert b["htp_edge"]["distributed"] == {"world_size": 2, "backend": "gloo"}
    assert b["htp_edge"]["history"][0]["loss"] == pytest.approx(a["htp_edge"]["history"][0]["loss"], rel=1e-6)
    grads = 0
    for key, state in a["optimizer"]["state"].items():  # first AdamW step: exp_avg = (1 - 0.9) * gradient
        torch.testing.assert_close(b["optimizer"]["state"][key]["exp_avg"], state["exp_avg"], rtol=1e-4, atol=1e-9)
        grads += int(state["exp_avg"].abs().max() > 0)
    assert grads == len(a["optimizer"]["state"]) > 10  # every parameter got a gradient, on both
    for key, tensor in a["model_pos"].items():  # Adam's first step is lr g / (|g| + 1e-8): a gradient near
        # 1e-8 turns a float-rounding difference of the all-reduce into up to ~1e-3 lr of weight
        torch.testing.assert_close(b["model_pos"][key], tensor, rtol=1e-5, atol=1e-3 * D3DP_STEP.lr)
    moved = max((a["model_pos"][k] - v).abs().max().item() for k, v in _init_weights().items())
    assert moved > 1e-4  # the step did change the weights, so the comparison above means something


def _init_weights():
    from htp_edge.model.denoiser import DiffusionPoseModel
    torch.manual_seed(D3DP_STEP.seed)
    return {"module." + k: v for k, v in DiffusionPoseModel(TINY_HTP).state_dict().items()}


def test_two_rank_resume_is_the_uninterrupted_two_rank_run(runs):
    ddp, one = runs
    full, part, single = _ckpt(ddp / "full.pt"), _ckpt(ddp / "part.pt"), _ckpt(one / "full.pt")
    assert full["epoch"] == part["epoch"] == 2
    for key, tensor in full["model_pos"].items():
        assert torch.equal(part["model_pos"][key], tensor), key
        torch.testing.assert_close(tensor, single["model_pos"][key], rtol=1e-4, atol=1e-6)
    assert [h["loss"] for h in full["htp_edge"]["history"]] == [h["loss"] for h in part["htp_edge"]["history"]]
    assert len(full["htp_edge"]["rng"]["ranks"]) == 2  # each rank's torch generator, for the resume
    assert part["lr"] == pytest.approx(1e-3 * 0.993 ** 2)  # the lr epoch 3 would start with, as D3DP stores it
    assert sorted(p.name for p in ddp.iterdir()) == ["d3dp.pt", "default.pt", "full.pt", "part.pt"]


def test_the_global_batch_must_split_evenly_over_the_ranks():
    assert Group(1, 2, 1, "gloo").rows(4) == slice(2, 4)
    with pytest.raises(HtpEdgeError, match="does not split evenly over 2 ranks.*Use --batch-size 6"):
        Group(0, 2, 0, "gloo").rows(5)


def test_distributed_without_torchrun_is_one_clear_error(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert start(torch.device("cpu")) == (None, torch.device("cpu"))
    with pytest.raises(HtpEdgeError, match="needs torchrun's environment.*RANK, WORLD_SIZE, LOCAL_RANK missing"):
        start(torch.device("cpu"), require=True)


def test_torchrun_cli_run_writes_one_checkpoint_from_rank_0(tmp_path):
    out = tmp_path / "ckpt" / "m.pt"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(_free_port()), "-m", "htp_edge", "train", "--json", "--model", "htp-small",
           "--frames", "9", "--out", str(out), "--epochs", "1", "--iters-per-epoch", "2", "--batch-size", "2",
           "--no-eval", "--threads", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert len(lines) == 1, proc.stdout  # rank 0 alone prints its result
    result = json.loads(lines[0])
    assert result["rank"] == 0 and result["world_size"] == 2 and np.isfinite(result["final_loss"])
    assert [p.name for p in out.parent.iterdir()] == ["m.pt"]  # no temporary files left
    net, meta = load_model(out)
    assert net.config.frames == 9 and meta["distributed"]["world_size"] == 2
    ckpt = _ckpt(out)
    assert ckpt["epoch"] == 1 and all(k.startswith("module.") for k in ckpt["model_pos"])
    assert meta["train_config"]["batch_size"] == 2 and meta["recipe"]["name"] == "default"


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA GPUs (nccl)")
def test_torchrun_on_two_gpus_with_nccl_and_amp(tmp_path):
    out = tmp_path / "g.pt"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(_free_port()), "-m", "htp_edge", "train", "--json", "--model", "htp-small",
           "--out", str(out), "--epochs", "1", "--iters-per-epoch", "2", "--batch-size", "4", "--no-eval",
           "--device", "cuda", "--amp", "fp16"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = load_model(out)[1]
    assert meta["distributed"] == {"world_size": 2, "backend": "nccl"} and meta["amp"]["scale"] > 0


def test_a_two_rank_checkpoint_resumes_in_one_process_with_a_warning(runs, tmp_path, capsys):
    ddp, _ = runs
    out = tmp_path / "moved.pt"
    out.write_bytes((ddp / "full.pt").read_bytes())
    capsys.readouterr()
    result = train(dataclasses.replace(TWO_EPOCHS, epochs=3), _batches, out, resume=True, progress=False,
                   model_config=TINY_HTP, distributed=False)
    err = capsys.readouterr().err
    assert "world_size 1 (checkpoint 2)" in err and "not bit for bit" in err, err
    assert [h["epoch"] for h in result["history"]] == [1, 2, 3] and "rank" not in result
    assert "distributed" not in _ckpt(out)["htp_edge"]
