"""One naming scheme for every artifact, derived from its configuration.

A graph is ``<model>_<layout>``: ``model`` is a bundled name (``htp-small``) or an architecture
tag (``htp_f243_n121_m61``: frames F, TCEP's kept frames n1, MGPTP's kept tokens m) and
``layout`` its static batch, ``c<clips>_h<hypotheses>_<flip|noflip>[_k<unrolled DDIM steps>]``.
Companions sit beside it: ``x.planner.onnx`` (TCEP plan), ``x.json`` (export report). An engine
is ``<onnx stem>_<precision>_sm<cc>.engine`` with ``<engine>.json`` (manifest) and
``<engine>.layers.json`` (engine inspector); the plan itself stays a plain TensorRT plan.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from htp_edge.errors import HtpEdgeError

PRECISIONS = ("fp32", "fp16", "int8", "mixed", "unknown")
BUNDLED = ("d3dp-small", "htp-small", "htp-small-causal")  # -causal: streams its newest frame
DEFAULT_CHECKPOINT = "htp-small"
CHECKPOINT_SUFFIXES = (".pt", ".bin", ".pth")
ENGINE_SUFFIXES = (".engine", ".plan", ".trt")


@dataclass(frozen=True)
class GraphLayout:
    """The static batch of an exported graph: clips per call, hypotheses, flip, unrolled steps."""

    clips: int = 1
    hypotheses: int = 1
    flip: bool = True
    steps: int | None = None

    def __post_init__(self) -> None:
        for name in ("clips", "hypotheses"):
            if int(getattr(self, name)) < 1:
                raise HtpEdgeError(f"layout: {name} must be >= 1, got {getattr(self, name)}.")
        if self.steps is not None and self.steps < 1:
            raise HtpEdgeError(f"layout: unrolled steps must be >= 1, got {self.steps}.")

    @property
    def suffix(self) -> str:
        text = f"c{self.clips}_h{self.hypotheses}_{'flip' if self.flip else 'noflip'}"
        return text + (f"_k{self.steps}" if self.steps else "")


def graph_stem(model: str, layout: GraphLayout) -> str:
    """``htp-small`` + ``GraphLayout()`` -> ``htp-small_c1_h1_flip``."""
    return f"{model}_{layout.suffix}"


def cached_graph_stem(checkpoint_stem: str, checkpoint_sha256: str, layout: GraphLayout) -> str:
    """The cache name of a checkpoint's export: the checkpoint's stem and hash, then the layout."""
    return graph_stem(f"{checkpoint_stem}_{checkpoint_sha256[:12]}", layout)


def bundled_onnx(name: str, layout: GraphLayout) -> Path:
    """Where the wheel carries the ONNX of a bundled checkpoint in ``layout`` (may not exist)."""
    from htp_edge.artifacts.resources import checkpoints_dir
    return checkpoints_dir() / f"{graph_stem(name, layout)}.onnx"


def bundled_checkpoint(name: str) -> Path:
    from htp_edge.artifacts.resources import checkpoints_dir
    return checkpoints_dir() / f"{name}.pt"


def sidecar_json(onnx_path) -> Path:
    """The export report beside a graph: ``x.onnx`` -> ``x.json``."""
    return Path(onnx_path).with_suffix(".json")


def calibration_set(onnx_path, seed: int) -> str:
    """File name of the calibration feeds recorded for a graph."""
    return f"{Path(onnx_path).stem}_calib_s{seed}.npz"


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
