"""On-disk layout of the converted motion cache: one ``.npz`` plus a provenance JSON.

The npz holds every clip concatenated (no pickles): ``positions`` (N, 17, 3) float32,
``offsets`` (C + 1,) int64 frame boundaries, and per clip ``names``, ``sources``, ``splits``,
``fps``. The JSON records the source wheels (file name, sha256, licence notice), the conversion
version and the npz's own sha256; a cache is valid only when both agree with this code.
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

from htp_edge.artifacts.files import atomic_write, sha256_file

CONVERSION_VERSION = 1
NPZ_NAME = f"motion-v{CONVERSION_VERSION}.npz"
PROVENANCE_NAME = f"motion-v{CONVERSION_VERSION}.json"


class ClipRecord(NamedTuple):
    """The fields of one stored clip, in :class:`htp_edge.data.MotionClip` order."""

    name: str
    source: str
    split: str
    fps: float
    positions: np.ndarray


def npz_path(cache_dir: Path) -> Path:
    return cache_dir / NPZ_NAME


def provenance_path(cache_dir: Path) -> Path:
    return cache_dir / PROVENANCE_NAME


def read_provenance(cache_dir: Path) -> dict | None:
    """The provenance JSON, or ``None`` when it is missing or unreadable."""
    try:
        return json.loads(provenance_path(cache_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def valid_cache(cache_dir: Path) -> Path | None:
    """The npz path when the cache is complete, current and intact; else ``None``."""
    meta = read_provenance(cache_dir)
    npz = npz_path(cache_dir)
    if not meta or meta.get("conversion_version") != CONVERSION_VERSION or not npz.is_file():
        return None
    return npz if meta.get("npz_sha256") == sha256_file(npz) else None


def write_records(path: Path, records: list[ClipRecord]) -> None:
    """Write clips atomically into one uncompressed npz."""
    lengths = [r.positions.shape[0] for r in records]
    arrays = {
        "positions": np.concatenate([r.positions for r in records]).astype(np.float32),  # (N, 17, 3)
        "offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        "names": np.array([r.name for r in records]),
        "sources": np.array([r.source for r in records]),
        "splits": np.array([r.split for r in records]),
        "fps": np.array([r.fps for r in records], dtype=np.float64),
    }
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write(path, lambda handle: handle.write(buffer.getvalue()))


def read_records(path: Path) -> list[ClipRecord]:
    """Read the clips written by :func:`write_records`."""
    with np.load(path, allow_pickle=False) as data:
        positions, offsets = data["positions"], data["offsets"]
        return [
            ClipRecord(str(n), str(s), str(sp), float(f), positions[offsets[i]:offsets[i + 1]])
            for i, (n, s, sp, f) in enumerate(zip(data["names"], data["sources"], data["splits"], data["fps"]))
        ]


def write_provenance(cache_dir: Path, meta: dict) -> None:
    """Write the provenance JSON atomically (after the npz it describes)."""
    text = json.dumps(meta, indent=2, sort_keys=True) + "\n"
    atomic_write(provenance_path(cache_dir), lambda handle: handle.write(text.encode("utf-8")))
