"""Attention fused for ONNX Runtime's CPU kernels (com.microsoft ``Attention``), on an exported graph.

The exported graph stays TensorRT-clean (standard ops only; TensorRT fuses attention itself).
ONNX Runtime's own optimiser does not recognise this model's attention (a fused qkv Linear,
reshaped to (B, N, 3, heads, d) and split by Gather), so on the CPU every block runs about ten
small kernels: the qkv GEMM, a 5-D transpose, three gathers, the scale, two batched products,
softmax, a transpose and a reshape. :func:`fuse_attention` matches exactly that chain

    MatMul(x, W) -> Add(b) -> Reshape(B, N, 3, h, d) -> Transpose(2, 0, 3, 1, 4)
      -> Gather 0 -> Mul(d ** -0.5) ; Gather 1 -> Transpose(0, 1, 3, 2) ; Gather 2
      -> MatMul(q, k^T) -> Softmax -> MatMul(., v) -> Transpose(0, 2, 1, 3) -> Reshape(B, N, h*d)

and replaces it with one ``Attention(x, W, b)`` node (its weight layout is Q | K | V, each
heads x d: the qkv Linear's own). Blocks with a logit bias between the products are left as
they are. Needs ``onnx``.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from htp_edge.artifacts import names
from htp_edge.errors import HtpEdgeError

MS_DOMAIN = "com.microsoft"


@dataclass
class _Graph:
    """Name maps over a GraphProto: producers, consumers, constant values."""

    graph: object

    def __post_init__(self) -> None:
        from onnx import numpy_helper
        self.producer = {o: n for n in self.graph.node for o in n.output}
        self.consumers: dict[str, list] = {}
        for n in self.graph.node:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)
        self.consts = {t.name: numpy_helper.to_array(t) for t in self.graph.initializer}
        for n in self.graph.node:
            if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
                self.consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
        self.outputs = {o.name for o in self.graph.output}

    def only_consumer(self, name: str, op: str):
        users = self.consumers.get(name, [])
        if len(users) != 1 or users[0].op_type != op or name in self.outputs:
            return None
        return users[0]

    def attr(self, node, name: str, default=None):
        from onnx import helper
        for a in node.attribute:
            if a.name == name:
                return helper.get_attribute_value(a)
        return default


def _match(g: _Graph, softmax):
    """The nodes of one attention block around ``softmax`` and its (x, W, b, out, heads), or None."""
    qk, grouped = g.producer.get(softmax.input[0]), []
    if qk is not None and qk.op_type == "Reshape":  # logits + bias of a group of sequences
        grouped = _grouped_bias(g, qk)
        if not grouped:
            return None
        qk = g.producer.get(grouped[0].input[0])
    if qk is None or qk.op_type != "MatMul" or g.attr(softmax, "axis", -1) not in (-1, 3):
        return None
    mul, kt = g.producer.get(qk.input[0]), g.producer.get(qk.input[1])
    if mul is not None and mul.input[0] in g.consts:  # Mul(scale, q) -> Mul(q, scale)
        mul_in = [mul.input[1], mul.input[0]]
    else:
        mul_in = list(mul.input) if mul is not None else []
    av = g.only_consumer(softmax.output[0], "MatMul")
    if mul is None or kt is None or av is None or mul.op_type != "Mul" or kt.op_type != "Transpose":
        return None
    if list(g.attr(kt, "perm")) != [0, 1, 3, 2]:
        return None
    gq, gk, gv = g.producer.get(mul_in[0]), g.producer.get(kt.input[0]), g.producer.get(av.input[1])
    if any(n is None or n.op_type != "Gather" for n in (gq, gk, gv)):
        return None
    if len({gq.input[0], gk.input[0], gv.input[0]}) != 1:
        return None
    if [int(g.consts.get(n.input[1], -1)) for n in (gq, gk, gv)] != [0, 1, 2]:
        return None
    perm5 = g.producer.get(gq.input[0])
    if perm5 is None or perm5.op_type != "Transpose" or list(g.attr(perm5, "perm")) != [2, 0, 3, 1, 4]:
        return None
    split = g.producer.get(perm5.input[0])
    if split is None or split.op_type != "Reshape" or split.input[1] not in g.consts:
        return None
    shape = [int(v) for v in g.consts[split.input[1]]]
    if len(shape) != 5 or shape[2] != 3:
        return None
    heads, d = shape[3], shape[4]
    scale = g.consts.get(mul_in[1])
    if scale is None or scale.size != 1 or not np.isclose(float(scale.reshape(-1)[0]), d ** -0.5, rtol=1e-5):
        return None
    add = g.producer.get(split.input[0])
    if add is None or add.op_type != "Add":
        return None
    mm = next((g.producer.get(i) for i in add.input if g.producer.get(i) is not None
               and g.producer[i].op_type == "MatMul"), None)
    bias = next((i for i in add.input if i in g.consts), None)
    if mm is None or bias is None or mm.input[1] not in g.consts:
        return None
    w = g.consts[mm.input[1]]
    if w.ndim != 2 or w.shape[1] != 3 * heads * d or g.consts[bias].shape != (3 * heads * d,):
        return None
    back = g.only_consumer(av.output[0], "Transpose")
    if back is None or list(g.attr(back, "perm")) != [0, 2, 1, 3]:
        return None
    merge = g.only_consumer(back.output[0], "Reshape")
    if merge is None:
        return None
    chain = [mm, add, split, perm5, gq, mul, gk, kt, gv, qk, *grouped, softmax, av, back, merge]
    for n in chain[:-1]:  # nothing outside the block may read its intermediates
        for o in n.output:
            if o in g.outputs or any(u not in chain for u in g.consumers.get(o, [])):
                return None
    logit_bias = None
    if grouped:  # (G, 1, h, N, N) bias over B = G x (B / G) sequences
        source = next(i for i in grouped[1].input if i != grouped[0].output[0])
        logit_bias = (source, [int(v) for v in g.consts[grouped[0].input[1]]])
    return chain, (mm.input[0], mm.input[1], bias, merge.output[0], heads, logit_bias)


def _grouped_bias(g: _Graph, back):
    """``Reshape(G, B/G, h, N, N) -> Add(bias (G, 1, h, N, N)) -> Reshape(B, h, N, N)`` ending in
    ``back``: the three nodes [reshape in, add, reshape back], or [] when it is not that."""
    add = g.producer.get(back.input[0])
    if add is None or add.op_type != "Add" or back.input[1] not in g.consts:
        return []
    split = next((g.producer.get(i) for i in add.input if g.producer.get(i) is not None
                  and g.producer[i].op_type == "Reshape"), None)
    if split is None or split.input[1] not in g.consts or len(g.consts[split.input[1]]) != 5:
        return []
    if g.only_consumer(split.output[0], "Add") is not add or g.only_consumer(add.output[0], "Reshape") is not back:
        return []
    return [split, add, back]


def fuse_attention(model) -> int:
    """Replace every matching attention block of ``model`` (a ModelProto, edited in place) by one
    com.microsoft ``Attention`` node; returns how many were fused."""
    from onnx import helper, numpy_helper
    g = _Graph(model.graph)
    fused, drop, insert = 0, set(), {}
    for node in list(model.graph.node):
        if node.op_type != "Softmax":
            continue
        found = _match(g, node)
        if found is None:
            continue
        chain, (x, w, b, out, heads, logit_bias) = found
        name = f"{chain[0].name or 'attention'}/fused_attention"
        inputs, extra = [x, w, b], []
        if logit_bias is not None:  # (G, 1, h, N, N) -> (G, B/G, h, N, N) -> (B, h, N, N)
            source, (groups, per, h, n, n2) = logit_bias
            full, flat = f"{name}/bias_shape", f"{name}/bias_flat_shape"
            shapes = {full: [groups, per, h, n, n2], flat: [groups * per, h, n, n2]}
            model.graph.initializer.extend(numpy_helper.from_array(np.array(v, np.int64), k) for k, v in shapes.items())
            extra = [helper.make_node("Expand", [source, full], [f"{name}/bias_full"], name=f"{name}/Expand"),
                     helper.make_node("Reshape", [f"{name}/bias_full", flat], [f"{name}/bias"], name=f"{name}/Reshape")]
            inputs += ["", "", f"{name}/bias"]
        # placed where the block's output was made: every input exists by then
        insert[id(chain[-1])] = extra + [helper.make_node("Attention", inputs, [out], name=name, domain=MS_DOMAIN,
                                                          num_heads=heads)]
        drop.update(id(n) for n in chain)
        fused += 1
    if not fused:
        return 0
    kept = []
    for n in model.graph.node:
        if id(n) in insert:
            kept.extend(insert[id(n)])
        if id(n) not in drop:
            kept.append(n)
    del model.graph.node[:]
    model.graph.node.extend(kept)
    if not any(o.domain == MS_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    return fused


def require_fusable(model, where: str) -> None:
    """Refuse a graph that already carries com.microsoft ops (it is a CPU artifact already)."""
    if any(n.domain == MS_DOMAIN for n in model.graph.node):
        raise HtpEdgeError(f"{where}: the graph already has ONNX Runtime contrib ops. Expected a plain exported "
                           f"graph (htp-edge export), got a CPU-only artifact.")


def write_cpu_graph(onnx_path, out_path=None) -> dict:
    """Write the CPU-only companion of an exported graph: ``x.onnx`` -> ``x.cpu.onnx`` (attention
    fused, ONNX Runtime's CPU fusions baked in) and its planner ``x.cpu.planner.onnx`` (a copy),
    as one set, after checking it gives the plain graph's outputs (FP32 tolerance) on the feed
    the runtime builds. The graph record is carried over, with ``origin.cpu_graph`` naming the
    source by hash."""
    import onnx

    from htp_edge.artifacts.files import ArtifactSet, sha256_file
    from htp_edge.artifacts.naming import planner_onnx
    from htp_edge.artifacts.onnx_meta import read_graph_meta
    from htp_edge.runtime.sources import cpu_onnx
    src = Path(onnx_path)
    out = Path(out_path) if out_path is not None else cpu_onnx(src)
    meta = read_graph_meta(src)
    if meta.planner and not planner_onnx(src).is_file():
        raise HtpEdgeError(f"cpu graph: {src.name} needs its TCEP planner graph {planner_onnx(src).name} beside it. "
                           f"Expected the set written by `htp-edge export`, got the graph alone.")
    model = onnx.load(str(src))
    require_fusable(model, f"cpu graph {src.name}")
    fused = fuse_attention(model)
    origin = {**meta.origin, "cpu_graph": {"source": src.name, "source_sha256": sha256_file(src),
                                           "fused_attention": fused}}
    outputs = [out, planner_onnx(out) if meta.planner else None]
    with ArtifactSet(outputs, inputs=[src], what="cpu graph") as staged:
        _save_optimized(model, meta.replace(origin=origin), staged[out])
        if meta.planner:
            shutil.copyfile(planner_onnx(src), staged[planner_onnx(out)])
        diff = check_cpu_graph(src, staged[out])
    return {"onnx": str(out), "source": str(src), "fused_attention": fused, "max_abs_diff": diff}


def _save_optimized(model, meta, path: Path) -> None:
    """Bake ONNX Runtime's extended CPU fusions into ``path`` (portable across x86/ARM CPUs:
    no layout transforms), with the graph record set."""
    import onnx
    import onnxruntime as ort

    from htp_edge.export.meta import write_graph_meta
    write_graph_meta(model, meta)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    opts.optimized_model_filepath = str(path)
    ort.InferenceSession(model.SerializeToString(), sess_options=opts, providers=["CPUExecutionProvider"])
    saved = onnx.load(str(path))
    write_graph_meta(saved, meta)  # ONNX Runtime keeps metadata_props; set it again to be sure
    onnx.save(saved, str(path))


def check_cpu_graph(plain, cpu) -> float:
    """Max abs difference of the CPU graph from the plain one on the runtime's own feed; raises
    beyond the FP32 tolerance or when kept-frame indices differ."""
    from htp_edge.bench.gap import recorded_feed
    from htp_edge.bench.run import walking_keypoints
    from htp_edge.export.compare import run_onnxruntime
    from htp_edge.runtime.lifter import Lifter
    from htp_edge.tolerances import tolerance
    with Lifter.load(plain, cpu_graph=False) as lifter:
        feed = recorded_feed(lifter, walking_keypoints(lifter.frames * lifter.config.clips_per_call))
    ref, got = run_onnxruntime(plain, feed), run_onnxruntime(cpu, feed)
    tol = tolerance("fp32", names.POSE_3D)
    diff = float(np.max(np.abs(ref[names.POSE_3D] - got[names.POSE_3D])))
    same_kept = all(np.array_equal(ref[k], got[k]) for k in ref if k != names.POSE_3D)
    if not same_kept or not np.allclose(got[names.POSE_3D], ref[names.POSE_3D], atol=tol.atol, rtol=tol.rtol):
        raise HtpEdgeError(f"cpu graph: fused graph disagrees with {Path(plain).name}. Expected max abs diff <= "
                           f"{tol.atol} and identical kept frames, got {diff:.2e} (kept identical: {same_kept}).")
    return diff
