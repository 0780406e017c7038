"""D3DP's test-time clip rule: cut a video into fixed-length clips and stitch the outputs back.

A video of T frames becomes ``ceil(T / F)`` clips of F frames: consecutive non-overlapping
clips, the last one being the final F frames (it overlaps its predecessor when F does not
divide T). A video shorter than F gives one clip, edge-padded at the end. :func:`stitch` keeps
each frame once: every clip contributes the frames no earlier clip covered.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from htp_edge.errors import HtpEdgeError


class Cut(NamedTuple):
    """One clip: source frames ``[start, start + F - pad_before - pad_after)`` plus edge padding."""

    start: int
    pad_before: int
    pad_after: int


def _check(num_frames_total: int, frames: int) -> None:
    if int(frames) < 1 or int(num_frames_total) < 1:
        raise HtpEdgeError(f"clip cutting: bad lengths. Expected a video of >= 1 frames and a clip length "
                           f">= 1, got {num_frames_total} and {frames}. Pass a non-empty sequence.")


def cut_clips(num_frames_total: int, frames: int) -> list[Cut]:
    """The clips covering a video of ``num_frames_total`` frames with clips of ``frames`` frames."""
    _check(num_frames_total, frames)
    total, size = int(num_frames_total), int(frames)
    if total <= size:
        return [Cut(0, 0, size - total)]
    count = -(-total // size)  # ceil(total / size)
    cuts = [Cut(i * size, 0, 0) for i in range(count - 1)]
    return cuts + [Cut(total - size, 0, 0)]


def gather(x: np.ndarray, cuts: list[Cut], frames: int) -> np.ndarray:
    """Per-frame data (T, ...) -> clips (N, F, ...) following ``cuts``, edge-padded."""
    clips = []
    for cut in cuts:
        length = frames - cut.pad_before - cut.pad_after
        piece = x[cut.start:cut.start + length]
        index = np.concatenate([np.zeros(cut.pad_before, int), np.arange(length),
                                np.full(cut.pad_after, length - 1)])
        clips.append(piece[index])
    return np.stack(clips)  # N x (F, ...) -> (N, F, ...)


def stitch(outputs: np.ndarray, cuts: list[Cut], num_frames_total: int) -> np.ndarray:
    """Clip outputs (N, F, ...) -> per-frame outputs (T, ...), each frame taken once."""
    outputs = np.asarray(outputs)
    if outputs.ndim < 2 or outputs.shape[0] != len(cuts):
        raise HtpEdgeError(f"stitch: clip count mismatch. Expected outputs (N={len(cuts)}, F, ...), got "
                           f"{outputs.shape}. Pass the outputs of the clips from cut_clips.")
    frames = outputs.shape[1]
    result = np.empty((int(num_frames_total),) + outputs.shape[2:], dtype=outputs.dtype)
    covered = 0
    for cut, clip in zip(cuts, outputs):
        length = frames - cut.pad_before - cut.pad_after
        first = max(covered, cut.start)  # first source frame this clip still has to provide
        end = cut.start + length
        if end > first:
            offset = cut.pad_before + first - cut.start
            result[first:end] = clip[offset:offset + end - first]
            covered = end
    if covered != num_frames_total:
        raise HtpEdgeError(f"stitch: the clips do not cover the video. Expected {num_frames_total} frames, "
                           f"got {covered}. Use the cuts from cut_clips(num_frames_total, F).")
    return result
