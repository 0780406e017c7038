"""Robot-view evaluation: per-frame scoring, groups, distance bands, and the Lifter path."""
from __future__ import annotations

import numpy as np
import pytest

from htp_edge.evaluation.evaluate import EvalConfig
from htp_edge.evaluation.views import evaluate_views, frame_errors, group_of, view_report, view_sequences


def test_group_of_strips_scenario_and_camera():
    assert group_of("approach/deepmimic/dance_b/cam2") == "deepmimic/dance_b"
    assert group_of("deepmimic/walker/turn_right1/cam0") == "deepmimic/walker/turn_right1"
    assert group_of("climb/seq4/cam3") == "climb/seq4"


def test_frame_errors_in_mm():
    gt = np.zeros((2, 17, 3))
    pred = gt.copy()
    pred[1, :, 0] = 0.01  # 10 mm on every joint of frame 1
    e1, e2 = frame_errors(pred, gt + np.random.default_rng(0).normal(0, 1e-9, gt.shape))
    np.testing.assert_allclose(e1, [0.0, 10.0], atol=1e-4)
    assert e2[1] < 1e-3  # a translation is removed by Procrustes


def test_report_means_over_groups_and_bands():
    rows = [  # (name, per-frame MPJPE, P-MPJPE, depth)
        ("approach/a/x/cam0", np.array([10.0, 10.0, 10.0]), np.array([5.0] * 3), np.array([7.0, 5.0, 2.0])),
        ("approach/a/x/cam1", np.array([20.0]), np.array([5.0]), np.array([2.0])),
        ("approach/b/y/cam0", np.array([40.0]), np.array([8.0]), np.array([3.0])),
    ]
    r = view_report(rows)
    assert r["frames"] == 5 and r["sequences"] == 3
    assert r["mpjpe_mm"] == pytest.approx(90.0 / 5)  # frame-weighted
    assert r["per_group"]["a/x"] == {"mpjpe_mm": 12.5, "p_mpjpe_mm": 5.0, "frames": 4}
    assert r["mean_over_groups_mm"] == pytest.approx((12.5 + 40.0) / 2)  # each group counts once
    assert r["per_band"]["1-2.5 m"]["mpjpe_mm"] == pytest.approx(15.0)
    assert r["per_band"]["2.5-4 m"]["mpjpe_mm"] == pytest.approx(40.0)
    assert set(r["per_band"]) == {"1-2.5 m", "2.5-4 m", "4-6 m", "6-8.5 m"}


def test_evaluate_views_runs_the_public_lifter(tiny_htp_onnx):
    from htp_edge import Lifter
    from htp_edge.evaluation.evaluate import camera_intrinsics
    from htp_edge.evaluation.views import view_sequences
    cfg = EvalConfig(hypotheses=2, max_sequences=2)
    r = evaluate_views(tiny_htp_onnx[0], "approach", cfg)
    assert r["view"] == "approach" and r["sequences"] == 2
    seqs = view_sequences("approach", cfg)
    lifter = Lifter.load(tiny_htp_onnx[0], hypotheses=2)
    errors = []
    for seq in seqs:
        kp = np.concatenate([seq.kp2d_px, seq.confidence[..., None]], axis=-1)
        errors.append(frame_errors(lifter.lift(kp, seq.width, seq.height, intrinsics=camera_intrinsics(seq.camera)),
                                   seq.pose3d)[0])
    assert r["mpjpe_mm"] == pytest.approx(float(np.concatenate(errors).mean()), rel=1e-6)


def test_eval_views_command(tiny_htp_onnx, capsys):
    import json

    from htp_edge.cli.main import main
    assert main(["eval", "--onnx", str(tiny_htp_onnx[0]), "--views", "cross", "--max-sequences", "2", "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert plain["view"] == "cross" and plain["reframe"] is False and plain["sequences"] == 2
    assert set(plain["per_band"]) and set(plain["per_group"]) == {"climb/seq4"}
    assert main(["eval", "--onnx", str(tiny_htp_onnx[0]), "--views", "cross", "--max-sequences", "2", "--reframe"]) == 0
    text = capsys.readouterr().out
    assert "cross view (reframed): 2 sequences" in text and "mean over 1 clip groups" in text


def test_eval_streams_a_robot_view(tiny_htp_onnx, capsys):
    import json

    from htp_edge.cli.main import main
    assert main(["eval", "--onnx", str(tiny_htp_onnx[0]), "--views", "approach", "--stream", "--max-sequences", "1",
                 "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    seq = view_sequences("approach", EvalConfig(max_sequences=1))[0]
    window = r["window"]  # frames with an output in both modes: from W-1 to T-1 less the centred delay
    assert r["stream_view"] == "approach" and r["sequences"] == 1
    assert r["frames"] == seq.num_frames - window + 1 - (window - 1 - window // 2)
    assert main(["eval", "--onnx", str(tiny_htp_onnx[0]), "--views", "approach", "--stream",
                 "--max-sequences", "1"]) == 0
    assert "streaming (approach view)" in capsys.readouterr().out


def test_eval_views_refuses_other_modes(tiny_htp_onnx, capsys):
    from htp_edge.cli.main import main
    assert main(["eval", "--views", "approach", "--baseline", "mean-pose"]) == 2
    assert "--views renders the built-in real-motion split" in capsys.readouterr().err
    assert main(["eval", "--onnx", str(tiny_htp_onnx[0]), "--stream", "--reframe"]) == 2
    assert "--reframe changes how the model is fed" in capsys.readouterr().err
