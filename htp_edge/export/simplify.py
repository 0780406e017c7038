"""Simplify an ONNX graph (constant folding, dead-node removal) and verify it numerically.

Uses ``onnxsim`` (the package behind onnx-simplifier) when it is importable and ``onnxslim``
otherwise: onnxsim 0.8 has no wheel for Python 3.10 on aarch64 (JetPack 6), onnxslim is pure
Python. The simplified graph is compared with the original on ONNX Runtime before it replaces
``out_path`` (written atomically: temp file + ``os.replace``).
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from htp_edge.errors import HtpEdgeError
from htp_edge.export.compare import IntSampler, ort_session, random_feed, run_onnxruntime
from htp_edge.runtime.compare import compare_outputs

TOOLS = ("auto", "onnxsim", "onnxslim")
# MatMul+Add -> Gemm fusion passes, off unless asked for: on 3-D activations they wrap every
# Linear in Reshape -> Gemm -> Reshape and rename the nodes ("Gemm_13" instead of
# "/mgptp/score/MatMul"), and the precision recipes find the FP32-only scoring path by name.
_ONNXSIM_GEMM_PASSES = ["fuse_matmul_add_bias_into_gemm", "fuse_matmul_add_bias_into_gemm_batched"]
_ONNXSLIM_GEMM_PATTERNS = ["FusionGemm"]


@dataclass(frozen=True)
class SimplifyReport:
    """What :func:`simplify_onnx` did and how close the result is to the original."""

    out_path: str
    tool: str
    nodes_before: int
    nodes_after: int
    opset: int | None
    checks: int
    max_abs_diff: float
    max_abs_diff_per_output: dict[str, float]


def available_tool() -> str:
    """The simplifier "auto" picks here: "onnxsim" when importable, else "onnxslim"."""
    try:
        import onnxsim  # noqa: F401
    except ImportError:
        return "onnxslim"
    return "onnxsim"


def simplify_onnx(in_path, out_path, check_n: int = 1, tool: str = "auto",
                  feeds: Sequence[Mapping[str, np.ndarray]] | None = None,
                  int_sampler: IntSampler | None = None, seed: int = 0,
                  tolerances="fp32", fuse_gemm: bool = False) -> SimplifyReport:
    """Simplify ``in_path`` into ``out_path`` and check it against the original.

    ``tool``: "auto" (onnxsim, else onnxslim), "onnxsim" or "onnxslim" (forces the fallback).
    The check runs both graphs with ONNX Runtime on ``feeds`` when given, otherwise on
    ``check_n`` random feeds of the static input shapes (integer inputs need ``int_sampler``,
    see :func:`htp_edge.export.compare.random_feed`). ``check_n=0`` and no feeds skips it.
    A simplified graph outside ``tolerances`` (default: the FP32 rows of the table) raises
    :class:`HtpEdgeError` and leaves ``out_path`` untouched. ``fuse_gemm`` enables the
    MatMul+Add -> Gemm fusion (off: it renames nodes, see ``_ONNXSIM_GEMM_PASSES``).
    """
    import onnx

    if tool not in TOOLS:
        raise HtpEdgeError(f"simplify: unknown tool. Expected one of {', '.join(TOOLS)}, "
                           f"got {tool!r}.")
    chosen = available_tool() if tool == "auto" else tool
    original = onnx.load(str(in_path))
    simplified = _run_tool(chosen, original, fuse_gemm)
    out_path = Path(out_path)
    tmp = _temp_path(out_path)
    try:
        onnx.save(simplified, str(tmp))
        diffs = _verify(in_path, tmp, check_n, feeds, int_sampler, seed, tolerances)
        os.replace(tmp, out_path)
    finally:
        if tmp.exists():
            tmp.unlink()
    opset = next((o.version for o in simplified.opset_import if o.domain in ("", "ai.onnx")), None)
    return SimplifyReport(
        out_path=str(out_path), tool=chosen, nodes_before=len(original.graph.node),
        nodes_after=len(simplified.graph.node), opset=opset, checks=len(diffs[1]),
        max_abs_diff=max(diffs[0].values(), default=0.0), max_abs_diff_per_output=diffs[0])


def _run_tool(tool: str, model, fuse_gemm: bool):
    """Simplify an in-memory model with the chosen package."""
    if tool == "onnxsim":
        try:
            import onnxsim
        except ImportError:
            raise HtpEdgeError("simplify: onnxsim is not installed. Expected the onnxsim package, "
                               "got ImportError. Use tool='onnxslim' (pure Python) or "
                               "pip install onnxsim (Python >= 3.11 on aarch64).") from None
        skipped = [] if fuse_gemm else _ONNXSIM_GEMM_PASSES
        simplified, ok = onnxsim.simplify(model, check_n=0, skipped_optimizers=skipped)
        if not ok:
            raise HtpEdgeError("simplify: onnxsim could not validate its result. Expected a valid "
                               "graph, got ok=False. Try tool='onnxslim'.")
        return simplified
    import onnxslim

    return onnxslim.slim(model, skip_fusion_patterns=None if fuse_gemm else _ONNXSLIM_GEMM_PATTERNS)


def _temp_path(out_path: Path) -> Path:
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".tmp", dir=out_path.parent)
    os.close(fd)
    return Path(name)


def _verify(original_path, simplified_path, check_n, feeds, int_sampler, seed, tolerances):
    """Compare both graphs on the feeds; returns ({output: max abs diff}, feeds used)."""
    reference, candidate = ort_session(str(original_path)), ort_session(str(simplified_path))
    if feeds is None:
        rng = np.random.default_rng(seed)
        feeds = [random_feed(reference, rng, int_sampler) for _ in range(check_n)]
    worst: dict[str, float] = {}
    for feed in feeds:
        expected = run_onnxruntime(None, feed, session=reference)
        report = compare_outputs(expected, run_onnxruntime(None, feed, session=candidate),
                                 tolerances, tool="onnxruntime")
        for diff in report.outputs:
            worst[diff.name] = max(worst.get(diff.name, 0.0), diff.max_abs)
        if not report.ok:
            raise HtpEdgeError(f"simplify: the simplified graph differs from the original. "
                               f"Expected outputs within tolerance, got "
                               f"{', '.join(report.failures())}. Try the other tool "
                               f"(tool='onnxsim' or 'onnxslim').")
    return worst, list(feeds)
