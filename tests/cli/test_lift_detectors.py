"""`htp-edge lift` and `stream` on detectors' files, and the layouts through Lifter / StreamingLifter."""
from __future__ import annotations

import json

import numpy as np
import pytest

from htp_edge.cli.main import main
from htp_edge.pose.layouts import layout_to_h36m
from htp_edge.runtime.lifter import Lifter
from htp_edge.runtime.streaming import StreamingLifter
from tests.io.detector_files import B_FROM, A, B, two_people, write_alphapose, write_mmpose, write_openpose
from tests.pose.people import real_people


@pytest.fixture(scope="module")
def lifter():
    with Lifter.load("htp-small", backend="onnxruntime") as lifter:
        yield lifter


def _run(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("fmt", ["halpe26", "body25", "blazepose33", "coco-mhformer"])
def test_lifter_takes_each_layout_as_its_h36m_equivalent(lifter, fmt):
    people = real_people()
    kp = people.layout(fmt, np.random.default_rng(0).uniform(0.3, 1.0, (len(people.h36m_px), len(
        people.layout(fmt)[0]))))
    direct = lifter.lift(kp, people.width, people.height, format=fmt)
    same = lifter.lift(layout_to_h36m(kp, fmt), people.width, people.height, format="h36m")
    np.testing.assert_allclose(direct, same, atol=1e-5)
    assert direct.shape == (len(kp), 17, 3) and np.isfinite(direct).all()


def test_streaming_lifter_takes_a_layout(lifter):
    people = real_people()
    kp = people.layout("body25")
    native = StreamingLifter(lifter, people.width, people.height, format="body25", hop=5)
    h36m = StreamingLifter(lifter, people.width, people.height, format="h36m", hop=5)
    outs = [(native.push(f), h36m.push(g)) for f, g in zip(kp, layout_to_h36m(kp, "body25"))]
    got = [(a, b) for a, b in outs if a is not None]
    assert got and all(b is not None and np.allclose(a, b, atol=1e-5) for a, b in got)
    with pytest.raises(Exception, match="Expected \\(25, 2\\) or \\(25, 3\\) for format body25"):
        native.push(kp[0, :17])
    with pytest.raises(Exception, match="unknown keypoint format"):
        StreamingLifter(lifter, 1000, 1000, format="body26")


def test_lift_alphapose_file_equals_lifting_the_array(capsys, tmp_path, lifter):
    people = real_people()
    src = write_alphapose(tmp_path / "alphapose-results.json", "halpe26")
    code, out, err = _run(capsys, ["lift", str(src), "--out", str(tmp_path / "p.npy"), "--width", str(people.width),
                                   "--height", str(people.height), "--json"])
    assert code == 0, err
    r = json.loads(out)
    assert (r["format"], r["reader"], r["person"], r["people"], r["tracked"]) == ("halpe26", "alphapose", A, 2, True)
    a, b = two_people("halpe26")
    expected = lifter.lift(a, people.width, people.height, format="halpe26")
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), expected, atol=1e-5)
    code, out, err = _run(capsys, ["lift", str(src), "--out", str(tmp_path / "b.npy"), "--person", str(B), "--json",
                                   "--width", str(people.width), "--height", str(people.height)])
    assert code == 0, err
    assert json.loads(out)["person"] == B
    assert not np.allclose(np.load(tmp_path / "b.npy")[B_FROM:], expected[B_FROM:], atol=1e-3)


@pytest.mark.parametrize("make, fmt, reader", [
    (lambda p: write_openpose(p / "json", "body25"), "body25", "openpose"),
    (lambda p: write_mmpose(p / "results.json", "wholebody133"), "wholebody133", "mmpose"),
    (lambda p: write_mmpose(p / "results.json", "coco", "inferencer"), "coco", "mmpose"),
])
def test_lift_detector_outputs_guess_the_format(capsys, tmp_path, make, fmt, reader):
    src = make(tmp_path)
    code, out, err = _run(capsys, ["lift", str(src), "--out", str(tmp_path / "p.npy"), "--json"])
    assert code == 0, err
    r = json.loads(out)
    assert (r["format"], r["reader"], r["person"], r["tracked"]) == (fmt, reader, None, False)
    assert np.load(tmp_path / "p.npy").shape == (len(real_people().h36m_px), 17, 3)


def test_lift_coco_file_as_coco_mhformer(capsys, tmp_path):
    src = write_alphapose(tmp_path / "r.json", "coco")
    code, out, err = _run(capsys, ["lift", str(src), "--out", str(tmp_path / "p.npy"), "--format", "coco-mhformer",
                                   "--json"])
    assert code == 0, err
    assert json.loads(out)["format"] == "coco-mhformer"


@pytest.mark.parametrize("argv_tail, match", [
    (["--format", "body25"], "format body25: wrong joint count"),
    (["--person", "42"], "no person with id 42"),
    (["--reader", "mmpose"], "mmpose reader: r.json holds alphapose output, not mmpose"),
])
def test_lift_detector_mistakes_are_one_line_and_write_nothing(capsys, tmp_path, argv_tail, match):
    src = write_alphapose(tmp_path / "r.json", "halpe26")
    code, out, err = _run(capsys, ["lift", str(src), "--out", str(tmp_path / "p.npy")] + argv_tail)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and match in err, err
    assert not (tmp_path / "p.npy").exists()


def test_lift_refuses_unknown_inputs(capsys, tmp_path):
    (tmp_path / "kp.txt").write_text("1 2 3")
    code, _, err = _run(capsys, ["lift", str(tmp_path / "kp.txt"), "--out", str(tmp_path / "p.npy")])
    assert code == 2 and "unknown input 'kp.txt'" in err
    np.save(tmp_path / "kp.npy", np.zeros((30, 17, 2)))
    code, _, err = _run(capsys, ["lift", str(tmp_path / "kp.npy"), "--out", str(tmp_path / "p.npy"), "--person", "1"])
    assert code == 2 and "--person picks a person from a detector's file" in err


def test_stream_alphapose_and_openpose(capsys, tmp_path):
    people = real_people()
    src = write_alphapose(tmp_path / "alphapose.json", "halpe26")
    out = tmp_path / "out.jsonl"
    code, text, err = _run(capsys, ["stream", str(src), "--out", str(out), "--format", "halpe26", "--json",
                                    "--width", str(people.width), "--height", str(people.height)])
    assert code == 0, err
    r = json.loads(text)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert r["frames_in"] == len(rows) == len(people.h36m_px) and r["tracks"] == 2 and r["format"] == "halpe26"
    assert {p["id"] for p in rows[-1]["people"]} == {A, B}
    code, text, err = _run(capsys, ["stream", str(write_openpose(tmp_path / "op", "body25")), "--out",
                                    str(tmp_path / "o2.jsonl"), "--json"])
    assert code == 0, err
    assert json.loads(text)["format"] == "body25"
    code, text, err = _run(capsys, ["stream", str(src), "--out", str(tmp_path / "o3.jsonl"), "--format", "coco"])
    assert code == 2 and "Expected (17, 2) or (17, 3) for format coco" in err
