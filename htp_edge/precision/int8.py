"""INT8 quantisation recipes, named for their target.

- :func:`quantize_int8_qdq`, **the TensorRT format**: calibrated static quantisation with
  explicit QuantizeLinear/DequantizeLinear pairs (ONNX Runtime ``quantize_static``, QDQ format,
  symmetric INT8 activations and weights, zero points 0 as TensorRT requires) on MatMul/Gemm.
- :func:`quantize_int8_dynamic`, **the fast CPU format**: ONNX Runtime ``quantize_dynamic``
  (weights INT8 offline, activations quantised per call, com.microsoft ops); no calibration, not
  loadable by TensorRT.

Both recipes quantise weights to the reduced range [-64, 64] (:data:`REDUCE_RANGE`). ONNX
Runtime's x86 integer GEMM without VNNI (AVX2, e.g. AMD Zen 2/3, pre-Ice-Lake Intel) multiplies
uint8 activations by int8 weights with ``vpmaddubsw``, which adds each pair of products into a
*saturating* int16: 2 * 255 * 127 = 64770 overflows 32767, 2 * 255 * 64 = 32640 does not. With
full-range weights the same file gives different numbers on different CPUs (MatMulInteger in the
dynamic graph, and ORT's fusion of DQ -> MatMul -> Q into QLinearMatMul in the Q/DQ graph): on
an AVX2 host the tiny test lifter's pose error grew from 0.012 to 0.38 (dynamic) and from 0.033
to 0.15 (Q/DQ). With 7-bit weights every host, and TensorRT, compute the graph's own (exact
int32) result, at the cost of one bit of weight resolution.

Nodes whose names contain one of ``exclude_name_patterns`` stay FP32: the token-scoring path
(scores -> TopK -> Gather) is discontinuous, and INT8 there flipped 2.8 % of TopK selections in a
probe while FP16 flipped none.
"""
from __future__ import annotations

import contextlib
import io
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from htp_edge.artifacts.files import sha256_file
from htp_edge.errors import HtpEdgeError
from htp_edge.precision.fp16 import save_atomic
from htp_edge.precision.metadata import sha256_arrays, write_metadata

DEFAULT_EXCLUDE_NAME_PATTERNS = ("/tcep/", "/mgptp/", "/token_planner/")
QUANTIZED_OP_TYPES = ("MatMul", "Gemm")
# Weights in [-64, 64] (7 bits): no int16 saturation in ONNX Runtime's non-VNNI x86 kernels (see
# the module docstring). Pinned rather than left to ONNX Runtime's default (False).
REDUCE_RANGE = True
CALIBRATE_METHODS = ("minmax", "percentile", "entropy")
# Ops the dynamic recipe produces in place of a float MatMul/Gemm.
_DYNAMIC_OPS = ("DynamicQuantizeMatMul", "MatMulInteger", "DynamicQuantizeLinear",
                "MatMulIntegerToFloat")


@dataclass(frozen=True)
class Int8Report:
    """What an INT8 recipe produced."""

    out_path: str
    precision: str
    quantized_nodes: tuple[str, ...]
    excluded_nodes: tuple[str, ...]
    op_counts: dict[str, int]
    source_onnx_sha256: str
    calibration_sha256: str | None = None
    calibration_feeds: int = 0
    calibrate_method: str | None = None

    @property
    def quantize_linear(self) -> int:
        return self.op_counts.get("QuantizeLinear", 0)

    @property
    def dequantize_linear(self) -> int:
        return self.op_counts.get("DequantizeLinear", 0)


def excluded_node_names(model, patterns: Sequence[str]) -> list[str]:
    """Names of the MatMul/Gemm nodes whose names contain one of ``patterns``."""
    return [n.name for n in model.graph.node
            if n.op_type in QUANTIZED_OP_TYPES and any(p in n.name for p in patterns)]


def activation_matmul_names(model) -> list[str]:
    """MatMul nodes whose two inputs are both activations (attention's Q K^T and A V)."""
    constants = {i.name for i in model.graph.initializer}
    constants |= {o for n in model.graph.node if n.op_type == "Constant" for o in n.output}
    return [n.name for n in model.graph.node
            if n.op_type == "MatMul" and not any(i in constants for i in n.input)]


class _FeedReader:
    """ONNX Runtime ``CalibrationDataReader`` over a list of feeds."""

    def __init__(self, feeds: list[dict[str, np.ndarray]]) -> None:
        self._feeds = iter(feeds)

    def get_next(self):
        return next(self._feeds, None)


def _calibrate_method(name: str):
    from onnxruntime.quantization import CalibrationMethod

    methods = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
               "entropy": CalibrationMethod.Entropy}
    if name not in methods:
        raise HtpEdgeError(f"int8: unknown calibration method. Expected one of "
                           f"{', '.join(CALIBRATE_METHODS)}, got {name!r}.")
    return methods[name]


def _preprocess(in_path, tmp: Path) -> Path:
    """ONNX Runtime's quantisation pre-processing, shape inference only (no graph optimisation:
    it would rename nodes, and the exclusions are found by name)."""
    from onnxruntime.quantization import quant_pre_process

    out = tmp / "preprocessed.onnx"
    try:
        quant_pre_process(str(in_path), str(out), skip_optimization=True)
    except Exception as err:  # symbolic shape inference raises assorted errors
        raise HtpEdgeError(f"int8: ONNX Runtime pre-processing failed. Expected shape inference "
                           f"to succeed, got: {' '.join(str(err).split())[:200]}. Retry with "
                           f"preprocess=False.") from None
    return out


def quantize_int8_qdq(in_path, out_path, calibration_feeds: Iterable[Mapping[str, np.ndarray]],
                      exclude_name_patterns: Sequence[str] = DEFAULT_EXCLUDE_NAME_PATTERNS,
                      calibrate_method: str = "minmax", per_channel: bool = False,
                      preprocess: bool = True,
                      calibration_sha256: str | None = None,
                      quantize_attention: bool = False) -> Int8Report:
    """Calibrated static INT8 with explicit symmetric Q/DQ on MatMul/Gemm (the TensorRT format).

    ``calibration_feeds``: representative inputs (e.g. real 2D keypoints with noisy 3D poses at
    sampled timesteps); their :func:`~htp_edge.precision.metadata.sha256_arrays` hash is stored
    in the model (``calibration_sha256``, when given, must equal it). With ``quantize_attention``
    False (default) only weight GEMMs (Linear layers) get Q/DQ; the activation-by-activation
    attention matmuls stay in float, where softmax probabilities quantised to amax/127 steps
    lose the small weights. Weights use the reduced range of :data:`REDUCE_RANGE`. Raises
    :class:`HtpEdgeError` if any zero point is non-zero or an excluded node got quantised.
    """
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    method = _calibrate_method(calibrate_method)
    feeds = [{k: np.asarray(v) for k, v in f.items()} for f in calibration_feeds]
    if not feeds:
        raise HtpEdgeError("int8: no calibration feeds. Expected at least one feed, got 0. "
                           "Pass representative inputs, or use quantize_int8_dynamic for the CPU.")
    calibration_sha = sha256_arrays(feeds)
    if calibration_sha256 is not None and calibration_sha256 != calibration_sha:
        raise HtpEdgeError(f"int8: the calibration hash does not match the feeds. Expected "
                           f"{calibration_sha[:16]}..., got {calibration_sha256[:16]}.... Hash the "
                           f"feeds with htp_edge.precision.metadata.sha256_arrays.")
    source_sha = sha256_file(in_path)
    with tempfile.TemporaryDirectory() as tmp:
        src = _preprocess(in_path, Path(tmp)) if preprocess else Path(in_path)
        graph = onnx.load(str(src), load_external_data=False)
        excluded = excluded_node_names(graph, exclude_name_patterns)
        if not quantize_attention:
            excluded = sorted(set(excluded) | set(activation_matmul_names(graph)))
        raw = Path(tmp) / "int8.onnx"
        with contextlib.redirect_stdout(io.StringIO()):  # the calibrators print progress
            quantize_static(
                str(src), str(raw), _FeedReader(feeds), quant_format=QuantFormat.QDQ,
                op_types_to_quantize=list(QUANTIZED_OP_TYPES), per_channel=per_channel,
                reduce_range=REDUCE_RANGE,
                activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                nodes_to_exclude=excluded, calibrate_method=method,
                calibration_providers=["CPUExecutionProvider"],
                # every option the recipe relies on, pinned (not ONNX Runtime's defaults)
                extra_options={"ActivationSymmetric": True, "WeightSymmetric": True,
                               "MatMulConstBOnly": False})
        model = onnx.load(str(raw))
    _require_zero_points(model)
    quantized = quantized_qdq_nodes(model)
    _require_excluded_float(excluded, quantized)
    recipe = {"tool": "onnxruntime.quantize_static", "format": "QDQ", "activation": "QInt8",
              "weight": "QInt8", "symmetric": True, "per_channel": per_channel,
              "reduce_range": REDUCE_RANGE, "calibrate_method": calibrate_method,
              "op_types": list(QUANTIZED_OP_TYPES),
              "quantize_attention": quantize_attention,
              "exclude_name_patterns": list(exclude_name_patterns), "preprocess": preprocess,
              "calibration_feeds": len(feeds)}
    write_metadata(model, "int8-qdq", source_onnx_sha256=source_sha,
                   calibration_sha256=calibration_sha, recipe=recipe)
    save_atomic(model, out_path)
    return Int8Report(out_path=str(out_path), precision="int8-qdq",
                      quantized_nodes=tuple(quantized),
                      excluded_nodes=tuple(excluded), op_counts=_op_counts(model),
                      source_onnx_sha256=source_sha, calibration_sha256=calibration_sha,
                      calibration_feeds=len(feeds), calibrate_method=calibrate_method)


def quantize_int8_dynamic(in_path, out_path,
                          exclude_name_patterns: Sequence[str] = DEFAULT_EXCLUDE_NAME_PATTERNS,
                          per_channel: bool = False) -> Int8Report:
    """Dynamic INT8 for ONNX Runtime on the CPU (the fast CPU format; **not** a TensorRT format).

    Weights of MatMul/Gemm are INT8 offline, activations are quantised on the fly; no
    calibration data; weights use the reduced range of :data:`REDUCE_RANGE` (full-range weights
    saturate ONNX Runtime's x86 kernels without VNNI). Use :func:`quantize_int8_qdq` for TensorRT.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source_sha = sha256_file(in_path)
    excluded = excluded_node_names(onnx.load(str(in_path), load_external_data=False),
                                   exclude_name_patterns)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "int8_dynamic.onnx"
        quantize_dynamic(str(in_path), str(raw), op_types_to_quantize=list(QUANTIZED_OP_TYPES),
                         per_channel=per_channel, reduce_range=REDUCE_RANGE,
                         weight_type=QuantType.QInt8, nodes_to_exclude=excluded,
                         # weight GEMMs only (ONNX Runtime's dynamic default, pinned)
                         extra_options={"MatMulConstBOnly": True})
        model = onnx.load(str(raw))
    counts = _op_counts(model)
    quantized = tuple(n.name for n in model.graph.node if n.op_type in _DYNAMIC_OPS
                      and n.op_type != "DynamicQuantizeLinear")
    recipe = {"tool": "onnxruntime.quantize_dynamic", "weight": "QInt8", "per_channel": per_channel,
              "reduce_range": REDUCE_RANGE,
              "op_types": list(QUANTIZED_OP_TYPES), "target": "onnxruntime-cpu",
              "exclude_name_patterns": list(exclude_name_patterns)}
    write_metadata(model, "int8-dynamic", source_onnx_sha256=source_sha, recipe=recipe)
    save_atomic(model, out_path)
    return Int8Report(out_path=str(out_path), precision="int8-dynamic", quantized_nodes=quantized,
                      excluded_nodes=tuple(excluded), op_counts=counts,
                      source_onnx_sha256=source_sha)


# Ops the CPU-graph recipe quantises: the weight GEMMs and com.microsoft Attention (-> QAttention).
CPU_GRAPH_OP_TYPES = ("MatMul", "Gemm", "Attention")


def biased_attention_names(model) -> list[str]:
    """Attention nodes that take an ``attention_bias`` (input 5): HTP's grouped logit bias.
    ONNX Runtime's quantiser rewrites Attention into QAttention, which has no such input, and
    drops it without a word; these nodes must stay float."""
    return [n.name for n in model.graph.node
            if n.op_type == "Attention" and len(n.input) > 5 and n.input[5]]


def unfuse_biased_attention(model) -> list[str]:
    """Rewrite every biased Attention of ``model`` (edited in place) as its QKV projection and a
    com.microsoft ``MultiHeadAttention`` that takes the same logit bias, so that the projection
    (a weight MatMul) can be INT8 while the bias is kept; returns the rewritten node names.

    ``Attention(x, W, b, attention_bias=a)`` = ``MultiHeadAttention(q, k, v, bias=b,
    attention_bias=a)`` with ``q | k | v = x @ W`` (W's columns are Q | K | V, as Attention lays
    them out) and the same default scale, 1/sqrt(head size)."""
    from onnx import helper, numpy_helper
    consts = {t.name: t for t in model.graph.initializer}
    biased = set(biased_attention_names(model))
    rewritten, kept = [], []
    for node in model.graph.node:
        if node.name not in biased:
            kept.append(node)
            continue
        x, w, b, bias = node.input[0], node.input[1], node.input[2], node.input[5]
        hidden = int(numpy_helper.to_array(consts[w]).shape[1]) // 3
        heads = next(a.i for a in node.attribute if a.name == "num_heads")
        name, sizes = node.name, f"{node.name}/qkv_sizes"
        model.graph.initializer.append(numpy_helper.from_array(np.array([hidden] * 3, np.int64), sizes))
        q, k, v = (f"{name}/{p}" for p in "qkv")
        kept += [helper.make_node("MatMul", [x, w], [f"{name}/qkv"], name=f"{name}/qkv_MatMul"),
                 # (B, N, 3 D) -> 3 x (B, N, D)
                 helper.make_node("Split", [f"{name}/qkv", sizes], [q, k, v], name=f"{name}/qkv_Split", axis=2),
                 helper.make_node("MultiHeadAttention", [q, k, v, b, "", bias], list(node.output),
                                  name=f"{name}/mha", domain="com.microsoft", num_heads=heads)]
        rewritten.append(name)
    del model.graph.node[:]
    model.graph.node.extend(kept)
    return rewritten


def quantize_int8_cpu(in_path, out_path,
                      exclude_name_patterns: Sequence[str] = DEFAULT_EXCLUDE_NAME_PATTERNS,
                      quantize_attention: bool = True, biased_attention: str = "mha") -> Int8Report:
    """Dynamic INT8 of the CPU companion graph (attention fused; ONNX Runtime CPU only).

    ``in_path`` is an exported FP32 graph; its CPU companion
    (:func:`htp_edge.export.cpu_fusion.write_cpu_graph`) is made in a temporary folder and
    quantised like :func:`quantize_int8_dynamic`, and with ``quantize_attention`` every fused
    Attention without a logit bias becomes QAttention (its QKV projection in INT8; the per-head
    products and softmax stay float inside the kernel). Attention nodes with HTP's grouped bias
    cannot be QAttention (:func:`biased_attention_names`): with ``biased_attention="mha"``
    (default) they are rewritten as an INT8 QKV projection and a float MultiHeadAttention that
    keeps the bias (:func:`unfuse_biased_attention`; checked against the plain graph at FP32
    tolerance before quantising), with ``"float"`` they stay float Attention. The result is
    recorded as ``int8-dynamic`` with ``recipe.cpu_graph`` true, so TensorRT builds refuse it like the other CPU format.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from htp_edge.export.cpu_fusion import write_cpu_graph
    source_sha = sha256_file(in_path)
    if biased_attention not in ("mha", "float"):
        raise HtpEdgeError(f"int8: unknown biased_attention. Expected 'mha' or 'float', got {biased_attention!r}.")
    op_types = CPU_GRAPH_OP_TYPES if quantize_attention else QUANTIZED_OP_TYPES
    with tempfile.TemporaryDirectory() as tmp:
        cpu = Path(write_cpu_graph(in_path, Path(tmp) / "src.cpu.onnx")["onnx"])
        graph = onnx.load(str(cpu), load_external_data=False)
        unfused = unfuse_biased_attention(graph) if biased_attention == "mha" else []
        if unfused:
            from htp_edge.export.cpu_fusion import check_cpu_graph
            cpu = Path(tmp) / "src.mha.onnx"
            onnx.save(graph, str(cpu))
            check_cpu_graph(in_path, cpu)  # the rewrite changes no output (FP32 tolerance, same kept frames)
        # ONNX Runtime's quantiser turns a Gemm into "<name>_MatMul" (+ Add) before it reads
        # nodes_to_exclude, and the CPU graph has Gemms (ONNX Runtime's MatMul+Add fusion): name both
        excluded = [alias for n in graph.graph.node
                    if n.op_type in op_types and any(p in n.name for p in exclude_name_patterns)
                    for alias in ((n.name, f"{n.name}_MatMul") if n.op_type == "Gemm" else (n.name,))]
        biased = biased_attention_names(graph)
        excluded = sorted(set(excluded) | set(biased))
        raw = Path(tmp) / "int8_cpu.onnx"
        quantize_dynamic(str(cpu), str(raw), op_types_to_quantize=list(op_types),
                         reduce_range=REDUCE_RANGE, weight_type=QuantType.QInt8, nodes_to_exclude=excluded,
                         extra_options={"MatMulConstBOnly": True})
        model = onnx.load(str(raw))
    _require_biases_kept(model, biased)
    counts = _op_counts(model)
    quantized = tuple(n.name for n in model.graph.node if n.op_type in _DYNAMIC_OPS + ("QAttention",)
                      and n.op_type != "DynamicQuantizeLinear")
    recipe = {"tool": "onnxruntime.quantize_dynamic", "weight": "QInt8", "per_channel": False,
              "reduce_range": REDUCE_RANGE, "op_types": list(op_types), "target": "onnxruntime-cpu",
              "cpu_graph": True, "quantize_attention": quantize_attention,
              "biased_attention": biased_attention, "multi_head_attention": len(unfused),
              "exclude_name_patterns": list(exclude_name_patterns)}
    write_metadata(model, "int8-dynamic", source_onnx_sha256=source_sha, recipe=recipe)
    save_atomic(model, out_path)
    return Int8Report(out_path=str(out_path), precision="int8-dynamic", quantized_nodes=quantized,
                      excluded_nodes=tuple(excluded), op_counts=counts, source_onnx_sha256=source_sha)


def _require_biases_kept(model, biased: Sequence[str]) -> None:
    """No attention that had a logit bias may come out as QAttention (it would have lost it)."""
    lost = sorted({n.name.removesuffix("_quant") for n in model.graph.node if n.op_type == "QAttention"}
                  & set(biased))
    kept = set(biased_attention_names(model))
    if lost or set(biased) - kept:
        raise HtpEdgeError(f"int8: attention with a logit bias was quantised: "
                           f"{', '.join(lost[:5] or sorted(set(biased) - kept)[:5])}. Expected it to stay "
                           f"float (QAttention has no attention_bias input), got it rewritten. Report this graph.")


# -- inspection of quantised graphs ------------------------------------------------------------

def _op_counts(model) -> dict[str, int]:
    return dict(sorted(Counter(n.op_type for n in model.graph.node).items()))


def quantized_qdq_nodes(model) -> list[str]:
    """Names of the MatMul/Gemm nodes that take at least one DequantizeLinear output."""
    dq_outputs = {n.output[0] for n in model.graph.node if n.op_type == "DequantizeLinear"}
    return [n.name for n in model.graph.node
            if n.op_type in QUANTIZED_OP_TYPES and any(i in dq_outputs for i in n.input)]


def zero_point_problems(model) -> list[str]:
    """Q/DQ nodes whose zero point is not all zeros (or not a constant), by node name."""
    from onnx import numpy_helper

    constants = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    problems = []
    for node in model.graph.node:
        if node.op_type not in ("QuantizeLinear", "DequantizeLinear") or len(node.input) < 3:
            continue
        zero_point = node.input[2]
        if not zero_point:
            continue
        if zero_point not in constants:
            problems.append(f"{node.name} (zero point '{zero_point}' is not an initializer)")
        elif np.any(constants[zero_point] != 0):
            problems.append(f"{node.name} (zero point {constants[zero_point].ravel()[:4]})")
    return problems


def _require_zero_points(model) -> None:
    problems = zero_point_problems(model)
    if problems:
        raise HtpEdgeError(f"int8: {len(problems)} Q/DQ node(s) with non-zero zero points: "
                           f"{', '.join(problems[:5])}. Expected symmetric INT8 (zero point 0, "
                           f"TensorRT requires it), got asymmetric. Quantise with "
                           f"ActivationSymmetric/WeightSymmetric and QInt8.")


def _require_excluded_float(excluded: Sequence[str], quantized: Sequence[str]) -> None:
    leaked = sorted(set(excluded) & set(quantized))
    if leaked:
        raise HtpEdgeError(f"int8: excluded node(s) were quantised: {', '.join(leaked[:5])}. "
                           f"Expected them to stay FP32, got Q/DQ inputs. Report this graph.")
