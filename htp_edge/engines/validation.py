"""Validate an engine on the device against outputs saved on the workstation.

The workstation runs the ONNX with ONNX Runtime and saves inputs and outputs to one ``.npz``
(:func:`save_reference`); the device runs the engine on the same inputs and compares
(:func:`htp_edge.runtime.compare.compare_outputs` with
:func:`htp_edge.tolerances.device_tolerances`), summarises the engine-inspector JSON (:func:`summarize_inspector`)
and times the engine (:func:`time_runner`). No ONNX Runtime is needed on the device.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Mapping

import numpy as np

from htp_edge.artifacts import names
from htp_edge.artifacts.specs import TensorSpec
from htp_edge.errors import HtpEdgeError
from htp_edge.runtime.backends.base import Runner
from htp_edge.tolerances import DEVICE_ATOL_M


def device_precision(name: str) -> str:
    """``fp32``/``fp16``/``int8`` from a precision name or recipe (``int8-qdq`` -> ``int8``)."""
    for key in DEVICE_ATOL_M:
        if str(name).lower().startswith(key):
            return key
    raise HtpEdgeError(f"validate: unknown precision. Expected one of {', '.join(DEVICE_ATOL_M)}, "
                       f"got {name!r}. Pass --precision.")


# -- reference (workstation) -------------------------------------------------------------------
def make_inputs(specs: list[TensorSpec], seed: int = 0, frames: int | None = None) -> dict[str, np.ndarray]:
    """Synthetic inputs for the exported graphs: 2D keypoints in [-1, 1], Gaussian noise,
    timesteps in [0, 1000), sorted distinct kept-frame indices. Prefer real inputs (--inputs)."""
    rng = np.random.default_rng(seed)
    feed = {}
    for spec in specs:
        if np.issubdtype(spec.dtype, np.integer):
            feed[spec.name] = _frame_indices(rng, spec.shape, frames).astype(spec.dtype)
        elif spec.name == names.TIMESTEP:
            feed[spec.name] = rng.integers(0, 1000, size=spec.shape).astype(spec.dtype)
        elif spec.name == names.KEYPOINTS_2D:
            feed[spec.name] = rng.uniform(-1.0, 1.0, size=spec.shape).astype(spec.dtype)
        else:
            feed[spec.name] = rng.standard_normal(spec.shape).astype(spec.dtype)
    return feed


def _frame_indices(rng, shape: tuple[int, ...], frames: int | None) -> np.ndarray:
    count = shape[-1] if shape else 1
    rows = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
    frames = max(frames or count, count)
    picks = [np.sort(rng.choice(frames, size=count, replace=False)) for _ in range(rows)]
    return np.stack(picks).reshape(shape)


def save_reference(onnx_path, out_path, inputs: Mapping[str, np.ndarray] | None = None,
                   seed: int = 0) -> dict:
    """Run ``onnx_path`` with ONNX Runtime (CPU) and save ``input/<name>``, ``output/<name>`` and
    ``meta`` (JSON) to ``out_path`` (.npz). Returns the meta."""
    from htp_edge.artifacts.files import sha256_file
    from htp_edge.engines.onnx_info import onnx_info
    from htp_edge.runtime.backends import make_runner

    runner = make_runner("onnxruntime", Path(onnx_path), providers=["CPUExecutionProvider"])
    info = onnx_info(onnx_path)
    with runner:
        frames = (info.get("graph") or {}).get("frames")
        feed = dict(inputs) if inputs is not None else make_inputs(runner.input_specs(), seed, frames)
        outputs = runner.infer(feed)
    meta = {"onnx": str(onnx_path), "onnx_sha256": sha256_file(onnx_path),
            "precision": info["precision"]["recipe"], "seed": seed,
            "inputs": {k: list(v.shape) for k, v in feed.items()},
            "outputs": {k: list(v.shape) for k, v in outputs.items()}}
    arrays = {f"input/{k}": v for k, v in feed.items()}
    arrays.update({f"output/{k}": v for k, v in outputs.items()})
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    np.savez(out_path, meta=np.array(json.dumps(meta)), **arrays)
    return meta


def load_reference(path) -> tuple[dict, dict, dict]:
    """``(inputs, outputs, meta)`` from a file written by :func:`save_reference`."""
    path = Path(path)
    if not path.is_file():
        raise HtpEdgeError(f"validate: reference not found. Expected an .npz from --save-reference, "
                           f"got {str(path)!r}. Make it on the workstation: python "
                           f"scripts/validate_on_device.py --save-reference {path.name} --onnx MODEL.onnx")
    with np.load(path, allow_pickle=False) as data:
        inputs = {k.split("/", 1)[1]: data[k] for k in data.files if k.startswith("input/")}
        outputs = {k.split("/", 1)[1]: data[k] for k in data.files if k.startswith("output/")}
        meta = json.loads(str(data["meta"])) if "meta" in data.files else {}
    if not inputs or not outputs:
        raise HtpEdgeError(f"validate: {path} holds no input/ or output/ arrays. Expected a file "
                           f"written by --save-reference, got keys {sorted(inputs) + sorted(outputs)}.")
    return inputs, outputs, meta


# -- engine inspector ----------------------------------------------------------------------------
_DTYPES = (("fp16", ("fp16", "half")), ("bf16", ("bf16",)), ("fp8", ("fp8",)), ("int8", ("int8",)),
           ("int32", ("int32",)), ("int64", ("int64",)), ("bool", ("bool",)), ("fp32", ("fp32", "float")))


def _layer_dtype(layer: dict) -> str:
    tensors = layer.get("Outputs") or layer.get("Inputs") or []
    text = " ".join(str(t.get("Format/Datatype", "")) for t in tensors if isinstance(t, dict)).lower()
    for name, keys in _DTYPES:
        if any(k in text for k in keys):
            return name
    return "unknown"


def summarize_inspector(source) -> dict:
    """Layer count, layers per output precision, and whether attention fused (Myelin/MHA layers)
    from the engine-inspector JSON (a path, a JSON string or the parsed dict)."""
    data = source
    if isinstance(source, (str, Path)) and Path(source).is_file():
        data = Path(source).read_text()
    if isinstance(data, str):
        data = json.loads(data)
    layers = data.get("Layers", []) if isinstance(data, dict) else list(data)
    per_precision: dict[str, int] = {}
    mha, myelin = [], []
    for layer in layers:
        if not isinstance(layer, dict):  # LAYER_NAMES_ONLY verbosity: names only
            layer = {"Name": str(layer)}
        precision = _layer_dtype(layer)
        per_precision[precision] = per_precision.get(precision, 0) + 1
        text = f"{layer.get('Name', '')} {layer.get('TacticName', '')} {layer.get('LayerType', '')}".lower()
        if "mha" in text or "attention" in text:
            mha.append(layer.get("Name", ""))
        if "myelin" in text or "foreignnode" in text:
            myelin.append(layer.get("Name", ""))
    return {"layers": len(layers), "per_precision": per_precision,
            "attention_fused": bool(mha), "mha_layers": mha[:10], "myelin_layers": len(myelin)}


# -- timing -------------------------------------------------------------------------------------
def time_runner(runner: Runner, feed: Mapping[str, np.ndarray], iters: int = 100, warmup: int = 10) -> dict:
    """Latency of ``runner.infer`` (synchronised every call): p50/p90/p99 of the wall time and of
    each ``last_timings`` stage, after ``warmup`` untimed calls."""
    from htp_edge.bench.stats import summarize

    if iters < 1:
        raise HtpEdgeError(f"validate: iterations must be >= 1, got {iters}.")
    for _ in range(max(warmup, 0)):
        runner.infer(feed)
    wall, stages = [], {}
    for _ in range(iters):
        start = time.perf_counter()
        runner.infer(feed)
        wall.append((time.perf_counter() - start) * 1000.0)
        for name, ms in runner.last_timings.items():
            stages.setdefault(name, []).append(ms)
    return {"iters": iters, "warmup": warmup, "total": summarize(wall),
            "stages": {name: summarize(values) for name, values in stages.items()}}
