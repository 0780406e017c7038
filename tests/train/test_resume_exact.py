"""`htp-edge train --resume` after a kill is the uninterrupted run, bit for bit; other flags are refused.

The runs go through the CLI (``main``) with a tiny preset added for the test, so the whole path
counts: the flags, the augmentation and worker record, stochastic depth (--drop-path 0.1), the
sampler and the diffusion noise. A run is "killed" by a KeyboardInterrupt in the middle of an
epoch, after the previous epoch's checkpoint and with batches already drawn (and, with
--workers, prefetched) past it.
"""
import pytest
import torch

import htp_edge.model.config as model_config
from htp_edge.cli.main import main
from htp_edge.train.objective import DiffusionObjective
from tests.conftest import TINY_HTP

EPOCHS, ITERS = 2, 2


@pytest.fixture(autouse=True)
def tiny_preset(monkeypatch):
    presets = model_config._presets
    monkeypatch.setattr(model_config, "_presets", lambda: {**presets(), "htp-tiny": TINY_HTP})


def _train(out, *flags):
    return main(["train", "--model", "htp-tiny", "--out", str(out), "--epochs", str(EPOCHS), "--iters-per-epoch",
                 str(ITERS), "--batch-size", "2", "--seed", "3", "--no-eval", *flags])


def _kill_at_step(monkeypatch, step):
    """The ``step``-th training step (1-based) raises KeyboardInterrupt before it computes anything."""
    real, calls = DiffusionObjective.loss, []

    def loss(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == step:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)
    monkeypatch.setattr(DiffusionObjective, "loss", loss)


def _assert_same(a, b, where="checkpoint"):
    """Equal nested checkpoint values; tensors bit for bit (torch.equal, same dtype)."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), where
        for key in a:
            _assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


@pytest.mark.parametrize("workers", [0, 2])
def test_resume_after_a_kill_is_the_uninterrupted_run_bit_for_bit(tmp_path, monkeypatch, capsys, workers):
    flags = ["--workers", str(workers)]
    full, part = tmp_path / "full.pt", tmp_path / "part.pt"
    assert _train(full, *flags) == 0
    with monkeypatch.context() as m:
        _kill_at_step(m, ITERS + 2)  # the second step of epoch 2
        assert _train(part, *flags) == 130
    assert torch.load(part, weights_only=True)["epoch"] == 1
    assert _train(part, "--resume", *flags) == 0
    assert "resuming part.pt after epoch 1" in capsys.readouterr().err
    a, b = (torch.load(p, weights_only=True) for p in (full, part))  # safe load: RNG states included
    assert a["epoch"] == b["epoch"] == EPOCHS
    assert set(a["model_pos"]) == set(b["model_pos"])
    for name, tensor in a["model_pos"].items():
        assert torch.equal(tensor, b["model_pos"][name]), name
    _assert_same(a["optimizer"], b["optimizer"], "optimizer")
    _assert_same(a["htp_edge"]["rng"], b["htp_edge"]["rng"], "rng")  # the next resume would match too
    assert a["htp_edge"]["rng"]["stream"]["consumed"] == EPOCHS * ITERS
    assert [h["loss"] for h in a["htp_edge"]["history"]] == [h["loss"] for h in b["htp_edge"]["history"]]


def test_resume_refuses_other_flags_and_allows_more_epochs(tmp_path, capsys):
    out = tmp_path / "m.pt"
    assert _train(out, "--epochs", "1") == 0
    before = out.read_bytes()
    capsys.readouterr()
    code = _train(out, "--resume", "--epochs", "3", "--lr", "0.002", "--batch-size", "4", "--part-mix", "0",
                  "--limb-rotation", "0", "--workers", "2")
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "--resume m.pt was started with other settings" in err
    for flag in ("--lr 0.002 (checkpoint 0.001)", "--batch-size 4 (checkpoint 2)", "--part-mix 0.0 (checkpoint 0.5)",
                 "--limb-rotation 0.0 (checkpoint 25.0)", "--workers 2 (checkpoint 0)"):
        assert flag in err, err
    assert "--epochs 3" not in err and "--seed" not in err and err.count("--limb-rotation") == 1
    assert out.read_bytes() == before  # nothing written
    assert _train(out, "--resume", "--epochs", "2") == 0  # training longer is allowed
    assert torch.load(out, weights_only=True)["epoch"] == 2
