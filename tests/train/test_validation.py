"""Held-out train clips (`train --val-clips`): never drawn, scored each epoch, the best epoch kept."""
import dataclasses

import numpy as np
import pytest
import torch

from htp_edge.data import TestSetConfig, load_motion
from htp_edge.data.motion import DEFAULT_VAL_CLIPS, hold_out
from htp_edge.data.sampler import SamplerConfig, TrainSampler
from htp_edge.errors import HtpEdgeError
from htp_edge.model.checkpoint import load_model, read_checkpoint
from htp_edge.model.config import causal_variant
from htp_edge.train.data import motion_batches
from htp_edge.train.trainer import TrainConfig, train
from htp_edge.train.validation import Validation, best_path, parse_val_clips
from tests.conftest import TINY_HTP


def test_hold_out_moves_train_clips_to_val_and_the_sampler_never_draws_them():
    clips = hold_out(load_motion(), DEFAULT_VAL_CLIPS)
    assert sorted(c.name for c in clips if c.split == "val") == sorted(DEFAULT_VAL_CLIPS)
    assert sum(c.num_frames for c in clips if c.split == "val") == 779
    assert {c.name for c in clips if c.split == "test"} == {c.name for c in load_motion() if c.split == "test"}
    sampler = TrainSampler(clips, SamplerConfig(frames=9, batch_size=4), seed=0, split="train")
    assert not {c.name for c in sampler.clips} & set(DEFAULT_VAL_CLIPS)
    assert len(motion_batches(9, 2, val_clips=DEFAULT_VAL_CLIPS).sequence_lengths) == 20 - len(DEFAULT_VAL_CLIPS)


def test_hold_out_and_parse_errors():
    clips = load_motion()
    with pytest.raises(HtpEdgeError, match="climb/seq4 is not a train clip"):
        hold_out(clips, ["climb/seq4"])  # a test clip
    with pytest.raises(HtpEdgeError, match="leaves none"):
        hold_out(clips, [c.name for c in clips if c.split == "train"])
    assert parse_val_clips(None) == () and parse_val_clips("default") == DEFAULT_VAL_CLIPS
    assert parse_val_clips("climb/seq3, deepmimic/spin") == ("climb/seq3", "deepmimic/spin")
    with pytest.raises(HtpEdgeError, match="names no clip"):
        parse_val_clips(" , ")
    assert best_path("runs/m.pt").as_posix() == "runs/m.best.pt"


class FakeValidation:
    """Scores epoch n with scores[n - 1]; draws from torch's generator as a real lifter might."""

    def __init__(self, scores):
        self.scores, self.calls = list(scores), []

    def __call__(self, checkpoint):
        self.calls.append(read_checkpoint(checkpoint)["epoch"])
        torch.rand(100)
        return {"val_mpjpe_mm": self.scores[len(self.calls) - 1], "val_mode": "fake"}


def _cfg(epochs):  # constant lr after one warm-up step: a shorter run is a prefix of a longer one
    return TrainConfig(model="htp", epochs=epochs, iters_per_epoch=2, batch_size=2, warmup_iters=1,
                       schedule="exp", lr_decay=1.0, seed=4)


def _weights(path):
    return load_model(path)[0].state_dict()


def test_the_best_epoch_is_kept_and_scored_and_validation_changes_no_weight(tmp_path):
    batches = motion_batches(TINY_HTP.frames, batch_size=2)
    fake = FakeValidation([30.0, 10.0, 20.0])
    seen = []

    def evaluate(path):
        seen.append(str(path))
        return {"val_test_mpjpe_mm": 1.5}

    r = train(_cfg(3), batches, tmp_path / "m.pt", progress=False, model_config=TINY_HTP, validate=fake,
              evaluate=evaluate)
    assert fake.calls == [1, 2, 3]
    best = tmp_path / "m.best.pt"
    assert r["best_checkpoint"] == str(best) and r["best_epoch"] == 2 and r["best_val_mpjpe_mm"] == 10.0
    assert seen == [str(best)]  # the selected model is the one scored on the test split
    ckpt = read_checkpoint(best)
    assert ckpt["epoch"] == 2 and ckpt["htp_edge"]["selected"]["epoch"] == 2
    assert ckpt["htp_edge"]["val_test_mpjpe_mm"] == 1.5
    history = read_checkpoint(tmp_path / "m.pt")["htp_edge"]["history"]
    assert [h["val_mpjpe_mm"] for h in history] == [30.0, 10.0, 20.0]
    # the kept weights are epoch 2's: a 2-epoch run without validation ends with the same ones
    plain = train(_cfg(2), batches, tmp_path / "p.pt", progress=False, model_config=TINY_HTP)
    assert plain["final_loss"] == history[1]["loss"]
    for key, value in _weights(tmp_path / "p.pt").items():
        assert torch.equal(value, _weights(best)[key]), key
    # and validating (which draws from torch's generator) does not change the training stream
    train(_cfg(3), batches, tmp_path / "n.pt", progress=False, model_config=TINY_HTP)
    for key, value in _weights(tmp_path / "n.pt").items():
        assert torch.equal(value, _weights(tmp_path / "m.pt")[key]), key


def test_a_resumed_run_keeps_the_best_so_far(tmp_path):
    batches = motion_batches(TINY_HTP.frames, batch_size=2)
    out = tmp_path / "m.pt"
    train(_cfg(2), batches, out, progress=False, model_config=TINY_HTP, validate=FakeValidation([5.0, 7.0]))
    r = train(_cfg(3), batches, out, resume=True, progress=False, model_config=TINY_HTP,
              validate=FakeValidation([6.0]))
    assert r["best_epoch"] == 1 and read_checkpoint(best_path(out))["epoch"] == 1


@pytest.mark.parametrize("causal", [False, True])
def test_validation_scores_a_checkpoint_as_it_is_served(tmp_path, causal):
    cfg = causal_variant(TINY_HTP) if causal else TINY_HTP
    out = tmp_path / "m.pt"
    train(dataclasses.replace(_cfg(1), iters_per_epoch=1), motion_batches(cfg.frames, batch_size=2), out,
          progress=False, model_config=cfg)
    names = ("deepmimic/dance_a", "deepmimic/walker/turn_left1")
    val = Validation(names)
    scores = val(out)
    lengths = [s.num_frames for s in val.sequences()]
    assert len(lengths) == len(names) * TestSetConfig().cameras_per_clip  # the test split's cameras
    expected = sum(n - cfg.frames + 1 for n in lengths) if causal else sum(lengths)
    assert scores["val_frames"] == expected
    assert scores["val_mode"] == ("causal stream (newest frame)" if causal else "offline lift")
    assert np.isfinite(scores["val_mpjpe_mm"]) and scores["val_mpjpe_mm"] > 0


def test_train_flag_errors(capsys, tmp_path):
    from htp_edge.cli.main import main
    out = tmp_path / "x.pt"
    assert main(["train", "--val-clips", "climb/seq4", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "climb/seq4 is not a train clip" in err and len(err.strip().splitlines()) == 1 and not out.exists()
    assert main(["train", "--val-clips", "default", "--dataset", "h36m", "--data-dir", str(tmp_path),
                 "--out", str(out)]) == 2
    assert "--val-clips holds clips of the built-in motion out" in capsys.readouterr().err and not out.exists()
    assert main(["train", "--model", "d3dp-small", "--pruning", "tcep", "--out", str(out)]) == 2
    assert "d3dp-small has no pruning" in capsys.readouterr().err and not out.exists()
