"""The commands that deploy a point: ``htp-edge export`` (the checkpoint at the point's n1/f,
its H and flip), ``htp-edge quantize`` (reduced precision), ``htp-edge build`` (TensorRT, on the
device) and ``htp-edge eval`` (check the graph; K is a runtime setting, ``--steps``).

Each command is an argv list for the real CLI; :func:`run_command` parses it with the real
parser and runs the command's own ``run``, so ``plan --export`` does exactly what the printed
commands do.
"""
from __future__ import annotations

import shlex
from pathlib import Path

from htp_edge.artifacts.naming import graph_stem
from htp_edge.plan.graphs import layout_of
from htp_edge.plan.grid import Setting
from htp_edge.plan.variants import CheckpointInfo

# INT8 dynamic is ONNX Runtime's CPU format; TensorRT takes FP32, FP16 and INT8 Q/DQ graphs
TENSORRT_PRECISIONS = ("fp32", "fp16", "int8")


def deploy_name(info: CheckpointInfo, setting: Setting) -> str:
    """``htp-small_n14_f7_c1_h1_flip``: the model, its pruning counts and the graph layout."""
    model = info.model + (f"_n{setting.n1}_f{setting.f}" if setting.pruned else "")
    return graph_stem(model, layout_of(setting))


def variant_file_name(info: CheckpointInfo, setting: Setting) -> str:
    """The name of a variant checkpoint copied next to the exports (``--export DIR``)."""
    return f"{info.model}_n{setting.n1}_f{setting.f}.pt"


def deploy_commands(info: CheckpointInfo, setting: Setting, checkpoint: str, out_dir: str,
                    profile: str = "desktop", gate_sequences: int | None = None) -> dict:
    """argv lists (``htp-edge`` first) for export, quantize (or None), build (or None) and eval."""
    folder = Path(out_dir)
    onnx = folder / f"{deploy_name(info, setting)}.onnx"
    export = ["htp-edge", "export", "--model", info.model, "--checkpoint", checkpoint,
              "--hypotheses", str(setting.hypotheses)] + ([] if setting.flip else ["--no-flip"]) + ["--out", str(onnx)]
    final, quantize = onnx, None
    if setting.precision != "fp32":
        final = folder / f"{onnx.stem}_{setting.precision}.onnx"
        quantize = ["htp-edge", "quantize", "--onnx", str(onnx), "--precision", setting.precision, "--out", str(final)]
        if gate_sequences:
            quantize += ["--gate-sequences", str(gate_sequences)]
    build = None
    if setting.precision in TENSORRT_PRECISIONS:
        build = ["htp-edge", "build", "--onnx", str(final), "--out", f"{folder / 'engines'}/", "--profile", profile]
    evaluate = ["htp-edge", "eval", "--onnx", str(final), "--steps", str(setting.steps)]
    return {"export": export, "quantize": quantize, "build": build, "eval": evaluate}


def as_text(commands: dict) -> dict:
    """The same commands as shell lines (None stays None)."""
    return {k: shlex.join(v) if v else None for k, v in commands.items()}


def build_note(setting: Setting) -> str | None:
    if setting.precision in TENSORRT_PRECISIONS:
        return None
    return (f"{setting.precision} is ONNX Runtime's CPU format, not for TensorRT: for an engine quantize with "
            f"--precision int8 (Q/DQ) and build that graph")


def run_command(argv: list[str], quiet: bool = True) -> dict:
    """Parse ``argv`` (``htp-edge CMD ...``) with the real CLI parser and run the command; its report."""
    import importlib

    from htp_edge.cli.main import build_parser
    args = build_parser().parse_args(list(argv[1:]) + (["--json"] if quiet else []))
    return importlib.import_module(f"htp_edge.cli.cmd_{args.command}").run(args)
