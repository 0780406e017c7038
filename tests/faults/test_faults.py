"""Fault suite: planted symlinks, kill -9 mid-write, a full disk, hostile inputs, threads.

What is guaranteed (README, "Reliability"): an output set is either the old complete set or the
new complete set; outputs that are inputs are refused; OS errors on outputs are one line, exit 2;
bad input is one ``HtpEdgeError`` line, never a crash or a NaN pose.
"""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from htp_edge.artifacts import files
from htp_edge.bench.run import walking_keypoints
from htp_edge.cli.main import main
from htp_edge.errors import HtpEdgeError

LIFT = ["lift", "kp.npy", "--out", "out.npy", "--width", "1000", "--height", "1000"]


@pytest.fixture()
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "kp.npy", walking_keypoints(60))
    return tmp_path


def _staging_left(folder) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(files.STAGING_PREFIX) or p.name.endswith(".tmp")]


def test_planted_symlinks_at_old_temp_names_are_never_followed(workdir):
    victim = workdir / "victim.txt"
    victim.write_text("keep")
    for name in (".out.npy.tmp.npy", ".out.npy.tmp", "out.npy.tmp", ".htp-edge-staging-1-x"):
        os.symlink(victim, workdir / name)
    assert main(LIFT) == 0
    assert victim.read_text() == "keep" and np.load(workdir / "out.npy").shape == (60, 17, 3)


def test_output_that_is_the_input_is_refused(workdir, capsys):
    before = (workdir / "kp.npy").read_bytes()
    assert main(["lift", "kp.npy", "--out", "kp.npy"]) == 2
    assert "is also an input" in capsys.readouterr().err
    assert (workdir / "kp.npy").read_bytes() == before


def test_full_disk_is_one_line_and_keeps_the_old_output(workdir, capsys, monkeypatch):
    assert main(LIFT) == 0
    old = (workdir / "out.npy").read_bytes()
    real_replace = os.replace

    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))
    monkeypatch.setattr(os, "replace", full)
    capsys.readouterr()
    assert main([*LIFT, "--seed", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0]
    monkeypatch.setattr(os, "replace", real_replace)
    assert (workdir / "out.npy").read_bytes() == old and _staging_left(workdir) == []


def test_unwritable_destination_is_one_line(workdir, capsys):
    (workdir / "locked").mkdir()
    os.chmod(workdir / "locked", 0o500)
    try:
        if os.access(workdir / "locked", os.W_OK):
            pytest.skip("running as a user that can write anywhere")
        assert main(["lift", "kp.npy", "--out", "locked/out.npy"]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    finally:
        os.chmod(workdir / "locked", 0o700)


def _kill_at(args, cwd, delay) -> bool:
    """Run ``htp-edge ARGS``, SIGKILL it after ``delay`` s; True when it was still running then."""
    proc = subprocess.Popen([sys.executable, "-m", "htp_edge", *args], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(delay)
    alive = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate()
    assert alive or proc.returncode == 0, err
    return alive


@pytest.mark.parametrize("delay", [0.4, 0.8, 1.2, 1.6, 2.0, 2.6])
def test_kill_9_during_lift_leaves_the_old_or_the_new_output(workdir, delay):
    assert main(LIFT) == 0
    old = np.load(workdir / "out.npy")
    _kill_at([*LIFT, "--seed", "5", "--plot", "p.png"], workdir, delay)
    now = np.load(workdir / "out.npy")  # always a complete, readable array
    assert now.shape == old.shape and np.isfinite(now).all()
    if (workdir / "p.png").exists():  # the plot appears only with its poses
        assert (workdir / "p.png").stat().st_size > 0
    assert main([*LIFT, "--seed", "5"]) == 0 and _staging_left(workdir) == []  # the next run sweeps leftovers


@pytest.mark.parametrize("delay", [0.8, 1.5, 3.0])  # an idle machine exports the tiny model in ~4 s
def test_kill_9_during_export_leaves_a_consistent_set(tmp_path, tiny_htp_ckpt, delay):
    from htp_edge import Lifter
    out = tmp_path / "m.onnx"
    args = ["export", "--model", "htp", "--checkpoint", str(tiny_htp_ckpt), "--out", str(out)]
    assert _kill_at(args, tmp_path, delay)  # an export takes longer than the delay: it was killed mid-way
    if out.exists():  # the graph moves last: when it is there, its planner and report are too
        assert out.with_suffix(".planner.onnx").is_file() and out.with_suffix(".json").is_file()
        Lifter.load(out).lift(walking_keypoints(9), 1000, 1000)
    else:
        assert not out.with_suffix(".planner.onnx").exists() or out.with_suffix(".json").exists()
    assert main(args + ["--json"]) == 0
    assert _staging_left(tmp_path) == []
    Lifter.load(out).lift(walking_keypoints(9), 1000, 1000)


def test_a_planner_from_another_export_is_refused(tmp_path, tiny_htp_onnx):
    import shutil

    from htp_edge import Lifter
    src = tiny_htp_onnx[0]
    shutil.copyfile(src, tmp_path / "m.onnx")
    planner = tmp_path / "m.planner.onnx"
    planner.write_bytes(src.with_suffix(".planner.onnx").read_bytes() + b"\0")
    with pytest.raises(HtpEdgeError, match="is not the planner exported with m.onnx"):
        Lifter.load(tmp_path / "m.onnx")


HOSTILE = [
    np.full((30, 17, 2), 1e300), np.full((30, 17, 2), 3.5e38), np.array([["a"] * 2] * 17 * 30).reshape(30, 17, 2),
    np.ones((30, 17, 2), complex), np.ones((30, 17, 2), bool), np.zeros((30, 16, 2)), np.zeros((0, 17, 2)),
    np.zeros((30, 17, 4)), np.array(None), [[1, 2], [3]], np.full((30, 17, 2), np.nan),
]


@pytest.fixture(scope="module")
def lifter():
    from htp_edge import Lifter
    return Lifter.load("htp-small")


@pytest.mark.parametrize("bad", HOSTILE, ids=[f"hostile{i}" for i in range(len(HOSTILE))])
def test_hostile_arrays_are_one_clear_error(lifter, bad):
    with pytest.raises(HtpEdgeError) as info:
        lifter.lift(bad, 1000, 1000)
    assert "\n" not in str(info.value)


def test_fuzzed_inputs_give_finite_poses_or_one_error(lifter):
    """Property: for any array, lift returns finite (T, 17, 3) root-relative poses or raises HtpEdgeError."""
    rng = np.random.default_rng(0)
    dtypes = (np.float16, np.float32, np.float64, np.int16, np.int64, np.uint8)
    for trial in range(60):
        frames = int(rng.integers(1, 70))
        shape = (frames, 17, int(rng.choice([2, 3])))
        scale = 10.0 ** rng.uniform(-3, 8)
        with np.errstate(over="ignore", invalid="ignore"):
            x = (rng.normal(size=shape) * scale + rng.uniform(-scale, scale)).astype(dtypes[trial % len(dtypes)])
        if trial % 7 == 0 and shape[-1] == 3:
            x[..., 2] = rng.integers(0, 2, size=shape[:2])  # joints missing at random
        try:
            out = lifter.lift(x, float(rng.uniform(10, 4000)), float(rng.uniform(10, 4000)))
        except HtpEdgeError as exc:
            assert "\n" not in str(exc)
            continue
        assert out.shape == (frames, 17, 3) and np.isfinite(out).all() and not out[:, 0].any()


def test_a_bad_stream_frame_never_enters_the_buffer(lifter):
    from htp_edge import StreamingLifter
    stream = StreamingLifter(lifter, 1000, 1000)
    frames = walking_keypoints(40)
    for f in frames[:26]:
        stream.push(f)
    for bad in (np.full((17, 2), 1e300), np.full((17, 2), np.inf), np.ones((17, 2), complex), np.zeros((16, 2))):
        with pytest.raises(HtpEdgeError):
            stream.push(bad)
    poses = [stream.push(f) for f in frames[26:]]
    assert all(p is not None and np.isfinite(p).all() for p in poses) and stream.frames_pushed == 40


def test_lifter_is_safe_from_several_threads(lifter):
    clips = [walking_keypoints(40, seed=s) for s in range(6)]
    expected = [lifter.lift(c, 1000, 1000) for c in clips]
    results, errors = {}, []

    def work(i):
        try:
            results[i] = lifter.lift(clips[i], 1000, 1000)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(clips))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and all(np.array_equal(results[i], expected[i]) for i in range(len(clips)))


def test_flags_reject_zero_and_negative(workdir, capsys):
    for flag, value in (("--steps", "0"), ("--hypotheses", "0"), ("--focal", "0"), ("--width", "-5"),
                        ("--steps", "5000"), ("--hypotheses", "x")):
        with pytest.raises(SystemExit) as exited:
            main([*LIFT, flag, value])
        assert exited.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and flag in err[0], err
    assert not (workdir / "out.npy").exists()
    with pytest.raises(HtpEdgeError, match="steps must be an integer from 1"):
        from htp_edge import Lifter
        Lifter.load("htp-small", steps=0)


def test_json_reports_stay_parseable(workdir, capsys):
    assert main([*LIFT, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["frames"] == 60


@pytest.mark.parametrize("delay", [2.0, 5.0])
def test_kill_9_during_quantize_keeps_the_input_and_a_consistent_output(tmp_path, tiny_htp_onnx, delay):
    import shutil

    from htp_edge import Lifter
    src = tmp_path / "m.onnx"
    shutil.copyfile(tiny_htp_onnx[0], src)
    shutil.copyfile(tiny_htp_onnx[0].with_suffix(".planner.onnx"), src.with_suffix(".planner.onnx"))
    before = src.read_bytes()
    out = tmp_path / "q.onnx"
    args = ["quantize", "--onnx", str(src), "--precision", "fp16", "--out", str(out), "--gate-sequences", "1"]
    _kill_at(args, tmp_path, delay)
    assert src.read_bytes() == before
    if out.exists():  # only ever the complete pair
        assert out.with_suffix(".planner.onnx").is_file()
        Lifter.load(out).lift(walking_keypoints(9), 1000, 1000)
    else:
        assert not out.with_suffix(".planner.onnx").exists()
    assert main(args) == 0 and _staging_left(tmp_path) == []
