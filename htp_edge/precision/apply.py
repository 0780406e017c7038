"""One entry point for the precision recipes, named for their target (onnx, onnxruntime).

* ``fp16``: FP16 weights/activations with FP32 I/O, normalisation and the token-scoring path
  kept in FP32 (TensorRT strongly typed build; on TensorRT 10 a weakly typed FP16 build of the
  FP32 graph is the fallback).
* ``int8``: symmetric explicit Q/DQ on MatMul/Gemm, calibrated on real data (see
  :mod:`htp_edge.precision.calibration`); the TCEP/MGPTP scoring -> TopK -> Gather path stays
  FP32. This is the TensorRT format (10 and 11).
* ``int8-dynamic``: ONNX Runtime's dynamic quantisation, the fast CPU format; not for TensorRT.
* ``int8-cpu``: the same recipe on the CPU companion graph (attention fused), with the fused
  attention blocks that carry no logit bias as QAttention; ONNX Runtime CPU only.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from htp_edge.errors import HtpEdgeError

SCORING_PATTERNS = ("/tcep/", "/mgptp/", "/token_planner/")
IO_PATTERNS = ("/Spatial_patch_to_embedding/", "/head/", "/time_mlp/")
# HoT's token-recovering attention: rebuilds every frame from the kept ones just before the head.
RECOVERY_PATTERNS = ("/tra/",)


def int8_float_patterns(float_pairs: int = 1, keep_io: bool = True) -> tuple[str, ...]:
    """Node-name patterns that stay float in the INT8 recipe: the scoring path always; the
    input/output layers with the token recovery, and the first ``float_pairs`` block pairs
    (full-frame, before pruning) by default. On the bundled htp-small the recovery alone holds
    most of the INT8 error (+1.7 mm with it quantised, +0.4 mm without)."""
    pairs = tuple(f"/{kind}.{i}/" for i in range(float_pairs) for kind in ("STEblocks", "TTEblocks"))
    return SCORING_PATTERNS + (IO_PATTERNS + RECOVERY_PATTERNS if keep_io else ()) + pairs


def quantize(src: Path, out: Path, precision: str, calibration=None, method: str = "minmax",
             calibration_dir: str = "calibration/out", progress: bool = True, compare: bool = True,
             float_pairs: int = 1) -> dict:
    """Write the ``precision`` variant of ``src`` to ``out`` and compare it with the FP32 graph on
    held-out (test-split) feeds; returns the report (JSON-ready)."""
    report = _quantize(src, out, precision, calibration, method, calibration_dir, progress, float_pairs)
    if compare:
        report["vs_fp32"] = compare_with_fp32(src, out, precision)
    return report


def mpjpe_gate(src: Path, candidate: Path, precision: str, max_sequences: int | None = None,
               gate_mm: float | None = None) -> dict:
    """The task-metric gate: MPJPE of ``candidate`` and of the FP32 ``src`` on the test split;
    ``ok`` when the increase is at most the precision's gate (:mod:`htp_edge.tolerances`)."""
    from htp_edge.artifacts.onnx_meta import read_graph_meta
    from htp_edge.evaluation.evaluate import EvalConfig, evaluate_source
    from htp_edge.tolerances import mpjpe_delta_gate_mm
    meta = read_graph_meta(src)
    cfg = EvalConfig(backend="onnxruntime", hypotheses=meta.hypotheses, flip=meta.flip, max_sequences=max_sequences)
    ref = evaluate_source(str(src), cfg)["mpjpe_mm"]
    got = evaluate_source(str(candidate), cfg)["mpjpe_mm"]
    limit = mpjpe_delta_gate_mm(precision) if gate_mm is None else float(gate_mm)
    return {"ok": got - ref <= limit, "mpjpe_fp32_mm": ref, "mpjpe_mm": got, "delta_mm": got - ref,
            "gate_mm": limit, "sequences": max_sequences or "all"}


def compare_with_fp32(src: Path, out: Path, precision: str, clips: int = 4, steps: int = 2) -> dict:
    """Pose differences and kept-index (TopK) agreement vs FP32 on test-split denoiser feeds."""
    from htp_edge.export.compare import compare_onnx_files
    from htp_edge.precision.calibration import CalibrationRecipe, record_feeds
    from htp_edge.tolerances import normalize_precision
    feeds = record_feeds(src, CalibrationRecipe(split="test", clips=clips, steps=steps, seed=7))
    rep = compare_onnx_files(src, out, feeds, tolerances=normalize_precision(precision))
    return {"ok": rep.ok, "feeds": rep.feeds, "max_abs": rep.max_abs,
            "agreement": {o.name: o.agreement for o in rep.outputs if o.agreement is not None}}


def _quantize(src, out, precision, calibration, method, calibration_dir, progress, float_pairs) -> dict:
    from htp_edge.precision import convert_fp16, quantize_int8_dynamic, quantize_int8_qdq
    base = {"onnx": str(out), "source_onnx": str(src), "precision": precision}
    if precision == "fp16":
        import warnings
        with warnings.catch_warnings():  # the converter warns for every weight below FP16's range
            warnings.simplefilter("ignore", UserWarning)
            rep = convert_fp16(src, out)  # default keeps scoring, time embedding, norms in FP32
        return _merge(base, rep)
    if precision == "int8-dynamic":
        # every block pair INT8; the scoring path, the input/output layers and the recovery float
        return _merge(base, quantize_int8_dynamic(src, out, exclude_name_patterns=int8_float_patterns(0)))
    if precision == "int8-cpu":
        from htp_edge.precision.int8 import quantize_int8_cpu
        return _merge(base, quantize_int8_cpu(src, out, exclude_name_patterns=int8_float_patterns(0)))
    if precision != "int8":
        raise HtpEdgeError(f"quantize: unknown precision. Expected fp16, int8, int8-dynamic or int8-cpu, "
                           f"got {precision!r}.")
    from htp_edge.precision.calibration import calibration_set
    if progress:
        import sys
        print("quantize: recording the calibration set (FP32 sampler on train-split clips) ...", file=sys.stderr)
    feeds, sha, desc = calibration_set(src, calibration, out_dir=calibration_dir)
    rep = quantize_int8_qdq(src, out, feeds, exclude_name_patterns=int8_float_patterns(float_pairs),
                            calibrate_method=method, calibration_sha256=sha)
    return {**_merge(base, rep), "calibration_sha256": sha, "calibration": desc}


def copy_graph_meta(path: Path, meta) -> None:
    """Re-attach the graph self-description (quantisers may drop metadata_props)."""
    import onnx

    from htp_edge.export.meta import write_graph_meta
    model = onnx.load(str(path))
    write_graph_meta(model, meta)
    onnx.save(model, str(path))


def _merge(base: dict, rep) -> dict:
    """The recipe's report under the CLI's keys (``precision`` stays the requested name)."""
    d = _as_dict(rep)
    d["recipe_precision"] = d.pop("precision", base["precision"])
    return {**d, **base}


def _as_dict(rep) -> dict:
    d = dataclasses.asdict(rep) if dataclasses.is_dataclass(rep) else dict(rep)
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}
