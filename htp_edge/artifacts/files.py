"""Content hashes and atomic writes: the one implementation every stage uses.

:func:`atomic_write` writes through a private temporary file (``mkstemp``: a fresh name, never
following a symlink) in the destination folder, fsyncs it, gives it the umask's mode and moves
it into place with :func:`os.replace`; on any error the temporary file is removed and the
destination is untouched. A reader sees either the old file or the complete new one.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import IO, Callable

import numpy as np


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data) -> str:
    return hashlib.sha256(memoryview(data)).hexdigest()


def umask_mode(base: int = 0o666) -> int:
    """``base`` masked by the process umask (what ``open`` would give a new file)."""
    umask = os.umask(0)
    os.umask(umask)
    return base & ~umask


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(handle)`` on a temporary file beside ``path``, then move it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, umask_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_bytes(path: str | os.PathLike, data) -> Path:
    """Write ``data`` (bytes or any buffer) to ``path`` atomically."""
    return atomic_write(path, lambda handle: handle.write(memoryview(data)))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, default=str) + "\n")


def atomic_save_npy(path: str | os.PathLike, array: np.ndarray) -> Path:
    """``np.save`` through :func:`atomic_write` (no pickles)."""
    return atomic_write(path, lambda handle: np.save(handle, np.asarray(array), allow_pickle=False))


def atomic_copy(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Copy ``src`` to ``dst`` through :func:`atomic_write`."""
    def write(handle):
        with open(src, "rb") as source:
            for block in iter(lambda: source.read(1 << 20), b""):
                handle.write(block)
    return atomic_write(dst, write)
