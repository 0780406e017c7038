"""Package data, read with :mod:`importlib.resources` (never from the repository or the CWD).

The wheel carries: the bundled checkpoints and their ONNX (``checkpoints/``), the TensorRT
device profiles (``engines/profiles/``), the calibration recipes (``precision/recipes/``), the
TensorRT ONNX op list and the recipe of exported pruning paths (``export/``).
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from htp_edge.errors import HtpEdgeError

CHECKPOINTS = ("checkpoints",)
PROFILES = ("engines", "profiles")
RECIPES = ("precision", "recipes")
EXPORT_DATA = ("export",)


def package_path(*parts: str) -> Path:
    """The file system path of ``htp_edge/<parts>`` inside the installed package."""
    node = resources.files("htp_edge").joinpath(*parts)
    path = Path(str(node))
    if not path.exists():
        raise HtpEdgeError(f"package data: {'/'.join(parts)} is missing from the installed htp_edge "
                           f"(looked in {path}). Reinstall htp_edge.")
    return path


def checkpoints_dir() -> Path:
    return package_path(*CHECKPOINTS)


def profiles_dir() -> Path:
    return package_path(*PROFILES)


def recipe_path(name: str = "default") -> Path:
    return package_path(*RECIPES, f"{name}.json")


def export_data(name: str) -> Path:
    """A data file of the export stage, e.g. ``trt10_onnx_ops.txt`` or ``variants.json``."""
    return package_path(*EXPORT_DATA, name)
