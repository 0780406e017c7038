"""Sources of detector frames for streaming: a keypoint array, a JSON-lines file, stdin, UDP, and
the files 2D detectors write (AlphaPose / MMPose JSON, an OpenPose folder: :mod:`htp_edge.io.detectors`).

Every source yields :class:`Frame` s: ``{"t": seconds, "people": [{"id": int, "keypoints":
[[x, y(, conf)], ...]}]}`` per line (a UDP datagram holds one line). A bad line raises
:class:`BadLine` with its line number; the caller decides to stop or skip it.
"""
from __future__ import annotations

import json
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import urlparse

import numpy as np

from htp_edge.errors import HtpEdgeError


@dataclass(frozen=True)
class Frame:
    line: int                       # 1-based line (or datagram) number
    t: float                        # seconds
    people: dict[int, np.ndarray]   # track id -> (J, 2|3) keypoints in the input's layout


class BadLine(HtpEdgeError):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line, self.reason = line, reason


def parse_line(text: str, line: int) -> Frame:
    """One JSON line -> a Frame (keypoints are checked in full later, by the lifter's validator)."""
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise BadLine(line, f"not JSON ({exc.msg}). Expected {{\"t\": s, \"people\": [...]}}.") from None
    if not isinstance(obj, dict) or "people" not in obj:
        raise BadLine(line, "expected an object with \"t\" and \"people\".")
    t = obj.get("t", None)
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not np.isfinite(t):
        raise BadLine(line, f"\"t\" must be a finite number of seconds, got {t!r}.")
    if not isinstance(obj["people"], list):
        raise BadLine(line, "\"people\" must be a list.")
    people = {}
    for person in obj["people"]:
        if not isinstance(person, dict) or "keypoints" not in person or "id" not in person:
            raise BadLine(line, "every person needs \"id\" and \"keypoints\".")
        pid = person["id"]
        if isinstance(pid, bool) or not isinstance(pid, int):
            raise BadLine(line, f"person id must be an integer, got {pid!r}.")
        if pid in people:
            raise BadLine(line, f"person id {pid} appears twice.")
        try:
            kp = np.asarray(person["keypoints"], dtype=np.float64)
        except (TypeError, ValueError):
            raise BadLine(line, f"keypoints of person {pid} are not a numeric [[x, y, conf], ...] list.") from None
        if kp.ndim != 2 or kp.shape[1] not in (2, 3):
            raise BadLine(line, f"keypoints of person {pid} have shape {kp.shape}. Expected (J, 2) or (J, 3).")
        people[pid] = kp
    return Frame(line, float(t), people)


def _lines(handle) -> Iterator[tuple[int, str]]:
    for number, text in enumerate(handle, start=1):
        if text.strip():
            yield number, text


def jsonl_frames(source) -> Iterator[Frame | BadLine]:
    """Frames of a JSON-lines file or ``-`` (stdin); bad lines are yielded as :class:`BadLine`."""
    handle = sys.stdin if str(source) == "-" else open(source, encoding="utf-8")
    try:
        for number, text in _lines(handle):
            try:
                yield parse_line(text, number)
            except BadLine as bad:
                yield bad
    finally:
        if handle is not sys.stdin:
            handle.close()


def npy_frames(path, fps: float) -> Iterator[Frame]:
    """One person (id 0) from a (T, J, 2|3) keypoint array, at ``fps``."""
    from htp_edge.pose.inputs import load_keypoint_file
    arr = load_keypoint_file(path)
    if np.ndim(arr) != 3:
        raise HtpEdgeError(f"stream: {Path(path).name} holds shape {np.shape(arr)}. Expected (T, 17, 2) or (T, 17, 3).")
    for i, frame in enumerate(arr):
        yield Frame(i + 1, i / fps, {0: frame})


class DetectorFrames:
    """The people of a detector's file or folder, frame by frame at ``fps`` (ids: the detector's
    track ids, or each person's index within its frame when the file has none). The file is read
    (and refused if malformed) at once; ``detections`` holds what it read."""

    def __init__(self, path, fps: float, reader: str | None = None) -> None:
        from htp_edge.io.detectors import read_detections
        self.detections = read_detections(path, reader)
        self.fps = float(fps)

    def __iter__(self) -> Iterator[Frame]:
        for i, people in enumerate(self.detections.frames):
            yield Frame(i + 1, i / self.fps, dict(people))


def udp_frames(url: str, idle_timeout: float | None) -> Iterator[Frame | BadLine]:
    """Frames from ``udp://HOST:PORT`` datagrams (one JSON line each) until ``idle_timeout`` seconds
    pass without one (None: until interrupted). The socket is bound here, before the first frame is
    asked for, so datagrams sent while the model loads wait in its buffer."""
    parts = urlparse(url)
    if parts.scheme != "udp" or not parts.hostname or not parts.port:
        raise HtpEdgeError(f"stream: bad UDP address {url!r}. Expected udp://HOST:PORT, e.g. udp://127.0.0.1:9870.")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((parts.hostname, parts.port))
    except OSError as exc:
        sock.close()
        raise HtpEdgeError(f"stream: cannot listen on {url} ({exc.strerror}).") from None
    sock.settimeout(idle_timeout)
    return _receive(sock)


def _receive(sock: socket.socket) -> Iterator[Frame | BadLine]:
    number = 0
    try:
        while True:
            try:
                data = sock.recv(1 << 20)
            except socket.timeout:
                return
            number += 1
            try:
                yield parse_line(data.decode("utf-8", errors="replace"), number)
            except BadLine as bad:
                yield bad
    finally:
        sock.close()


def open_source(source: str, fps: float = 30.0, idle_timeout: float | None = None,
                reader: str | None = None) -> Iterable[Frame | BadLine]:
    """Frames of ``source``; ``reader`` (one of :data:`htp_edge.io.detectors.READERS`) reads it as
    that detector's file, else a folder or a .json whose content a detector reader takes is one."""
    text = str(source)
    if text.startswith("udp://"):
        return udp_frames(text, idle_timeout)
    from htp_edge.io.detectors import is_detector_input
    if reader is not None or (text != "-" and is_detector_input(text)):
        return DetectorFrames(text, fps, reader)
    if text == "-" or text.endswith((".jsonl", ".json", ".ndjson")):
        if text != "-" and not Path(text).is_file():
            raise HtpEdgeError(f"stream: input not found: {text!r}.")
        return jsonl_frames(text)
    if text.endswith((".npy", ".npz")):
        return npy_frames(text, fps)
    raise HtpEdgeError(f"stream: unknown input {text!r}. Expected a .npy/.npz array, a .jsonl file, - (stdin), "
                       f"udp://HOST:PORT, or a detector's output (AlphaPose/MMPose .json, OpenPose folder).")
