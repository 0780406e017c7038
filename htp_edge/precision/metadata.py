"""Self-description of reduced-precision ONNX files through ``metadata_props``.

Keys (all strings, as ONNX requires):

- ``htp_edge.precision``: ``fp32`` | ``fp16`` | ``int8-qdq`` | ``int8-dynamic``
- ``htp_edge.source_onnx_sha256``: sha256 of the FP32 ONNX the file was made from
- ``htp_edge.calibration_sha256``: :func:`sha256_arrays` of the calibration feeds (INT8 Q/DQ)
- ``htp_edge.recipe``: JSON object with the recipe's settings
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np

from htp_edge.artifacts import names
from htp_edge.errors import HtpEdgeError

PRECISIONS = ("fp32", "fp16", "int8-qdq", "int8-dynamic")
KEY_PRECISION = names.META_PRECISION
KEY_SOURCE = names.META_SOURCE
KEY_CALIBRATION = names.META_CALIBRATION
KEY_RECIPE = names.META_RECIPE


@dataclass(frozen=True)
class ModelMetadata:
    """The htp-edge keys of one ONNX model (``None`` where absent)."""

    precision: str | None = None
    source_onnx_sha256: str | None = None
    calibration_sha256: str | None = None
    recipe: Mapping[str, Any] = field(default_factory=dict)



def sha256_arrays(feeds: Iterable[Mapping[str, np.ndarray]]) -> str:
    """Stable hex sha256 of a sequence of feeds (order, names, dtypes, shapes and values).

    Within a feed, inputs are hashed in sorted-name order; arrays are hashed as C-contiguous
    little-endian bytes, so the hash does not depend on memory layout or platform.
    """
    digest = hashlib.sha256()
    for index, feed in enumerate(feeds):
        digest.update(f"feed {index}\n".encode())
        for name in sorted(feed):
            arr = np.ascontiguousarray(feed[name])
            arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
            digest.update(f"{name}|{arr.dtype.str}|{arr.shape}\n".encode())
            digest.update(arr.tobytes())
    return digest.hexdigest()


def write_metadata(model, precision: str, source_onnx_sha256: str | None = None,
                   calibration_sha256: str | None = None,
                   recipe: Mapping[str, Any] | None = None):
    """Set the htp-edge keys on an ``onnx.ModelProto`` in place (other keys kept); return it."""
    if precision not in PRECISIONS:
        raise HtpEdgeError(f"metadata: unknown precision. Expected one of {', '.join(PRECISIONS)}, "
                           f"got {precision!r}.")
    values = {KEY_PRECISION: precision, KEY_SOURCE: source_onnx_sha256,
              KEY_CALIBRATION: calibration_sha256,
              KEY_RECIPE: json.dumps(dict(recipe or {}), sort_keys=True)}
    kept = [(p.key, p.value) for p in model.metadata_props if p.key not in values]
    del model.metadata_props[:]
    for key, value in kept + [(k, v) for k, v in values.items() if v is not None]:
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return model


def read_metadata(model_or_path) -> ModelMetadata:
    """Read the htp-edge keys of a model or ONNX file (weights are not loaded for a path)."""
    import onnx

    model = model_or_path
    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model_or_path), load_external_data=False)
    props = {p.key: p.value for p in model.metadata_props}
    try:
        recipe = json.loads(props.get(KEY_RECIPE, "{}"))
    except json.JSONDecodeError as err:
        raise HtpEdgeError(f"metadata: {KEY_RECIPE} is not valid JSON. Expected a JSON object, "
                           f"got {props[KEY_RECIPE][:80]!r} ({err}).") from None
    return ModelMetadata(precision=props.get(KEY_PRECISION),
                         source_onnx_sha256=props.get(KEY_SOURCE),
                         calibration_sha256=props.get(KEY_CALIBRATION), recipe=recipe)
