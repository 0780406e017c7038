"""Mixed-precision training steps: ``torch.autocast`` with a ``GradScaler`` for float16 (torch).

* ``off``: float32 throughout (the default; bit-for-bit resumable).
* ``fp16``: CUDA only. The forward runs under ``torch.autocast('cuda', torch.float16)``; the loss
  is scaled by a ``torch.amp.GradScaler`` so small float16 gradients do not flush to zero, the
  gradients are unscaled before clipping, and a step whose gradients hold inf/NaN is skipped
  (the scale then halves). The scaler's state is checkpointed with the run.
* ``bf16``: ``torch.autocast`` with bfloat16 on CUDA (a GPU that supports it) or on the CPU
  (torch's CPU autocast); bfloat16 has float32's range, so no scaler is needed.

The weights, AdamW's state and the loss stay float32 in every mode; only the matmuls and
convolutions inside autocast run in the lower precision.
"""
from __future__ import annotations

import contextlib

from htp_edge.errors import HtpEdgeError

AMP_MODES = ("off", "fp16", "bf16")


def check_amp(mode: str) -> None:
    if mode not in AMP_MODES:
        raise HtpEdgeError(f"train: unknown --amp mode. Expected one of {', '.join(AMP_MODES)}, got {mode!r}.")


class MixedPrecision:
    """The autocast context and the scaled backward/step of one training run on ``device``."""

    def __init__(self, mode: str, device) -> None:
        import torch
        check_amp(mode)
        self.mode, self.device = mode, device
        if mode == "fp16" and device.type != "cuda":
            raise HtpEdgeError(f"train: --amp fp16 needs a CUDA device (float16 autocast and its GradScaler). "
                               f"Expected --device cuda, got --device {device}. Use --amp bf16 on the CPU, or "
                               f"--amp off.")
        if mode == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise HtpEdgeError(f"train: --amp bf16 needs a GPU with bfloat16 support. Expected "
                               f"torch.cuda.is_bf16_supported(), got False on {torch.cuda.get_device_name(device)}. "
                               f"Use --amp fp16.")
        self.dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(mode)
        self.scaler = torch.amp.GradScaler("cuda") if mode == "fp16" else None

    def autocast(self):
        """The context the forward pass and the loss run in."""
        import torch
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def backward(self, surrogate) -> None:
        (self.scaler.scale(surrogate) if self.scaler is not None else surrogate).backward()

    def step(self, optimizer, parameters, grad_clip: float) -> None:
        """Unscale (fp16), clip the gradient norm to ``grad_clip`` (0: no clipping), step."""
        import torch
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)
        if grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(parameters, grad_clip)
        if self.scaler is not None:
            self.scaler.step(optimizer)
            self.scaler.update()
        else:
            optimizer.step()

    def state(self) -> dict | None:
        """The scaler's state (its scale and growth tracker: floats and ints), or None."""
        return dict(self.scaler.state_dict()) if self.scaler is not None else None

    def restore(self, state: dict | None) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)
