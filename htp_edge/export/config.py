"""Frozen configuration of one ONNX export (a "pruning path")."""
from __future__ import annotations

from dataclasses import dataclass

from htp_edge.errors import HtpEdgeError

OPSET = 17


@dataclass(frozen=True)
class ExportConfig:
    """What to export: architecture/weights, the static batch layout, and the graph kind.

    ``batch`` = clips x hypotheses x (2 with flip) denoiser passes per engine call.
    ``unrolled_steps`` > 0 exports the whole K-step sampler as one graph instead of one step.
    """

    model: str = "htp"
    checkpoint: str | None = None
    frames: int | None = None
    clips: int = 1
    hypotheses: int = 1
    flip: bool = True
    unrolled_steps: int = 0
    simplify: bool = True
    opset: int = OPSET
    seed: int = 0
    parity_atol: float = 1e-4

    def __post_init__(self) -> None:
        for key in ("clips", "hypotheses"):
            if getattr(self, key) < 1:
                raise HtpEdgeError(f"export: {key} must be >= 1, got {getattr(self, key)}.")
        if self.unrolled_steps < 0:
            raise HtpEdgeError(f"export: unrolled_steps must be >= 0, got {self.unrolled_steps}.")
        if self.opset != OPSET:
            raise HtpEdgeError(f"export: opset {self.opset} is not supported. Expected {OPSET} (native "
                               f"LayerNormalization; TensorRT 10/11 parse it), got {self.opset}.")

    @property
    def batch(self) -> int:
        return self.clips * self.hypotheses * (2 if self.flip else 1)
