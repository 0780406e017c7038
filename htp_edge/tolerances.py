"""The one tolerance table of htp-edge, per precision and output.

Tests, the ``compare`` helpers and the CLI all read tolerances from here, so a relaxed tolerance
is relaxed in one place, with a comment that says why. Poses are in metres (root-relative), so
``atol=1e-4`` is 0.1 mm.

Element-wise tolerances catch broken graphs; the task metric gates a precision: the MPJPE of a
reduced-precision model may exceed the FP32 model's MPJPE by at most
:data:`MPJPE_DELTA_GATE_MM` millimetres.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from htp_edge.errors import HtpEdgeError


@dataclass(frozen=True)
class Tol:
    """Tolerance of one output.

    Float outputs pass when ``|actual - expected| <= atol + rtol * |expected|`` element-wise.
    Index outputs (``exact=True``) pass when at least ``min_agreement`` of their elements are
    equal (1.0: identical).
    """

    atol: float = 0.0
    rtol: float = 0.0
    exact: bool = False
    min_agreement: float = 1.0

    def __post_init__(self) -> None:
        if self.atol < 0 or self.rtol < 0:
            raise HtpEdgeError(f"Tol: negative tolerance. Expected atol, rtol >= 0, got "
                               f"atol={self.atol}, rtol={self.rtol}.")
        if not 0.0 <= self.min_agreement <= 1.0:
            raise HtpEdgeError(f"Tol: min_agreement out of range. Expected 0..1, got "
                               f"{self.min_agreement}.")

    def passes(self, actual: np.ndarray, expected: np.ndarray) -> bool:
        """Whether ``actual`` is within this tolerance of ``expected`` (shapes must match)."""
        actual, expected = np.asarray(actual), np.asarray(expected)
        if actual.shape != expected.shape:
            return False
        if self.exact:
            return agreement(actual, expected) >= self.min_agreement
        diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
        return bool(np.all(diff <= self.atol + self.rtol * np.abs(expected.astype(np.float64))))


def agreement(actual: np.ndarray, expected: np.ndarray) -> float:
    """Fraction of equal elements (1.0 for two empty arrays)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.size == 0:
        return 1.0
    return float(np.mean(actual == expected))


# Rows: the named outputs of the exported graphs, plus "float" (any other float output) and
# "index" (any other integer/bool output). The denoiser outputs "pose_3d" and "kept_frames"
# (indices MGPTP kept); the planner outputs "keep_frames" (frames TCEP kept).
OUTPUTS = ("pose_3d", "kept_frames", "keep_frames", "float", "index")
PRECISIONS = ("fp32", "fp16", "int8")

# Poses: element-wise bounds that catch broken graphs; the MPJPE gate decides a precision.
_POSE = {
    # FP32 ONNX Runtime vs FP32 torch (or vs a simplified FP32 graph): only summation order
    # differs; 0.1 mm.
    "fp32": Tol(atol=1e-4, rtol=1e-4),
    # FP16: 10-bit mantissa (relative step 2^-11 ~ 4.9e-4) accumulated over 8 transformer blocks;
    # 5 mm worst element, while the MPJPE gate (0.2 mm) is what decides.
    "fp16": Tol(atol=5e-3, rtol=1e-2),
    # INT8 Q/DQ: 8-bit symmetric activations (step = amax/127) on every MatMul/Gemm input;
    # 20 mm worst element, the MPJPE gate (1.0 mm) decides.
    "int8": Tol(atol=2e-2, rtol=5e-2),
}
# Kept-frame/token indices are a discrete choice: identical, or the graph is wrong. FP16 keeps
# the scoring/TopK path in FP32 (htp_edge.precision.fp16) and changed no selection in a probe.
_INDICES = {
    "fp32": Tol(exact=True),
    "fp16": Tol(exact=True),
    # The scoring path is excluded from INT8, but its inputs come from quantised blocks, so a few
    # near-tie scores may swap (a probe that quantised the path itself flipped 2.8 %).
    "int8": Tol(exact=True, min_agreement=0.97),
}

TOLERANCES: dict[tuple[str, str], Tol] = {
    **{(p, out): _POSE[p] for p in PRECISIONS for out in ("pose_3d", "float")},
    **{(p, out): _INDICES[p] for p in PRECISIONS
       for out in ("kept_frames", "keep_frames", "index")},
}

# Largest |engine - workstation ONNX Runtime| on pose outputs, in metres. Looser than the
# CPU-vs-CPU rows of the table above: TensorRT picks other kernels and FP32 layers may run
# in TF32 (10-bit mantissa); FP16 and INT8 engines add their own rounding on top. The MPJPE
# delta (mm) reported beside it is the task-level view of the same difference.
DEVICE_ATOL_M = {"fp32": 1e-3, "fp16": 5e-2, "int8": 0.15}
# Index outputs (kept frames) must agree exactly, except INT8 where near-tie scores may swap
# (a probe flipped 2.8 % of TopK selections when the scoring path itself was quantised).
DEVICE_MIN_AGREEMENT = {"fp32": 1.0, "fp16": 1.0, "int8": 0.97}


def device_tolerances(precision: str) -> dict[str, Tol]:
    """Engine-vs-workstation tolerances: ``{"*": float outputs, "*index": index outputs}``."""
    name = normalize_precision(precision)
    return {"*": Tol(atol=DEVICE_ATOL_M[name]), "*index": Tol(exact=True, min_agreement=DEVICE_MIN_AGREEMENT[name])}

# Largest allowed MPJPE increase over the FP32 model, in millimetres (the task-metric gate).
MPJPE_DELTA_GATE_MM: dict[str, float] = {
    # FP32 ORT/TensorRT vs FP32 torch: numerically the same model.
    "fp32": 0.01,
    "fp16": 0.2,
    "int8": 1.0,
}

_ALIASES = {"int8-qdq": "int8", "int8-dynamic": "int8", "int8-cpu": "int8", "float32": "fp32", "float16": "fp16"}


def normalize_precision(precision: str) -> str:
    """Map a precision name or recipe ("int8-qdq", "float16", ...) to a table precision."""
    name = _ALIASES.get(precision.lower(), precision.lower())
    if name not in PRECISIONS:
        raise HtpEdgeError(f"tolerance: unknown precision. Expected one of {', '.join(PRECISIONS)} "
                           f"(or int8-qdq, int8-dynamic, int8-cpu), got {precision!r}.")
    return name


def tolerance(precision: str, output: str, is_index: bool = False) -> Tol:
    """The tolerance of ``output`` at ``precision``.

    Outputs the table does not name get the "index" row when ``is_index`` (integer or bool
    outputs), otherwise the "float" row.
    """
    name = normalize_precision(precision)
    default = TOLERANCES[(name, "index" if is_index else "float")]
    return TOLERANCES.get((name, output), default)


def mpjpe_delta_gate_mm(precision: str) -> float:
    """Largest allowed MPJPE increase (mm) of ``precision`` over FP32."""
    return MPJPE_DELTA_GATE_MM[normalize_precision(precision)]


def check_mpjpe_delta(precision: str, mpjpe_mm: float, reference_mpjpe_mm: float) -> float:
    """Return the MPJPE delta in mm; raise :class:`HtpEdgeError` when it exceeds the gate."""
    delta = float(mpjpe_mm) - float(reference_mpjpe_mm)
    gate = mpjpe_delta_gate_mm(precision)
    if delta > gate:
        raise HtpEdgeError(
            f"accuracy gate ({precision}): MPJPE rose by {delta:.3f} mm over FP32. Expected at "
            f"most {gate} mm, got {mpjpe_mm:.3f} mm vs {reference_mpjpe_mm:.3f} mm. Keep more "
            f"nodes in FP32 or use a higher precision.")
    return delta
