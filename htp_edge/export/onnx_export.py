"""Export a denoiser (and its TCEP planner) to static-shape ONNX, then simplify, check and
verify it against torch (torch, onnx, onnxruntime).

The output ``FILE.onnx`` is self-describing: ``metadata_props['htp_edge.graph']`` holds the
JSON that the runtime needs (graph kind, model config, batch layout); a sidecar ``FILE.json``
repeats it with the export report. The TCEP planner, when the model has one, goes to
``FILE.planner.onnx``. Files appear only when every check passed.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from htp_edge.artifacts import names
from htp_edge.artifacts.graph_meta import GraphMeta
from htp_edge.errors import HtpEdgeError
from htp_edge.export.config import ExportConfig
from htp_edge.export.meta import write_graph_meta


def load_for_export(cfg: ExportConfig):
    """The denoiser to export: from a checkpoint, or freshly initialised with ``cfg.seed``."""
    import torch

    from htp_edge.model.checkpoint import load_model
    from htp_edge.model.config import preset
    from htp_edge.model.denoiser import DiffusionPoseModel
    if cfg.checkpoint:
        net, meta = load_model(cfg.checkpoint, model=cfg.model, frames=cfg.frames)
        record = {k: meta.get(k) for k in ("final_loss", "val_mpjpe_mm") if k in meta}
        return net.pose_estimator.eval(), {"checkpoint": str(cfg.checkpoint), **record}
    torch.manual_seed(cfg.seed)
    net = DiffusionPoseModel(preset(cfg.model, cfg.frames)).pose_estimator.eval()
    return net, {"checkpoint": None, "seed": cfg.seed}


def example_inputs(net, cfg: ExportConfig, seed: int) -> dict[str, np.ndarray]:
    """Realistic-looking random inputs: 2D random walks (so TCEP has motion), N(0, 1) noise."""
    m = net.config
    rng = np.random.default_rng(seed)
    b = cfg.clips
    x2d = (rng.normal(scale=0.02, size=(b, m.frames, m.joints, 2)).cumsum(1)
           + rng.uniform(-0.3, 0.3, size=(b, 1, m.joints, 2))).astype(np.float32)
    feed = {names.KEYPOINTS_2D: x2d}
    if cfg.unrolled_steps:
        shape = (cfg.unrolled_steps, b, cfg.hypotheses, m.frames, m.joints, 3)  # (K, B, H, F, J, 3)
        feed[names.NOISE] = rng.standard_normal(shape).astype(np.float32)
    else:
        n = cfg.batch
        feed[names.KEYPOINTS_2D] = np.repeat(x2d, n // b, axis=0)
        feed[names.NOISY_POSE] = rng.standard_normal((n, m.frames, m.joints, 3)).astype(np.float32)
        feed[names.TIMESTEP] = rng.integers(0, 1000, size=n).astype(np.float32)
    return feed


def _with_plan(net, feed: dict) -> dict:
    """Add the plan inputs, computed by the torch planner from the feed's (per-clip) 2D."""
    import torch
    with torch.no_grad():
        plan = net.plan(torch.from_numpy(feed[names.KEYPOINTS_2D]))
    feed.update({name: value.numpy() for name, value in plan.items()})
    return feed


def build_graph_module(net, cfg: ExportConfig):
    from htp_edge.export.graphs import DenoiserGraph, SamplerGraph
    if cfg.unrolled_steps:
        return SamplerGraph(net, cfg.unrolled_steps, cfg.hypotheses, cfg.flip).eval()
    return DenoiserGraph(net).eval()


def output_names(net, cfg: ExportConfig) -> list[str]:
    if cfg.unrolled_steps or not net.config.prunes:
        return [names.POSE_3D]
    return [names.POSE_3D, names.KEPT_FRAMES]


def torch_outputs(module, feed: dict) -> dict[str, np.ndarray]:
    import torch
    with torch.no_grad():
        out = module(*[torch.from_numpy(v) for v in feed.values()])
    out = out if isinstance(out, tuple) else (out,)
    return {name: o.numpy() for name, o in zip((names.POSE_3D, names.KEPT_FRAMES), out)}


def _torch_export(module, feed: dict, outputs: list[str], path: Path, opset: int) -> None:
    import warnings

    import torch
    args = tuple(torch.from_numpy(v) for v in feed.values())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), dynamo=False, opset_version=opset,
                          input_names=list(feed), output_names=outputs, do_constant_folding=True)


def graph_meta(net, cfg: ExportConfig, kind: str, origin: dict) -> GraphMeta:
    from htp_edge.model.checkpoint import config_to_dict
    from htp_edge.model.macs import count_macs
    m = net.config
    return GraphMeta(
        kind=kind, model=config_to_dict(m), tag=m.tag(), frames=m.frames, joints=m.joints,
        clips=cfg.clips, hypotheses=cfg.hypotheses, flip=cfg.flip, batch=cfg.batch,
        steps=cfg.unrolled_steps or None, n1=m.pruning.n1 if m.tcep_active else None,
        planner=m.has_planner, kept=m.frames_at(m.depth - 1), origin=origin,
        macs_per_pass=float(count_macs(m).total), causal=m.causal)


def ort_outputs(path: Path, feed: dict) -> dict[str, np.ndarray]:
    import onnxruntime as ort
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, {i.name: feed[i.name] for i in sess.get_inputs()})))


def parity(path: Path, module, net, cfg: ExportConfig, trials: int = 2) -> dict:
    """ORT FP32 vs torch on fresh random inputs: max abs diff and kept-index agreement."""
    worst, agree = 0.0, True
    for trial in range(trials):
        feed = _with_plan(net, example_inputs(net, cfg, seed=1000 + trial))
        ref, got = torch_outputs(module, feed), ort_outputs(path, feed)
        worst = max(worst, float(np.abs(ref[names.POSE_3D] - got[names.POSE_3D]).max()))
        if names.KEPT_FRAMES in ref:
            agree &= bool(np.array_equal(ref[names.KEPT_FRAMES], got[names.KEPT_FRAMES]))
    return {"max_abs_diff_vs_torch": worst, "kept_indices_identical": agree}


def set_metadata(path: Path, meta: GraphMeta) -> None:
    import onnx
    model = onnx.load(str(path))
    write_graph_meta(model, meta)
    model.producer_name = "htp_edge"
    onnx.save(model, str(path))


def _export_one(module, feed, outputs, meta, tmpdir: Path, name: str, cfg: ExportConfig) -> tuple[Path, dict]:
    """torch -> ONNX -> (simplified) -> checked, inside tmpdir. Returns the path and a report."""
    from htp_edge.export.check import check_onnx, require_ok
    raw = tmpdir / f"{name}.raw.onnx"
    _torch_export(module, feed, outputs, raw, cfg.opset)
    path, report = raw, {}
    if cfg.simplify:
        from htp_edge.export.simplify import simplify_onnx
        path = tmpdir / f"{name}.onnx"
        simp = simplify_onnx(raw, path, feeds=[feed])
        report["simplify"] = {k: v for k, v in asdict(simp).items() if not isinstance(v, (bytes,))}
    set_metadata(path, meta)
    check = check_onnx(path)
    require_ok(check)
    report["check"] = check
    return path, report


def export_onnx(cfg: ExportConfig, out: Path, progress=print) -> dict:
    """Export, simplify, check and verify; write ``out`` (+ planner, + sidecar) as one set, only
    on success (:class:`~htp_edge.artifacts.files.ArtifactSet`: the graph itself goes last)."""
    from htp_edge.artifacts.files import ArtifactSet, sha256_file
    from htp_edge.artifacts.naming import planner_onnx, sidecar_json
    from htp_edge.export.graph_macs import count_matmul_macs
    from htp_edge.model.macs import count_macs
    out = Path(out)
    if out.suffix != ".onnx":
        raise HtpEdgeError(f"export: output must be an .onnx file, got {str(out)!r}.")
    net, origin = load_for_export(cfg)
    module = build_graph_module(net, cfg)
    kind = "sampler" if cfg.unrolled_steps else "denoiser"
    meta = graph_meta(net, cfg, kind, origin)
    feed = _with_plan(net, example_inputs(net, cfg, seed=cfg.seed))
    has_planner = net.config.has_planner
    outputs = [out, planner_onnx(out) if has_planner else None, sidecar_json(out)]
    with ArtifactSet(outputs, inputs=[cfg.checkpoint] if cfg.checkpoint else [], what="export") as staged:
        tmpdir = staged[out].parent
        planner = None
        if has_planner:
            from htp_edge.export.graphs import PlannerGraph
            step = 1 if cfg.unrolled_steps else cfg.batch // cfg.clips
            pfeed = {names.KEYPOINTS_2D: feed[names.KEYPOINTS_2D][::step].copy()}
            pgraph = PlannerGraph(net).eval()
            planner, _ = _export_one(pgraph, pfeed, pgraph.output_names,
                                     meta.replace(kind="planner", batch=cfg.clips), tmpdir, "planner", cfg)
            meta = meta.replace(planner_sha256=sha256_file(planner))
        progress(f"export: tracing {meta.tag} ({kind}, batch {cfg.batch}) ...")
        path, report = _export_one(module, feed, output_names(net, cfg), meta, tmpdir, "graph", cfg)
        progress("export: checking parity with torch on fresh inputs ...")
        par = parity(path, module, net, cfg)
        if par["max_abs_diff_vs_torch"] > cfg.parity_atol or not par["kept_indices_identical"]:
            raise HtpEdgeError(f"export: ONNX Runtime disagrees with torch. Expected max abs diff <= {cfg.parity_atol} "
                               f"and identical kept indices, got {par}. Nothing was written.")
        graph_macs = count_matmul_macs(str(path))
        analytic = count_macs(net.config)
        passes = cfg.batch * (cfg.unrolled_steps or 1)
        result = {
            "onnx": str(out), "planner_onnx": str(planner_onnx(out)) if planner else None,
            "inputs": {k: list(v.shape) for k, v in feed.items()},
            "outputs": {t.name: list(t.shape) for t in report["check"].outputs},
            "opset": report["check"].opset, "nodes": report["check"].nodes, "op_counts": report["check"].op_counts,
            "macs_per_pass": analytic.total, "graph_macs_per_pass": graph_macs["total"] / passes,
            "graph_vs_analytic": graph_macs["total"] / passes / analytic.total,
            **par, "simplify": report.get("simplify"), "graph": meta.to_json(),
        }
        staged[sidecar_json(out)].write_text(json.dumps(staged.rewrite(result), indent=2, default=str))
        if planner:
            os.replace(planner, staged[planner_onnx(out)])
        os.replace(path, staged[out])
    return result
