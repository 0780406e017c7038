"""The graph each setting runs: a checkpoint (torch), its FP32 export or a quantised variant.

Everything the planner writes lives under its folder (``<cache>/plan`` by default):
``checkpoints/`` (n1/f variants), ``onnx/`` (exports and quantised graphs, with their planners),
``calibration/`` (INT8 Q/DQ calibration sets). The graphs are made exactly as ``htp-edge export``
and ``htp-edge quantize`` make them (same library calls, same recipes), so the recommended
point's printed commands reproduce the graph that was measured. The bundled checkpoints at
their trained counts run from the ONNX the package ships, as ``htp-edge eval`` does.
"""
from __future__ import annotations

import contextlib
import logging
import shutil
from pathlib import Path

from htp_edge.artifacts.naming import BUNDLED, GraphLayout, bundled_onnx, graph_stem, planner_onnx
from htp_edge.plan.grid import Setting
from htp_edge.plan.variants import CheckpointInfo, variant_checkpoint


def layout_of(setting: Setting) -> GraphLayout:
    return GraphLayout(clips=1, hypotheses=setting.hypotheses, flip=setting.flip)


def graph_source(info: CheckpointInfo, setting: Setting, backend: str, folder: Path) -> str:
    """What ``Lifter.load`` opens for ``setting`` on ``backend``."""
    folder = Path(folder)
    ckpt = variant_checkpoint(info, setting.n1, setting.f, folder / "checkpoints")
    if backend == "torch":
        return ckpt
    onnx = fp32_onnx(info, ckpt, setting, folder / "onnx")
    if setting.precision == "fp32":
        return str(onnx)
    return str(quantized_onnx(onnx, setting.precision, folder / "onnx", folder / "calibration"))


def knob_stem(info: CheckpointInfo, setting: Setting) -> str:
    """``<checkpoint stem>_<sha12>[_n<n1>_f<f>]``: one name per weights and pruning counts."""
    stem = f"{Path(info.path).stem}_{info.sha256[:12]}"
    return stem + (f"_n{setting.n1}_f{setting.f}" if setting.pruned else "")


def fp32_onnx(info: CheckpointInfo, checkpoint: str, setting: Setting, folder: Path) -> Path:
    """The FP32 export of ``checkpoint`` in the setting's layout (exported once)."""
    from htp_edge.export.config import ExportConfig
    from htp_edge.export.onnx_export import export_onnx
    from htp_edge.model.checkpoint import resolve_checkpoint
    layout = layout_of(setting)
    if checkpoint in BUNDLED and bundled_onnx(checkpoint, layout).is_file():
        return bundled_onnx(checkpoint, layout)
    out = Path(folder) / f"{graph_stem(knob_stem(info, setting), layout)}.onnx"
    if not out.is_file():
        cfg = ExportConfig(model=info.model, checkpoint=str(resolve_checkpoint(checkpoint)),
                           hypotheses=layout.hypotheses, flip=layout.flip)
        export_onnx(cfg, out, progress=lambda message: None)
    return out


def quantized_onnx(src: Path, precision: str, folder: Path, calibration_dir: Path) -> Path:
    """The ``precision`` variant of ``src`` (``htp-edge quantize``'s recipe; the planner stays FP32),
    written once as a set. The MPJPE gate is not applied: the sweep measures the MPJPE itself."""
    from htp_edge.artifacts.files import ArtifactSet
    from htp_edge.artifacts.onnx_meta import read_graph_meta
    from htp_edge.precision.apply import copy_graph_meta, quantize
    src = Path(src)
    out = Path(folder) / f"{src.stem}_{precision}.onnx"
    if out.is_file():
        return out
    planner = planner_onnx(src) if planner_onnx(src).is_file() else None
    with ArtifactSet([out, planner_onnx(out) if planner else None], inputs=[src, planner], what="plan") as staged:
        with quiet_root_logger():  # ONNX Runtime's quantiser logs advice on the root logger
            quantize(src, staged[out], precision, calibration_dir=str(calibration_dir), progress=False,
                     compare=False)
        copy_graph_meta(staged[out], read_graph_meta(src))
        if planner:
            shutil.copyfile(planner, staged[planner_onnx(out)])
    return out


@contextlib.contextmanager
def quiet_root_logger():
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)
