"""Where the converted motion and the runtime's cached exports live."""
from __future__ import annotations

import os
from pathlib import Path

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
