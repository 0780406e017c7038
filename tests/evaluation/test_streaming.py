"""eval --stream: the batched window evaluation is exactly the StreamingLifter, frame by frame."""
from __future__ import annotations

import json

import numpy as np
import pytest

from htp_edge import Lifter, StreamingLifter
from htp_edge.bench.run import walking_keypoints
from htp_edge.cli.main import main
from htp_edge.evaluation.streaming import stream_poses
from htp_edge.pose.geometry import Intrinsics


@pytest.mark.parametrize("mode", ["causal", "centred"])
def test_window_evaluation_equals_the_streaming_lifter(tiny_htp_onnx, mode):
    lifter = Lifter.load(tiny_htp_onnx[0])
    kp = walking_keypoints(30)
    conf = np.ones(kp.shape[:2], np.float32)
    frames, poses = stream_poses(lifter, kp, conf, 1000, 1000, Intrinsics.default(1000, 1000), mode, lifter.frames)
    stream = StreamingLifter(lifter, 1000, 1000, mode=mode)
    pushed = [stream.push(f) for f in kp]
    got = np.array([p for p in pushed if p is not None])
    assert len(got) == len(poses) == 30 - lifter.frames + 1
    np.testing.assert_allclose(poses, got, atol=1e-5)
    assert frames[0] == lifter.frames - 1 - stream.output_delay_frames


def test_eval_stream_reports_both_modes(tiny_htp_onnx, capsys):
    assert main(["eval", "--onnx", str(tiny_htp_onnx[0]), "--stream", "--max-sequences", "1", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["frames"] > 0 and r["window"] == 9
    for mode in ("causal", "centred", "offline"):
        assert np.isfinite(r[mode]["mpjpe_mm"]) and r[mode]["mpjpe_mm"] > 0
