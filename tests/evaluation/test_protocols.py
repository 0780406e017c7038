"""D3DP's protocols on hand-made clip outputs: selections, frame weighting, action grouping, PCK/AUC."""
from __future__ import annotations

import numpy as np

from htp_edge.data.recording import Recording
from htp_edge.data.testset import TestSequence
from htp_edge.evaluation.clips import LiftedClips, stitch_last
from htp_edge.evaluation.hypotheses import error_maps, reprojection_choice, selected_poses
from htp_edge.evaluation.metrics import PCK_JOINTS, auc, pck
from htp_edge.evaluation.protocols import h36m_report, mpi3dhp_report
from htp_edge.pose.clipping import cut_clips, gather
from htp_edge.pose.geometry import Intrinsics, project_points

INTR = Intrinsics(1000.0, 1000.0, 500.0, 500.0)


def _recording(subject, action, frames, rng, valid=None):
    pose = rng.normal(scale=0.3, size=(frames, 17, 3))
    pose[:, 0] = 0.0
    root = np.tile([0.1, -0.2, 4.0], (frames, 1))
    kp = project_points(pose + root[:, None], INTR)
    seq = TestSequence(name=f"{subject}/{action}/cam0", source="test", kp2d_px=kp, confidence=np.ones((frames, 17)),
                       width=1000, height=1000, pose3d=pose, root_cam=root)
    return Recording(subject, action, 0, seq, valid=valid)


def _lifted(rec, frames, hyps_fn):
    """LiftedClips with hypotheses hyps_fn(gt clips) and the lifter output = their mean."""
    seq = rec.sequence
    cuts = cut_clips(seq.num_frames, frames)
    gt = gather(seq.pose3d.astype(np.float64), cuts, frames)
    hyps = hyps_fn(gt)
    hyps[..., 0, :] = 0.0
    valid = None if rec.valid is None else gather(rec.valid, cuts, frames)
    return LiftedClips(recording=rec, cuts=cuts, hyps=hyps, pred=hyps.mean(axis=1), gt=gt,
                       root=gather(seq.root_cam.astype(np.float64), cuts, frames),
                       kp=gather(seq.kp2d_px.astype(np.float64), cuts, frames), valid=valid, intr=INTR)


def test_h36m_actions_merge_takes_and_weight_clip_frames():
    rng = np.random.default_rng(0)
    recs = [_recording("S9", "Walking 1", 10, rng), _recording("S11", "Walking", 4, rng),
            _recording("S9", "Sitting", 8, rng)]
    offsets = {"Walking 1": 0.01, "Walking": 0.03, "Sitting": 0.05}

    def shifted(rec):
        def make(gt):
            out = gt[:, None].copy()
            out[..., 1:, 0] += offsets[rec.action]  # every joint but the root moves by the offset along x
            return out
        return make

    report = h36m_report([_lifted(r, 6, shifted(r)) for r in recs], hypotheses=1)
    assert sorted(report["per_action"]) == ["Sitting", "Walking"]
    walk = report["per_action"]["Walking"]
    # clip frames as D3DP counts them: 10 frames -> 2 clips of 6, 4 frames -> 1 padded clip of 6
    assert walk["scored_frames"] == 18 and walk["frames"] == 14 and walk["clips"] == 3
    expected = 1000 * 16 / 17 * (12 * 0.01 + 6 * 0.03) / 18
    assert abs(walk["mpjpe_mm"] - expected) < 1e-9
    sit = report["per_action"]["Sitting"]["mpjpe_mm"]
    assert abs(sit - 1000 * 16 / 17 * 0.05) < 1e-9
    assert abs(report["mpjpe_mm"] - (walk["mpjpe_mm"] + sit) / 2) < 1e-12  # mean over actions, not frames
    assert 0 < report["p_mpjpe_mm"] < report["mpjpe_mm"]  # the alignment removes most of the shift
    assert "hypothesis_metrics" not in report and report["actions"] == 2


def _brute_force_p_best(errors, group):
    chosen = []
    for start in range(0, errors.shape[0], group):
        block = errors[start:start + group]  # (c, H, F, J)
        h = min(range(block.shape[1]), key=lambda k: block[:, k].mean())
        chosen += [block[c, h] for c in range(block.shape[0])]
    return np.stack(chosen)


def test_hypothesis_modes_match_their_definitions():
    rng = np.random.default_rng(1)
    rec = _recording("S9", "Eating", 40, rng)
    lifted = _lifted(rec, 5, lambda gt: gt[:, None] + rng.normal(scale=0.05, size=(gt.shape[0], 3) + gt.shape[1:]))
    hyps, gt = lifted.hyps, lifted.gt
    choice = reprojection_choice(hyps, lifted.root, lifted.kp, INTR)
    maps = error_maps(hyps, gt, choice, group=4)
    errors = np.linalg.norm(hyps - gt[:, None], axis=-1)  # (C, H, F, J)
    np.testing.assert_allclose(maps["j_best"]["p1"], errors.min(axis=1))
    np.testing.assert_allclose(maps["p_best"]["p1"], _brute_force_p_best(errors, 4))
    np.testing.assert_allclose(maps["p_agg"]["p1"], np.linalg.norm(hyps.mean(1) - gt, axis=-1))
    reproj = np.linalg.norm(project_points(hyps + lifted.root[:, None, :, None], INTR) - lifted.kp[:, None], axis=-1)
    np.testing.assert_array_equal(choice, reproj.argmin(axis=1))
    np.testing.assert_allclose(maps["j_agg"]["p1"], np.take_along_axis(errors, choice[:, None], 1)[:, 0])
    assert maps["j_best"]["p1"].mean() <= maps["j_agg"]["p1"].mean()
    assert maps["j_best"]["p2"].mean() <= maps["p_best"]["p2"].mean()
    poses = selected_poses(hyps, gt, choice, group=4)
    np.testing.assert_allclose(np.linalg.norm(poses["j_best"] - gt, axis=-1), maps["j_best"]["p1"])
    np.testing.assert_allclose(np.linalg.norm(poses["p_best"] - gt, axis=-1), maps["p_best"]["p1"])
    report = h36m_report([lifted], hypotheses=3)
    hm = report["hypothesis_metrics"]
    assert set(hm) == {"j_best", "p_best", "p_agg", "j_agg"}
    assert abs(hm["j_best"]["mpjpe_mm"] - 1000 * maps["j_best"]["p1"].mean()) < 1e-9
    assert report["per_action"]["Eating"]["hypothesis_metrics"]["p_agg"] == hm["p_agg"]


def test_pck_and_auc_follow_mpii_thresholds():
    errors = np.zeros((2, 17))
    errors[:, list(PCK_JOINTS)] = [[10.0] * 7 + [200.0] * 7, [149.9] * 14]
    errors[:, [0, 7, 9]] = 1000.0  # pelvis, spine and head do not count
    assert pck(errors) == 100.0 * 21 / 28
    assert pck(np.full((1, 17), 150.0)) == 0.0  # strictly below the threshold
    # one joint at 10 mm is below 15 of the 31 thresholds 0, 5, ..., 150 (15 ... 150 -> 28 of them)
    assert abs(auc(np.full((1, 17), 12.0)) - 100.0 * 28 / 31) < 1e-12


def test_stitch_last_lets_the_later_clip_win():
    cuts = cut_clips(7, 5)  # clips [0, 5) and [2, 7)
    clips = np.stack([np.full(5, 1.0), np.full(5, 2.0)])
    np.testing.assert_array_equal(stitch_last(clips, cuts, 7), [1, 1, 2, 2, 2, 2, 2])
    np.testing.assert_array_equal(stitch_last(np.arange(5.0)[None], cut_clips(3, 5), 3), [0, 1, 2])


def test_3dhp_scores_valid_frames_per_sequence():
    rng = np.random.default_rng(2)
    valid = np.ones(12, bool)
    valid[:4] = False
    recs = [_recording("TS1", "TS1", 12, rng, valid=valid), _recording("TS5", "TS5", 6, rng)]

    def make(gt):
        out = gt[:, None].copy()
        out[..., 1:, 1] += 0.102  # 102 mm on every joint but the root
        return out

    report = mpi3dhp_report([_lifted(r, 5, make) for r in recs], hypotheses=1)
    ts1 = report["per_sequence"]["TS1"]
    assert ts1["frames"] == 8 and report["frames"] == 14 and report["sequences"] == 2
    assert abs(ts1["mpjpe_mm"] - 102.0 * 16 / 17) < 1e-9
    assert ts1["pck150_pct"] == 100.0 and abs(ts1["auc_pct"] - 100.0 * 10 / 31) < 1e-9  # 102 mm < t for t >= 105
    assert abs(report["mpjpe_mm"] - np.mean([r["mpjpe_mm"] for r in report["per_sequence"].values()])) < 1e-12
