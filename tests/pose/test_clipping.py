"""D3DP's test-time clip rule and stitching."""
from __future__ import annotations

import numpy as np
import pytest

from htp_edge.errors import HtpEdgeError
from htp_edge.pose.clipping import Cut, cut_clips, gather, stitch


def test_consecutive_clips_and_final_overlap():
    assert cut_clips(10, 4) == [Cut(0, 0, 0), Cut(4, 0, 0), Cut(6, 0, 0)]
    assert cut_clips(8, 4) == [(0, 0, 0), (4, 0, 0)]
    assert cut_clips(4, 4) == [(0, 0, 0)]


def test_short_video_is_edge_padded():
    assert cut_clips(3, 5) == [Cut(0, 0, 2)]
    x = np.arange(3)[:, None] * np.ones((3, 2))
    clips = gather(x, cut_clips(3, 5), 5)
    assert clips.shape == (1, 5, 2)
    np.testing.assert_array_equal(clips[0, :, 0], [0, 1, 2, 2, 2])
    np.testing.assert_array_equal(stitch(clips, cut_clips(3, 5), 3), x)


@pytest.mark.parametrize("total,frames", [(1, 1), (1, 243), (10, 4), (243, 243), (500, 243), (486, 243), (7, 3)])
def test_gather_then_stitch_is_identity(total, frames):
    x = np.random.default_rng(total).normal(size=(total, 17, 3))
    cuts = cut_clips(total, frames)
    clips = gather(x, cuts, frames)
    assert clips.shape == (len(cuts), frames, 17, 3) and len(cuts) == -(-total // frames)
    np.testing.assert_array_equal(stitch(clips, cuts, total), x)


def test_stitch_takes_overlapping_frames_from_the_earlier_clip():
    cuts = cut_clips(6, 4)  # clips [0..3] and [2..5]
    outputs = np.stack([np.full(4, 1.0), np.full(4, 2.0)])
    np.testing.assert_array_equal(stitch(outputs, cuts, 6), [1, 1, 1, 1, 2, 2])


def test_bad_arguments():
    with pytest.raises(HtpEdgeError, match="clip length"):
        cut_clips(0, 4)
    with pytest.raises(HtpEdgeError, match="clip count"):
        stitch(np.zeros((1, 4)), cut_clips(6, 4), 6)
