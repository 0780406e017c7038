"""Cutting sequences into fixed F-frame clips and stitching clip outputs back (D3DP's rule).

A sequence is cut into consecutive F-frame clips; the last clip is the final F frames (it
overlaps the one before); a sequence shorter than F is edge-padded on both sides.
"""
from __future__ import annotations

import numpy as np


def clip_starts(total: int, frames: int) -> list[int]:
    """Start frames of the clips covering ``total`` frames (one clip when total <= frames)."""
    if total <= frames:
        return [0]
    starts = list(range(0, total - frames + 1, frames))
    if starts[-1] + frames < total:
        starts.append(total - frames)
    return starts


def pad_amounts(total: int, frames: int) -> tuple[int, int]:
    """Edge padding (before, after) for a sequence shorter than a clip."""
    missing = max(frames - total, 0)
    return missing // 2, missing - missing // 2


def cut_clips(x: np.ndarray, frames: int) -> np.ndarray:
    """(T, ...) -> (C, F, ...)."""
    before, after = pad_amounts(len(x), frames)
    if before or after:
        x = np.pad(x, [(before, after)] + [(0, 0)] * (x.ndim - 1), mode="edge")
    return np.stack([x[s:s + frames] for s in clip_starts(len(x), frames)])


def stitch_clips(clips: np.ndarray, total: int) -> np.ndarray:
    """(C, F, ...) clip outputs -> (T, ...); overlapping frames keep the earlier clip's value."""
    frames = clips.shape[1]
    before, _ = pad_amounts(total, frames)
    if before or total < frames:
        return clips[0, before:before + total]
    out = np.empty((total,) + clips.shape[2:], dtype=clips.dtype)
    starts = clip_starts(total, frames)
    for i in reversed(range(len(starts))):  # earlier clips written last win the overlap
        out[starts[i]:starts[i] + frames] = clips[i]
    return out
