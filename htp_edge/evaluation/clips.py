"""A recording lifted the way D3DP evaluates it: per F-frame clip, every hypothesis kept.

D3DP scores the clips its test-time rule cuts (:mod:`htp_edge.pose.clipping`), not stitched
frames: every clip counts all its F frames, so the last clip's overlap with its predecessor and
the edge padding of a short sequence are scored too. :func:`lift_recording` runs the public
:class:`~htp_edge.runtime.lifter.Lifter` (``return_hypotheses=True``) and keeps, per clip, the
hypotheses, the lifter's own aggregated output and the matching ground truth, 2D and root.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from htp_edge.diffusion.aggregate import aggregate
from htp_edge.pose.clipping import Cut, cut_clips, gather, stitch
from htp_edge.pose.geometry import Intrinsics
from htp_edge.pose.inputs import as_keypoints, fill_missing


@dataclass(frozen=True, eq=False)
class LiftedClips:
    """One recording's clips (C clips of F frames, H hypotheses, J joints).

    Attributes:
        recording: the :class:`~htp_edge.data.recording.Recording`.
        cuts: the clip cuts.
        hyps: (C, H, F, J, 3) root-relative metres, root joint 0.
        pred: (C, F, J, 3) the lifter's aggregated output of each clip (root joint 0).
        gt: (C, F, J, 3) ground truth, root-relative metres.
        root: (C, F, 3) ground-truth camera-frame root (D3DP's reprojection for J-Agg uses it).
        kp: (C, F, J, 2) the 2D input in pixels.
        valid: (C, F) frames that count, or None.
        intr: the camera intrinsics used.
    """

    recording: object
    cuts: list[Cut]
    hyps: np.ndarray
    pred: np.ndarray
    gt: np.ndarray
    root: np.ndarray
    kp: np.ndarray
    valid: np.ndarray | None
    intr: Intrinsics

    @property
    def num_clips(self) -> int:
        return len(self.cuts)

    @property
    def scored_frames(self) -> int:
        """Frames as D3DP counts them: C x F."""
        return int(self.gt.shape[0] * self.gt.shape[1])


def intrinsics_of(camera, width: float, height: float) -> Intrinsics:
    """The camera's intrinsics, or the lifter's default for the image size when it is unknown."""
    if camera is None:
        return Intrinsics.default(width, height)
    return Intrinsics(float(camera.f[0]), float(camera.f[1]), float(camera.c[0]), float(camera.c[1]),
                      tuple(float(v) for v in camera.k), tuple(float(v) for v in camera.p))


def lift_recording(lifter, recording) -> LiftedClips:
    """Lift ``recording`` with ``lifter`` and keep its clips (see :class:`LiftedClips`)."""
    seq = recording.sequence
    intr = intrinsics_of(seq.camera, seq.width, seq.height)
    kp_in = np.concatenate([seq.kp2d_px, seq.confidence[..., None]], axis=-1)  # (T, J, 3)
    out, hyps = lifter.lift(kp_in, seq.width, seq.height, intrinsics=intr, return_hypotheses=True)
    frames, total = lifter.frames, seq.num_frames
    cuts = cut_clips(total, frames)
    xy, conf = as_keypoints(kp_in)
    filled = fill_missing(xy, conf)
    pred = aggregate(np.asarray(hyps), lifter.config.method, kp_px=gather(filled, cuts, frames), intr=intr,
                     confidence=gather(conf, cuts, frames))
    pred = np.array(pred, dtype=np.float64)
    pred[..., 0, :] = 0.0
    hyps = np.array(hyps, dtype=np.float64)
    hyps[..., 0, :] = 0.0  # D3DP zeroes the predicted root before scoring
    if not np.allclose(stitch(pred, cuts, total), out, atol=1e-5):
        raise RuntimeError(f"eval {recording.name}: the per-clip outputs do not stitch back to the lifter's output "
                           f"(the clip path must aggregate exactly as Lifter.lift does)")
    valid = None if recording.valid is None else gather(recording.valid, cuts, frames)
    return LiftedClips(recording=recording, cuts=cuts, hyps=hyps, pred=pred,
                       gt=gather(seq.pose3d.astype(np.float64), cuts, frames),
                       root=gather(seq.root_cam.astype(np.float64), cuts, frames),
                       kp=gather(seq.kp2d_px.astype(np.float64), cuts, frames), valid=valid, intr=intr)


def stitch_last(outputs: np.ndarray, cuts: list[Cut], num_frames_total: int) -> np.ndarray:
    """Clip outputs (C, F, ...) -> per-frame (T, ...) where a later clip overwrites the frames it shares
    with an earlier one (D3DP's 3DHP ``pose_post_process``; :func:`~htp_edge.pose.clipping.stitch`
    keeps the earlier clip's)."""
    outputs = np.asarray(outputs)
    frames = outputs.shape[1]
    result = np.empty((int(num_frames_total),) + outputs.shape[2:], dtype=outputs.dtype)
    for cut, clip in zip(cuts, outputs):
        length = frames - cut.pad_before - cut.pad_after
        result[cut.start:cut.start + length] = clip[cut.pad_before:cut.pad_before + length]
    return result
