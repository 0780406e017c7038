"""Precision stage: FP16 conversion, INT8 quantisation (TensorRT Q/DQ and CPU dynamic) and the
metadata that makes every reduced-precision ONNX describe its recipe.

Heavy packages (onnx, onnxruntime, onnxconverter-common, modelopt) are imported inside the
functions, so importing this package is cheap.
"""
from __future__ import annotations

__all__ = [
    "convert_fp16", "round_weights_fp16", "Fp16Report",
    "quantize_int8_qdq", "quantize_int8_dynamic", "Int8Report",
    "write_metadata", "read_metadata", "ModelMetadata", "sha256_file", "sha256_arrays",
]

_LOCATIONS = {
    "convert_fp16": "fp16", "round_weights_fp16": "fp16", "Fp16Report": "fp16",
    "quantize_int8_qdq": "int8", "quantize_int8_dynamic": "int8", "Int8Report": "int8",
    "write_metadata": "metadata", "read_metadata": "metadata", "ModelMetadata": "metadata",
    "sha256_file": "metadata", "sha256_arrays": "metadata",
}


def __getattr__(name: str):
    if name not in _LOCATIONS:
        raise AttributeError(f"module 'htp_edge.precision' has no attribute {name!r}")
    from importlib import import_module
    return getattr(import_module(f"htp_edge.precision.{_LOCATIONS[name]}"), name)
