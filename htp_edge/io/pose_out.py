"""Where streamed 3D poses go: JSON lines or MCAP (ROS 2 messages), one frame per call.

JSON lines: one line per input frame, ``{"t": s, "people": [{"id", "pose_3d": [[x, y, z] x 17],
"latency_ms"}]}`` (``people`` is empty while the windows fill). MCAP: see
:class:`htp_edge.io.mcap_out.McapPoseWriter`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import numpy as np

from htp_edge.errors import HtpEdgeError

SUFFIXES = (".jsonl", ".mcap")


class JsonlPoseWriter:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file = open(self.path, "w", encoding="utf-8")

    def write(self, t: float, poses: Mapping[int, np.ndarray], latency_ms: float | None = None) -> None:
        people = [{"id": int(tid), "pose_3d": np.round(np.asarray(p, np.float64), 6).tolist(),
                   "latency_ms": None if latency_ms is None else round(float(latency_ms), 3)}
                  for tid, p in sorted(poses.items())]
        self._file.write(json.dumps({"t": float(t), "people": people}) + "\n")

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            self._file.close()


class McapSink:
    """:class:`~htp_edge.io.mcap_out.McapPoseWriter` behind the same ``write`` as the JSON lines."""

    def __init__(self, path: str | Path, frame_id: str) -> None:
        from htp_edge.io.mcap_out import McapPoseWriter
        self._writer = McapPoseWriter(path, frame_id=frame_id)

    def write(self, t: float, poses: Mapping[int, np.ndarray], latency_ms: float | None = None) -> None:
        if poses:
            self._writer.write(t, poses)

    def close(self) -> None:
        if not self._writer.closed:
            self._writer.close()


def open_sink(final_path: Path, staged_path: Path, frame_id: str = "camera"):
    """A writer for ``final_path``'s format, writing to ``staged_path`` (moved into place on close)."""
    suffix = Path(final_path).suffix
    if suffix == ".jsonl":
        return JsonlPoseWriter(staged_path)
    if suffix == ".mcap":
        return McapSink(staged_path, frame_id)
    raise HtpEdgeError(f"stream: --out must end in {' or '.join(SUFFIXES)}, got {str(final_path)!r}.")
