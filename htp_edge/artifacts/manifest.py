"""The engine manifest ``<engine>.json``: its format, reading it, and the compatibility check.

The manifest records what an engine was built from, with and for.

A TensorRT plan is valid only for the TensorRT version and GPU it was built with. The manifest
records both (plus the ONNX hash, precision recipe, I/O, CUDA and JetPack/L4T release, builder
settings), and :func:`check_compatible` refuses a mismatch with the command that rebuilds the
engine, before TensorRT gets to fail on it.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from htp_edge.errors import HtpEdgeError

FORMAT = "htp_edge.engine/1"
NV_TEGRA_RELEASE = "/etc/nv_tegra_release"



def base_precision(recipe: str) -> str:
    """The naming precision of a recipe such as ``"int8-qdq-matmul"`` -> ``"int8"``."""
    for name in ("int8", "fp16", "fp32"):
        if recipe.lower().startswith(name):
            return name
    return "unknown"


def l4t_release(path: str | None = None) -> dict | None:
    """Jetson L4T release from ``/etc/nv_tegra_release`` (``# R36 (release), REVISION: 4.3, ...``
    -> ``"36.4.3"``); ``None`` off Jetson."""
    try:
        line = Path(path or NV_TEGRA_RELEASE).read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    match = re.search(r"R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", line)
    release = f"{match.group(1)}.{match.group(2)}" if match else None
    return {"l4t_release": release, "nv_tegra_release": line.strip()}


def manifest_from_file(path) -> dict | None:
    """The manifest at ``path`` or ``None`` if there is none; a clear error if it is unreadable."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise HtpEdgeError(f"engine manifest: cannot read {path}. Expected JSON written by "
                           f"`htp-edge build`, got {type(exc).__name__}: {exc}. Delete it or "
                           f"rebuild the engine.") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise HtpEdgeError(f"engine manifest: {path} is not an htp-edge engine manifest. Expected "
                           f"format {FORMAT!r}, got "
                           f"{data.get('format') if isinstance(data, dict) else type(data).__name__!r}.")
    return data


REQUIRED = (("engine", "sha256"), ("tensorrt", "version"), ("device", "compute_capability"))


def require_fields(manifest: dict, path) -> None:
    """Refuse a manifest that lacks what the compatibility and integrity checks need (fail closed)."""
    missing = [".".join(key) for key in REQUIRED
               if not isinstance(manifest.get(key[0]), dict) or not manifest[key[0]].get(key[1])]
    if missing:
        raise HtpEdgeError(f"engine manifest: {path} lacks {', '.join(missing)}. Expected a manifest written by "
                           f"`htp-edge build` on the device; rebuild: {rebuild_command(manifest, path)}")


def check_plan_hash(manifest: dict, engine_path, plan_sha256: str) -> None:
    """Refuse a plan whose bytes are not the ones the manifest describes (replaced or truncated)."""
    recorded = (manifest.get("engine") or {}).get("sha256")
    if recorded and recorded != plan_sha256:
        raise HtpEdgeError(f"engine {engine_path}: its bytes do not match the manifest (sha256 {plan_sha256[:12]}..., "
                           f"manifest {recorded[:12]}...). The plan was replaced or truncated after the build; "
                           f"rebuild: {rebuild_command(manifest, engine_path)}")


def rebuild_command(manifest: dict | None, engine_path) -> str:
    """The `htp-edge build` command that recreates ``engine_path`` on this machine."""
    manifest = manifest or {}
    onnx = (manifest.get("onnx") or {}).get("path") or "MODEL.onnx"
    profile = (manifest.get("builder") or {}).get("profile")
    cmd = f"htp-edge build --onnx {onnx} --out {engine_path}"
    return cmd + (f" --profile {profile}" if profile else "")


def check_compatible(manifest: dict, engine_path, trt_version: str, compute_capability: str | None) -> None:
    """Refuse an engine whose manifest names another TensorRT version or GPU architecture."""
    built_trt = (manifest.get("tensorrt") or {}).get("version")
    built_cc = (manifest.get("device") or {}).get("compute_capability")
    rebuild = rebuild_command(manifest, engine_path)
    if built_trt and built_trt != trt_version:
        raise HtpEdgeError(
            f"engine {engine_path}: built with another TensorRT. Expected TensorRT {trt_version} "
            f"(this machine), got an engine built with {built_trt}. Engines are valid only for the "
            f"TensorRT version that built them; rebuild: {rebuild}")
    if built_cc and compute_capability and built_cc != compute_capability:
        gpu = (manifest.get("device") or {}).get("name") or "another GPU"
        raise HtpEdgeError(
            f"engine {engine_path}: built for another GPU. Expected compute capability "
            f"{compute_capability} (this GPU), got {built_cc} ({gpu}). Engines are valid only for "
            f"the GPU architecture that built them; rebuild: {rebuild}")


def engine_graph_meta(engine_path):
    """The graph record an engine's manifest carries (written from the ONNX at build time)."""
    from htp_edge.artifacts.graph_meta import GraphMeta
    from htp_edge.artifacts.naming import manifest_path
    path = manifest_path(engine_path)
    manifest = manifest_from_file(path)
    if manifest is None or manifest.get("graph") is None:
        raise HtpEdgeError(f"engine: {Path(engine_path).name} has no manifest with graph metadata ({path.name}). "
                           f"Build it with `htp-edge build`, which writes the manifest.")
    return GraphMeta.from_json(manifest["graph"], where=f"engine manifest {path.name}")
