"""`htp-edge stream`: inputs (JSON lines, stdin, .npy, UDP), outputs (.jsonl, .mcap), bad lines, SIGINT."""
from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from htp_edge.bench.run import walking_keypoints
from htp_edge.cli.main import main


def _lines(frames: int, people: int = 2) -> list[str]:
    kps = [walking_keypoints(frames, seed=i) + np.float32(150 * i) for i in range(people)]
    out = []
    for f in range(frames):
        persons = [{"id": 3 + i, "keypoints": np.c_[kp[f], np.ones(17)].round(2).tolist()} for i, kp in enumerate(kps)
                   if not (i == 1 and f < 5)]  # the second person appears at frame 5
        out.append(json.dumps({"t": round(f / 30, 4), "people": persons}))
    return out


@pytest.fixture()
def jsonl(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(_lines(40)) + "\n")
    return path


def test_jsonl_to_jsonl_one_line_per_frame(jsonl, tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    assert main(["stream", str(jsonl), "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == report["frames_in"] == 40 and report["tracks"] == 2
    assert [r["t"] for r in rows] == [round(f / 30, 4) for f in range(40)]
    first = next(i for i, r in enumerate(rows) if r["people"])
    assert first == 26  # the window (27 frames) fills; person 4 joined at frame 5, due at frame 31
    assert {p["id"] for p in rows[31]["people"]} == {3, 4}
    pose = np.array(rows[-1]["people"][0]["pose_3d"])
    assert pose.shape == (17, 3) and np.isfinite(pose).all() and rows[-1]["people"][0]["latency_ms"] > 0
    assert report["poses_out"] == sum(len(r["people"]) for r in rows) and report["latency_ms"]["p99"] > 0
    assert report["clips_per_call"] == 8  # the shipped batched graph


def test_bad_line_is_named_or_skipped(jsonl, tmp_path, capsys):
    lines = jsonl.read_text().splitlines()
    lines[6] = '{"t": 0.2, "people": [{"id": 3, "keypoints": [[1, 2]]}'  # truncated JSON
    lines[8] = '{"t": 0.3, "people": [{"id": 3, "keypoints": [[1e400, 2]]}]}'
    jsonl.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["stream", str(jsonl), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "line 7: not JSON" in err[0] and not out.exists()
    assert main(["stream", str(jsonl), "--out", str(out), "--skip-bad", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["skipped"] == 2 and report["frames_in"] == 38


def test_npy_input_is_one_person(tmp_path, capsys):
    np.save(tmp_path / "kp.npy", walking_keypoints(30))
    out = tmp_path / "o.jsonl"
    assert main(["stream", str(tmp_path / "kp.npy"), "--out", str(out), "--fps", "15", "--json"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 30 and rows[1]["t"] == pytest.approx(1 / 15) and rows[-1]["people"][0]["id"] == 0


def test_mcap_output_holds_ros2_messages(jsonl, tmp_path):
    pytest.importorskip("mcap_ros2")
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory
    out = tmp_path / "o.mcap"
    assert main(["stream", str(jsonl), "--out", str(out), "--frame-id", "head_camera"]) == 0
    with open(out, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        msgs = list(reader.iter_decoded_messages())
    topics = {channel.topic for _, channel, _, _ in msgs}
    assert topics == {"/htp_edge/skeleton", "/htp_edge/poses"}
    skeleton = [m for _, c, _, m in msgs if c.topic == "/htp_edge/skeleton"]
    assert len(skeleton) == 14 and all(mk.header.frame_id == "head_camera" for m in skeleton for mk in m.markers)
    assert {mk.id for mk in skeleton[-1].markers} == {3, 4}


def test_stdin_and_sigint_close_the_output_cleanly(tmp_path):
    out = tmp_path / "o.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "htp_edge.cli.main", "stream", "-", "--out", str(out), "--json"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = _lines(60)
    for line in lines[:45]:
        proc.stdin.write(line + "\n")
    proc.stdin.flush()
    deadline = time.time() + 60
    while time.time() < deadline:  # wait until the stream has lifted something, then interrupt it
        time.sleep(0.5)
        if proc.poll() is not None:
            break
        try:
            rows = list(tmp_path.glob(".htp-edge-staging-*/o.jsonl"))[0].read_text().count("\n")
        except (IndexError, OSError):
            rows = 0
        if rows >= 35:
            break
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    report = json.loads(stdout)
    rows = [json.loads(line) for line in out.read_text().splitlines()]  # a complete, valid file
    assert report["stopped"].startswith("interrupted") and len(rows) == report["frames_in"] >= 35
    assert not list(tmp_path.glob(".htp-edge-staging-*"))


def test_udp_input_on_loopback(tmp_path, capsys):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "o.jsonl"

    def send():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until the stream has bound the port
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    break
            time.sleep(0.05)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for line in _lines(32, people=1):
                s.sendto(line.encode(), ("127.0.0.1", port))
                time.sleep(0.01)
    sender = threading.Thread(target=send)
    sender.start()
    assert main(["stream", f"udp://127.0.0.1:{port}", "--out", str(out), "--idle-timeout", "4", "--json"]) == 0
    sender.join()
    report = json.loads(capsys.readouterr().out)
    assert report["frames_in"] == 32 and report["poses_out"] == 6
    assert main(["stream", "udp://10.0.0.1", "--out", str(out)]) == 2
    assert "Expected udp://HOST:PORT" in capsys.readouterr().err


def test_plots_animate_the_people(jsonl, tmp_path, capsys):
    from PIL import Image
    out, gif = tmp_path / "o.jsonl", tmp_path / "o.gif"
    assert main(["stream", str(jsonl), "--out", str(out), "--plot", str(gif), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["plot"] == str(gif)
    with Image.open(gif) as im:
        assert im.n_frames == 40 and im.size[0] > im.size[1]
    np.save(tmp_path / "kp.npy", walking_keypoints(30))
    assert main(["lift", str(tmp_path / "kp.npy"), "--out", str(tmp_path / "p.npy"), "--plot",
                 str(tmp_path / "p.gif")]) == 0
    with Image.open(tmp_path / "p.gif") as im:
        assert im.n_frames == 30
    assert main(["stream", str(jsonl), "--out", str(out), "--plot", str(tmp_path / "x.bmp")]) == 2


def test_a_stop_signal_inside_a_frame_waits_for_its_write():
    from htp_edge.cli.cmd_stream import _StopSignals
    stop, done = _StopSignals(), []
    with pytest.raises(KeyboardInterrupt):
        with stop.deferred():
            stop.handler(signal.SIGINT, None)  # arrives mid-frame: held
            done.append("written")
    assert done == ["written"]
    with pytest.raises(KeyboardInterrupt):  # while waiting for input: at once
        stop.handler(signal.SIGTERM, None)
