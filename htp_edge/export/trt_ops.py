"""The ONNX operators the TensorRT 10.x ONNX parser accepts, read from a bundled data file.

``trt10_onnx_ops.txt`` lists one op type per line (default ONNX domain); lines starting with
``#`` are comments, and the first one names the source of the list.
"""
from __future__ import annotations

from functools import lru_cache

OPS_FILE = "trt10_onnx_ops.txt"

# Ops the parser accepts but that a static, deterministic, fully-fused edge graph must not
# contain: data-dependent shapes, control flow (Loop/If become slow TensorRT loop/conditional
# layers) and random sampling (the diffusion noise is an input, never drawn inside the graph).
FORBIDDEN_OPS = frozenset({
    "NonZero", "Loop", "If",
    "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
    "Multinomial", "Bernoulli",
})

# Domains that hold standard ONNX operators.
DEFAULT_DOMAINS = frozenset({"", "ai.onnx"})


def _read_lines() -> list[str]:
    from importlib import resources

    return resources.files("htp_edge.export").joinpath(OPS_FILE).read_text("utf-8").splitlines()


@lru_cache(maxsize=1)
def trt10_supported_ops() -> frozenset[str]:
    """Op types (default domain) supported by the TensorRT 10.x ONNX parser."""
    return frozenset(line.strip() for line in _read_lines()
                     if line.strip() and not line.lstrip().startswith("#"))


def trt10_ops_source() -> str:
    """The header line that names where the op list comes from."""
    return next(line.lstrip("# ").strip() for line in _read_lines() if line.startswith("#"))


def is_trt10_supported(op_type: str, domain: str = "") -> bool:
    """Whether the TensorRT 10 parser has a built-in importer for ``op_type`` in ``domain``."""
    return domain in DEFAULT_DOMAINS and op_type in trt10_supported_ops()
