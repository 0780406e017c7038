"""D3DP's four ways of scoring H hypotheses (``common/loss.py`` and ``main.py``), numpy only.

* ``j_best``: per frame and joint, the hypothesis closest to the ground truth (an oracle).
* ``p_best``: per group of clips, the hypothesis index with the lowest mean error over the
  group (D3DP picks it per evaluation batch of clips: 4 for Human3.6M with the README's
  ``-b 4``, 2 for MPI-INF-3DHP).
* ``p_agg``: the mean of the hypotheses.
* ``j_agg``: per frame and joint, the hypothesis whose reprojection (root: the ground truth, as
  D3DP does) is closest to the 2D input (JPMA).

Protocol 2 (P-MPJPE) aligns every hypothesis pose to the ground truth first, then applies the
same selections to the aligned errors, as D3DP's ``p_mpjpe_diffusion*`` do.
"""
from __future__ import annotations

import numpy as np

from htp_edge.evaluation.metrics import procrustes_align
from htp_edge.pose.geometry import project_points

MODES = ("j_best", "p_best", "p_agg", "j_agg")


def reprojection_choice(hyps: np.ndarray, root: np.ndarray, kp_px: np.ndarray, intr) -> np.ndarray:
    """(C, H, F, J, 3), root (C, F, 3), 2D (C, F, J, 2) px -> (C, F, J) index of the hypothesis whose
    joint reprojects closest to the 2D input."""
    absolute = hyps + root[:, None, :, None, :]  # (C, H, F, J, 3)
    err2d = np.linalg.norm(project_points(absolute, intr) - kp_px[:, None], axis=-1)  # (C, H, F, J)
    return np.argmin(err2d, axis=1)


def _groups(num_clips: int, size: int) -> list[slice]:
    return [slice(i, min(i + size, num_clips)) for i in range(0, num_clips, size)]


def p_best_index(errors: np.ndarray, group: int) -> np.ndarray:
    """Per-joint errors (C, H, F, J) -> (C,) hypothesis index chosen per group of ``group`` clips."""
    index = np.empty(errors.shape[0], dtype=int)
    for g in _groups(errors.shape[0], group):
        index[g] = int(np.argmin(errors[g].mean(axis=(0, 2, 3))))
    return index


def selected_errors(errors: np.ndarray, choice: np.ndarray, group: int) -> dict[str, np.ndarray]:
    """Per-joint errors of each hypothesis (C, H, F, J) -> {mode: (C, F, J)} for j_best, p_best, j_agg."""
    p_best = p_best_index(errors, group)
    return {"j_best": errors.min(axis=1),
            "p_best": errors[np.arange(errors.shape[0]), p_best],
            "j_agg": np.take_along_axis(errors, choice[:, None], axis=1)[:, 0]}


def joint_errors(hyps: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(C, H, F, J, 3) vs (C, F, J, 3) -> (C, H, F, J) Euclidean distances."""
    return np.linalg.norm(hyps - gt[:, None], axis=-1)


def aligned_joint_errors(hyps: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Like :func:`joint_errors` after aligning every hypothesis pose to the ground truth."""
    target = np.broadcast_to(gt[:, None], hyps.shape)
    return np.linalg.norm(procrustes_align(hyps, target) - target, axis=-1)


def error_maps(hyps: np.ndarray, gt: np.ndarray, choice: np.ndarray, group: int) -> dict[str, dict[str, np.ndarray]]:
    """{mode: {"p1": (C, F, J), "p2": (C, F, J)}} per-joint errors (metres) of the four modes."""
    mean_pose = hyps.mean(axis=1)  # (C, F, J, 3)
    p1 = selected_errors(joint_errors(hyps, gt), choice, group)
    p2 = selected_errors(aligned_joint_errors(hyps, gt), choice, group)
    p1["p_agg"] = np.linalg.norm(mean_pose - gt, axis=-1)
    p2["p_agg"] = np.linalg.norm(procrustes_align(mean_pose, gt) - gt, axis=-1)
    return {mode: {"p1": p1[mode], "p2": p2[mode]} for mode in MODES}


def selected_poses(hyps: np.ndarray, gt: np.ndarray, choice: np.ndarray, group: int) -> dict[str, np.ndarray]:
    """{mode: (C, F, J, 3)} the pose each mode keeps (D3DP's 3DHP evaluation saves these)."""
    errors = joint_errors(hyps, gt)
    clips = np.arange(hyps.shape[0])
    best_joint = np.argmin(errors, axis=1)  # (C, F, J)
    return {"j_best": np.take_along_axis(hyps, best_joint[:, None, ..., None], axis=1)[:, 0],
            "p_best": hyps[clips, p_best_index(errors, group)],
            "p_agg": hyps.mean(axis=1),
            "j_agg": np.take_along_axis(hyps, choice[:, None, ..., None], axis=1)[:, 0]}
