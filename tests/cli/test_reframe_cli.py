"""`lift --reframe` and `stream --reframe --focal`: the virtual-camera path from the command line."""
from __future__ import annotations

import json

import numpy as np

from htp_edge import Lifter, MultiStreamLifter
from htp_edge.cli.main import main
from htp_edge.pose.geometry import Intrinsics, project_points


def _far_person(frames: int) -> np.ndarray:
    """(T, 17, 2) px: a person 7 m away and 2 m to the side of a 520 px focal camera, walking closer."""
    rng = np.random.default_rng(0)
    pose = rng.uniform(-0.2, 0.2, (17, 3))
    pose[:, 1] = np.linspace(1.2, -0.5, 17)
    points = np.stack([pose + [2.0, 0.0, 7.0 - 0.05 * t] for t in range(frames)])
    return project_points(points, Intrinsics(520.0, 520.0, 500.0, 500.0)).astype(np.float32)


def test_lift_reframe_is_the_reframed_lifter(tmp_path, capsys):
    kp = _far_person(40)
    np.save(tmp_path / "in.npy", kp)
    for flag in ([], ["--reframe"]):
        out = tmp_path / f"out{len(flag)}.npy"
        assert main(["lift", str(tmp_path / "in.npy"), "--out", str(out), "--focal", "520", "--json", *flag]) == 0
        capsys.readouterr()
    with Lifter.load("htp-small", reframe=True) as lifter:
        want = lifter.lift(kp, 1000, 1000, intrinsics=Intrinsics(520.0, 520.0, 500.0, 500.0))
    np.testing.assert_allclose(np.load(tmp_path / "out1.npy"), want, atol=1e-5)
    assert np.abs(np.load(tmp_path / "out1.npy") - np.load(tmp_path / "out0.npy")).max() > 1e-3


def test_stream_reframe_uses_the_focal_length(tmp_path, capsys):
    kp = _far_person(30)
    lines = [json.dumps({"t": f / 30, "people": [{"id": 1, "keypoints": np.c_[kp[f], np.ones(17)].tolist()}]})
             for f in range(len(kp))]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["stream", str(tmp_path / "in.jsonl"), "--out", str(out), "--reframe", "--focal", "520",
                 "--max-tracks", "1", "--json"]) == 0
    capsys.readouterr()
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    got = np.array([r["people"][0]["pose_3d"] for r in rows if r["people"]])
    with Lifter.load("htp-small", reframe=True) as lifter:
        multi = MultiStreamLifter(lifter, 1000, 1000, max_tracks=1, intrinsics=Intrinsics(520.0, 520.0, 500.0, 500.0))
        want = np.array([due[1] for due in (multi.push({1: f}) for f in kp) if 1 in due])
    assert len(got) == len(want) > 0
    np.testing.assert_allclose(got, want, atol=1e-4)
