"""The planner's result cache: one small JSON per measurement, so that a second run (another
budget, another plot) measures nothing.

An accuracy record is keyed by the checkpoint's sha256, the setting, the backend, the data
selection (split, sequences, seed) and the host; a latency record by the checkpoint, the
setting, the backend, the bench settings (iterations, warm-up, threads, rounds) and the host.
The host is what changes the numbers: machine, CPU model and count, and the versions of the
runtimes (INT8 GEMMs even compute differently on CPUs with and without VNNI).
"""
from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from htp_edge.artifacts.files import atomic_write_json, sha256_bytes

KEY_VERSION = 1


def cpu_model() -> str | None:
    """The CPU's model name (Linux /proc/cpuinfo), else the platform's processor string."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith(("model name", "hardware")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def host_fingerprint() -> dict:
    """What identifies this machine's measurements."""
    from htp_edge import __version__
    from htp_edge.bench.platform import package_versions
    versions = package_versions()
    return {"node": platform.node(), "machine": platform.machine(), "cpu": cpu_model(), "cpus": os.cpu_count(),
            "onnxruntime": versions.get("onnxruntime"), "torch": versions.get("torch"),
            "tensorrt": versions.get("tensorrt"), "htp_edge": __version__}


def record_key(kind: str, fields: dict) -> str:
    """The file name of a record: sha256 of its canonical key fields."""
    text = json.dumps({"kind": kind, "version": KEY_VERSION, **fields}, sort_keys=True, default=str)
    return f"{kind}_{sha256_bytes(text.encode())[:24]}"


class ResultCache:
    """Records under ``folder`` (``<cache>/plan/results``); ``refresh`` ignores what is there."""

    def __init__(self, folder: Path, refresh: bool = False) -> None:
        self.folder, self.refresh = Path(folder), refresh

    def path(self, kind: str, fields: dict) -> Path:
        return self.folder / f"{record_key(kind, fields)}.json"

    def get(self, kind: str, fields: dict) -> dict | None:
        path = self.path(kind, fields)
        if self.refresh or not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # a damaged record is measured again
        return data.get("result") if data.get("key") == _plain(fields) else None

    def put(self, kind: str, fields: dict, result: dict) -> Path:
        return atomic_write_json(self.path(kind, fields), {"key": _plain(fields), "result": result})


def _plain(fields: dict) -> dict:
    """The key fields as they read back from JSON (tuples become lists)."""
    return json.loads(json.dumps(fields, sort_keys=True, default=str))
