"""Where the converted motion lives, and how files get there without ever being half-written."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Callable, IO

CACHE_ENV = "HTP_EDGE_CACHE"
WHEELS_ENV = "HTP_EDGE_WHEELS"


def default_cache_dir() -> Path:
    """``$HTP_EDGE_CACHE``, else ``$XDG_CACHE_HOME/htp_edge``, else ``~/.cache/htp_edge``."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "htp_edge"


def resolve_cache_dir(cache_dir: str | os.PathLike | None) -> Path:
    """The given directory, or :func:`default_cache_dir` when ``None``."""
    return Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()


def resolve_wheel_dir(wheel_dir: str | os.PathLike | None) -> Path | None:
    """The given wheel directory, else ``$HTP_EDGE_WHEELS``, else ``None`` (download)."""
    if wheel_dir is not None:
        return Path(wheel_dir).expanduser()
    env = os.environ.get(WHEELS_ENV)
    return Path(env).expanduser() if env else None


def sha256_file(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk_bytes), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(handle)`` on a temporary file next to ``path``, then rename it into place.

    A reader sees either the old file or the complete new one; on any error the temporary
    file is removed and ``path`` is untouched.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
