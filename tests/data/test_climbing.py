"""Climbing mocap conversion: mapping, subsampling, and invariants of the real sequences."""
from __future__ import annotations

import io

import numpy as np
import pytest

from htp_edge.data import climbing
from htp_edge.errors import HtpEdgeError
from htp_edge.pose.skeleton import PARENTS

# Bones between joints that are rigid in the source skeleton (limbs and head chain).
RIGID_CHILDREN = (1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 13, 15, 16)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_mapping_and_subsampling():
    src = np.random.default_rng(0).normal(size=(9, 53, 3)).astype(np.float32)
    out = climbing.convert_sequence(_npy(src), seq=0)
    assert out.shape == (3, 17, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out[1, 0], src[4, 0])  # pelvis = Hips, frame 4 -> 1
    np.testing.assert_allclose(out[0, 3], src[0, 49])  # right ankle = RightFoot
    np.testing.assert_allclose(out[0, 13], src[0, 8])  # left wrist = LeftHand
    np.testing.assert_allclose(out[0, 10], src[0, 4] + 0.8 * (src[0, 4] - src[0, 3]), rtol=1e-5)


def test_bad_array_is_a_clear_error():
    with pytest.raises(HtpEdgeError, match="Expected finite"):
        climbing.convert_sequence(_npy(np.zeros((4, 50, 3), np.float32)), seq=2)


def _lengths(clip) -> np.ndarray:
    pos = clip.positions.astype(np.float64)
    children = list(RIGID_CHILDREN)
    return np.linalg.norm(pos[:, children] - pos[:, [PARENTS[j] for j in children]], axis=-1)  # (T, 13)


def test_real_climbing_bones_are_constant(real_clips):
    for seq in range(5):
        clip = real_clips[f"climb/seq{seq}"]
        assert clip.fps == 30.0 and clip.source == "climb"
        assert _lengths(clip).std(axis=0).max() < 1e-4, clip.name  # float32 source


def test_real_seq4_is_another_body(real_clips):
    limbs = [RIGID_CHILDREN.index(j) for j in (1, 2, 3, 5, 6, 12, 13, 15, 16)]  # legs and arms
    seq0 = _lengths(real_clips["climb/seq0"]).mean(axis=0)[limbs]
    seq1 = _lengths(real_clips["climb/seq1"]).mean(axis=0)[limbs]
    seq4 = _lengths(real_clips["climb/seq4"]).mean(axis=0)[limbs]
    assert np.abs(seq0 - seq4).max() > 0.005  # another subject or calibration
    assert np.abs(seq0 - seq1).max() < 1e-4  # same subject
