"""Artifact names derived from their configuration.

``engine_name("htp_f243_n121_f61_h5_k5", "fp16", "8.7")`` gives
``htp_f243_n121_f61_h5_k5_fp16_sm87.engine``; the sidecars sit beside the plan:
``<engine>.json`` (manifest) and ``<engine>.layers.json`` (engine inspector). The plan itself
stays a plain TensorRT plan that trtexec and Polygraphy open.
"""
from __future__ import annotations

import re
from pathlib import Path

from htp_edge.errors import HtpEdgeError

PRECISIONS = ("fp32", "fp16", "int8", "mixed", "unknown")


def sm_tag(compute_capability) -> str:
    """``"87"`` from ``(8, 7)``, ``"8.7"``, ``"87"`` or ``"sm87"``."""
    if isinstance(compute_capability, (tuple, list)) and len(compute_capability) == 2:
        return f"{int(compute_capability[0])}{int(compute_capability[1])}"
    text = str(compute_capability).lower().removeprefix("sm").removeprefix("_")
    match = re.fullmatch(r"(\d+)\.?(\d)", text)
    if match is None:
        raise HtpEdgeError(
            f"engine name: bad compute capability. Expected e.g. (8, 7), '8.7' or 'sm87', got "
            f"{compute_capability!r}.")
    return match.group(1) + match.group(2)


def engine_name(onnx_stem: str, precision: str, sm) -> str:
    """``<onnx stem>_<precision>_sm<cc>.engine``; the precision is not repeated if the stem
    already ends with it."""
    if precision not in PRECISIONS:
        raise HtpEdgeError(f"engine name: unknown precision. Expected one of "
                           f"{', '.join(PRECISIONS)}, got {precision!r}.")
    stem = Path(onnx_stem).name.removesuffix(".onnx")
    if not stem.endswith(f"_{precision}"):
        stem = f"{stem}_{precision}"
    return f"{stem}_sm{sm_tag(sm)}.engine"


def manifest_path(engine_path) -> Path:
    """The sidecar manifest of an engine: ``model.engine`` -> ``model.engine.json``."""
    engine_path = Path(engine_path)
    return engine_path.with_name(engine_path.name + ".json")


def inspector_path(engine_path) -> Path:
    """The engine-inspector JSON of an engine: ``model.engine`` -> ``model.engine.layers.json``."""
    engine_path = Path(engine_path)
    return engine_path.with_name(engine_path.name + ".layers.json")


def timing_cache_name(gpu_name: str | None, sm, trt_version: str) -> str:
    """One timing cache per GPU and TensorRT version, e.g. ``timing_orin_sm87_trt10.3.0.30.cache``."""
    gpu = re.sub(r"[^a-z0-9]+", "-", (gpu_name or "gpu").lower()).strip("-") or "gpu"
    sm_part = f"sm{sm_tag(sm)}" if sm is not None else "smunknown"
    version = re.sub(r"[^0-9A-Za-z.]+", "-", trt_version)
    return f"timing_{gpu}_{sm_part}_trt{version}.cache"


def planner_onnx(onnx_path) -> Path:
    """The TCEP planner graph exported beside a denoiser: ``x.onnx`` -> ``x.planner.onnx``."""
    return Path(onnx_path).with_suffix(".planner.onnx")


def planner_engine(engine_path) -> Path:
    """Where the runtime looks for the planner engine: ``x.engine`` -> ``x.planner.engine``."""
    return Path(engine_path).with_suffix(".planner.engine")


def is_planner(onnx_path) -> bool:
    return Path(onnx_path).name.endswith(".planner.onnx")
