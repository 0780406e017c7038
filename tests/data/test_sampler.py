"""Training batches and the fixed test set, on the real clips."""
from __future__ import annotations

import numpy as np
import pytest

from htp_edge.data import SamplerConfig, TestSetConfig, TrainSampler, make_test_set
from htp_edge.errors import HtpEdgeError


def test_train_batches_shapes_and_determinism(real_clips):
    clips = list(real_clips.values())
    config = SamplerConfig(frames=27, batch_size=4)
    a, b = TrainSampler(clips, config, seed=7), TrainSampler(clips, config, seed=7)
    batch = a.sample()
    assert batch.kp2d.shape == (4, 27, 17, 2) and batch.kp2d.dtype == np.float32
    assert batch.pose3d.shape == (4, 27, 17, 3) and batch.pose3d.dtype == np.float32
    np.testing.assert_array_equal(batch.pose3d[..., 0, :], 0.0)
    assert np.abs(batch.kp2d).max() < 1.5  # normalised screen coordinates, subject in view
    np.testing.assert_array_equal(b.sample().kp2d, batch.kp2d)
    assert not np.array_equal(TrainSampler(clips, config, seed=8).sample().kp2d, batch.kp2d)
    kp2d, pose3d = next(iter(a))
    assert kp2d.shape == (4, 27, 17, 2)


def test_sampler_uses_train_clips_and_balances_sources(real_clips):
    sampler = TrainSampler(list(real_clips.values()), SamplerConfig(frames=243, batch_size=1), seed=0)
    assert {c.split for c in sampler.clips} == {"train"} and len(sampler.clips) == 20
    assert sampler.sources == ["climb", "deepmimic"]
    np.testing.assert_allclose(sampler.source_weights, [0.5, 0.5])
    assert sampler.sample().kp2d.shape == (1, 243, 17, 2)  # DeepMimic clips are padded to 243
    with pytest.raises(HtpEdgeError, match="no clips"):
        TrainSampler([c for c in real_clips.values() if c.split == "test"])


def test_test_set_is_deterministic_and_per_clip(real_clips):
    clips = list(real_clips.values())
    config = TestSetConfig(cameras_per_clip=2)
    first = make_test_set(clips, seed=0, config=config)
    assert len(first) == 5 * 2
    assert {s.name.rsplit("/", 1)[0] for s in first} == {c.name for c in clips if c.split == "test"}
    again = make_test_set([real_clips["deepmimic/spinkick"]], seed=0, config=config)
    same = [s for s in first if s.name.startswith("deepmimic/spinkick/")]
    for x, y in zip(same, again):
        np.testing.assert_array_equal(x.kp2d_px, y.kp2d_px)
        np.testing.assert_array_equal(x.camera.R, y.camera.R)
    assert not np.allclose(same[0].camera.R, same[1].camera.R)
    seq = first[0]
    assert seq.kp2d_px.shape == (seq.num_frames, 17, 2) and seq.root_cam.shape == (seq.num_frames, 3)
    np.testing.assert_array_equal(seq.pose3d[:, 0], 0.0)
    assert (seq.width, seq.height) == (1000, 1000)
    other_seed = make_test_set([real_clips["deepmimic/spinkick"]], seed=1, config=config)
    assert not np.allclose(other_seed[0].kp2d_px, again[0].kp2d_px)
