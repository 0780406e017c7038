"""Fixtures for the data tests: the real-motion cache (prepared once) and tiny fake wheels."""
from __future__ import annotations

import pytest

from htp_edge.artifacts.cache import default_cache_dir
from htp_edge.data import load_motion, prepare_motion
from htp_edge.data.store import valid_cache


@pytest.fixture(scope="session")
def real_clips():
    """All converted clips from the user's cache; prepares it (downloads the wheels) if missing."""
    if valid_cache(default_cache_dir()) is None:
        prepare_motion(progress=False)
    return {clip.name: clip for clip in load_motion()}
