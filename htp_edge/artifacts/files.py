"""Content hashes and atomic writes: the one implementation every stage uses.

:func:`atomic_write` writes through a private temporary file (``mkstemp``: a fresh name, never
following a symlink) in the destination folder, fsyncs it, gives it the umask's mode and moves
it into place with :func:`os.replace`; on any error the temporary file is removed and the
destination is untouched. A reader sees either the old file or the complete new one.
:class:`ArtifactSet` does the same for a set of files (graph + planner + report; engine +
inspector + manifest; poses + plot): staged in a private folder, moved into place only when the
whole set was written, the file that marks it complete last.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import IO, Callable

import numpy as np

from htp_edge.errors import HtpEdgeError


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



# -- artifact sets ---------------------------------------------------------------------------------
STAGING_PREFIX = ".htp-edge-staging-"


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _sweep_stale_staging(folder: Path) -> None:
    """Remove staging folders left by killed runs (their pid is no longer alive)."""
    import shutil
    try:
        entries = list(folder.glob(f"{STAGING_PREFIX}*"))
    except OSError:
        return
    for entry in entries:
        try:
            pid = int(entry.name[len(STAGING_PREFIX):].split("-")[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(entry, ignore_errors=True)
        except (ValueError, PermissionError, OSError):
            continue


class ArtifactSet:
    """Write several files as one set: each into a private staging folder beside its destination
    (``mkdtemp``: a fresh name, never following a planted symlink), then, when the block succeeds,
    fsync and move them into place with the first (the file that marks the set complete) last.

    On any error nothing is moved and the staging folder is removed, so the destination keeps its
    old set. Outputs that are inputs, or that name a directory, are refused before anything runs::

        with ArtifactSet([out_onnx, planner, sidecar], inputs=[src]) as staged:
            write(staged[out_onnx]); write(staged[planner]); ...
    """

    def __init__(self, outputs, inputs=(), what: str = "output") -> None:
        self.outputs = [Path(p) for p in outputs if p is not None]
        if not self.outputs:
            raise HtpEdgeError(f"{what}: no output path given.")
        if len({p.resolve() for p in self.outputs}) != len(self.outputs):
            raise HtpEdgeError(f"{what}: two outputs name the same file ({', '.join(map(str, self.outputs))}).")
        for out in self.outputs:
            if out.is_dir():
                raise HtpEdgeError(f"{what}: {str(out)!r} is a directory. Expected a file path.")
            for src in inputs:
                if src is not None and (_same_file(out, Path(src)) or out.resolve() == Path(src).resolve()):
                    raise HtpEdgeError(f"{what}: {str(out)!r} is also an input. Expected a new path for the output, "
                                       f"so that the input survives a failed run.")
        self._staging: dict[Path, Path] = {}
        self._paths: dict[Path, Path] = {}

    def __enter__(self) -> "ArtifactSet":
        for out in self.outputs:
            folder = out.parent
            if folder not in self._staging:
                folder.mkdir(parents=True, exist_ok=True)
                _sweep_stale_staging(folder)
                self._staging[folder] = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=folder))
            self._paths[out] = self._staging[folder] / out.name
        return self

    def __getitem__(self, final) -> Path:
        return self._paths[Path(final)]

    def final_text(self, text: str) -> str:
        """``text`` with staging paths replaced by the final ones (for reports)."""
        for final, staged in self._paths.items():
            text = text.replace(str(staged), str(final))
        return text

    def rewrite(self, obj):
        """A copy of a JSON-like report with staging paths replaced by final paths."""
        if isinstance(obj, str):
            return self.final_text(obj)
        if isinstance(obj, dict):
            return {k: self.rewrite(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return type(obj)(self.rewrite(v) for v in obj)
        return obj

    def _commit(self) -> None:
        written = [out for out in self.outputs if self._paths[out].exists()]
        if self.outputs[0] not in written:
            raise HtpEdgeError(f"output: {self.outputs[0].name} was not written. Expected the complete set, "
                               f"nothing was moved into place.")
        mode = umask_mode()
        for out in written:
            staged = self._paths[out]
            with open(staged, "rb+") as handle:
                os.fsync(handle.fileno())
            os.chmod(staged, mode)
        for out in written[1:] + written[:1]:  # the first output marks the set complete: it goes last
            os.replace(self._paths[out], out)

    def __exit__(self, exc_type, exc, tb) -> None:
        import shutil
        try:
            if exc_type is None:
                self._commit()
        finally:
            for folder in self._staging.values():
                shutil.rmtree(folder, ignore_errors=True)
