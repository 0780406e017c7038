"""The cached clip list, its split and the MotionClip checks."""
from __future__ import annotations

import numpy as np
import pytest

from htp_edge.data import MotionClip, select
from htp_edge.data.motion import TEST_CLIPS
from htp_edge.errors import HtpEdgeError


def test_split_and_counts(real_clips):
    clips = list(real_clips.values())
    assert len(clips) == 25
    assert {c.name for c in select(clips, split="test")} == set(TEST_CLIPS)
    assert len(select(clips, split="train", source="deepmimic")) == 16
    assert [c.name for c in select(clips, source="climb", split="train")] == [f"climb/seq{i}" for i in range(4)]
    assert all(c.fps == 30.0 and c.positions.dtype == np.float32 for c in clips)
    assert 550 < real_clips["climb/seq4"].num_frames < 600  # 2303 frames at 120 Hz, subsampled by 4
    assert not real_clips["climb/seq0"].positions.flags.writeable


def test_motion_clip_validation():
    ok = np.zeros((2, 17, 3), np.float32)
    with pytest.raises(HtpEdgeError, match="Expected one of"):
        MotionClip("x", "mocap", "train", 30.0, ok)
    with pytest.raises(HtpEdgeError, match="split"):
        MotionClip("x", "climb", "dev", 30.0, ok)
    with pytest.raises(HtpEdgeError, match="positions"):
        MotionClip("x", "climb", "train", 30.0, np.zeros((2, 16, 3)))
