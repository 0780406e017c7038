"""D3DP's training objective: predict x0 from a noised pose; loss = MPJPE (torch).

One timestep t ~ U{0..T-1} per clip; x_t = clamp(sqrt(ab_t) x0 + sqrt(1 - ab_t) eps, +-1.1)
with the root joint of x0 zeroed. D3DP backpropagates ``loss.backward(loss.detach())``, i.e.
the gradient of MPJPE^2 / 2; the trainer does that with ``loss="mpjpe2"`` (the ``d3dp`` recipe)
and minimises the plain MPJPE by default (the same minimiser, a gradient scaled by 1 / MPJPE).

In data-parallel training each rank scores its slice ``rows`` of a global batch of ``total``
clips: t and the noise are drawn for the whole global batch and sliced, so every clip gets the
draws it gets in a single process.
"""
from __future__ import annotations

import torch

from htp_edge.diffusion.schedule import alphas_cumprod


class DiffusionObjective:
    """Samples t and noise, noises the target, and scores the denoiser's x0 prediction.

    ``newest_weight`` weights the clip's last frame against the others (1: plain MPJPE over all
    frames). A causal model streams that frame, the one with the most past context; weighting it
    puts the training signal where the streaming error is measured."""

    def __init__(self, device: str | torch.device = "cpu", clip: float = 1.1, newest_weight: float = 1.0) -> None:
        self.ab = torch.from_numpy(alphas_cumprod()).float().to(device)
        self.clip = clip
        self.newest_weight = float(newest_weight)

    def noised(self, x0: torch.Tensor, generator: torch.Generator | None = None, rows: slice | None = None,
               total: int | None = None):
        """x0 (B, F, J, 3) -> (x_t, t float (B,)). ``generator`` is a CPU generator: t and the
        noise are drawn on the CPU and moved, so a seed gives the same draws on every device.
        With ``rows``, x0 is that slice of a global batch of ``total`` clips: the draws are the
        global batch's, sliced."""
        b = x0.shape[0]
        n = b if rows is None else int(total)
        t = torch.randint(0, len(self.ab), (n,), generator=generator)
        eps = torch.randn((n,) + tuple(x0.shape[1:]), generator=generator)
        if rows is not None:
            t, eps = t[rows], eps[rows]
            if t.shape[0] != b:
                raise ValueError(f"rows {rows} of {n} clips select {t.shape[0]} clips, x0 holds {b}")
        t, eps = t.to(x0.device), eps.to(x0.device)
        ab = self.ab[t].view(b, 1, 1, 1)  # (B,) -> (B, 1, 1, 1) to broadcast over F, J, 3
        x_t = (ab.sqrt() * x0 + (1 - ab).sqrt() * eps).clamp(-self.clip, self.clip)
        return x_t, t.float()

    def loss(self, net, x2d: torch.Tensor, x3d: torch.Tensor, generator: torch.Generator | None = None,
             rows: slice | None = None, total: int | None = None):
        """MPJPE of ``net``'s x0 prediction for the clips (x2d (B, F, J, 2), x3d (B, F, J, 3))."""
        x0 = x3d.clone()
        x0[:, :, 0] = 0.0  # root-relative target with the root zeroed
        x_t, t = self.noised(x0, generator, rows, total)
        pred = net(x2d, x_t, t)
        if self.newest_weight == 1.0:
            return mpjpe(pred, x0)
        return weighted_mpjpe(pred, x0, self.newest_weight)


def mpjpe(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean per-joint position error, in the units of the input."""
    return torch.linalg.vector_norm(pred - target, dim=-1).mean()


def weighted_mpjpe(pred: torch.Tensor, target: torch.Tensor, newest_weight: float) -> torch.Tensor:
    """MPJPE with the last frame weighted ``newest_weight`` times each other frame (B, F, J, 3)."""
    per_frame = torch.linalg.vector_norm(pred - target, dim=-1).mean(dim=(0, 2))  # (B, F, J) -> (F,)
    weights = torch.ones_like(per_frame)
    weights[-1] = newest_weight
    return (per_frame * weights).sum() / weights.sum()
