"""D3DP's DDIM sampler (eta = 1, x0-prediction) with hypotheses and flip augmentation (numpy).

The sampler is backend-agnostic: it calls ``denoise(x2d, x_t, t, plan) -> x0`` on flat batches
of N = B x H (x 2 with flip) clips, so the same loop drives torch, ONNX Runtime and TensorRT.
``plan`` maps plan-input names (``keep_frames``, ``keep_tokens``) to (N, k) index arrays.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from htp_edge.diffusion.schedule import TIMESTEPS, alphas_cumprod
from htp_edge.errors import HtpEdgeError
from htp_edge.pose.skeleton import flip_pose

DenoiseFn = Callable[[np.ndarray, np.ndarray, np.ndarray, "dict[str, np.ndarray]"], np.ndarray]


@dataclass(frozen=True)
class SamplerConfig:
    """K DDIM steps, H hypotheses, flip test-time augmentation, eta, x clamp."""

    steps: int = 1
    hypotheses: int = 1
    flip: bool = True
    eta: float = 1.0
    clip: float = 1.1
    timesteps: int = TIMESTEPS

    def __post_init__(self) -> None:
        if not 1 <= self.steps <= self.timesteps:
            raise HtpEdgeError(f"sampler: steps out of range. Expected 1..{self.timesteps}, got {self.steps}.")
        if self.hypotheses < 1:
            raise HtpEdgeError(f"sampler: hypotheses must be >= 1, got {self.hypotheses}.")

    @property
    def passes_per_step(self) -> int:
        """Denoiser passes per clip and step: H, doubled by flip."""
        return self.hypotheses * (2 if self.flip else 1)


@dataclass(frozen=True)
class DDIMStep:
    """One step t -> t_next with host-side coefficients (float64)."""

    t: int
    t_next: int
    sqrt_recip_ab: float      # sqrt(1 / ab_t)
    sqrt_recipm1_ab: float    # sqrt(1 / ab_t - 1)
    sqrt_ab_next: float
    c: float                  # sqrt(1 - ab_next - sigma^2)
    sigma: float


def ddim_times(steps: int, timesteps: int = TIMESTEPS) -> list[int]:
    """reversed(int(linspace(-1, T-1, K+1))): K=5 -> [999, 799, 599, 399, 199, -1]."""
    return [int(t) for t in np.linspace(-1, timesteps - 1, steps + 1).astype(np.int64)[::-1]]


def ddim_schedule(steps: int, eta: float = 1.0, timesteps: int = TIMESTEPS) -> list[DDIMStep]:
    ac = alphas_cumprod(timesteps)
    times = ddim_times(steps, timesteps)
    out = []
    for t, t_next in zip(times[:-1], times[1:]):
        ab = ac[t]
        ab_next = ac[t_next] if t_next >= 0 else 1.0
        sigma = eta * np.sqrt((1 - ab / ab_next) * (1 - ab_next) / (1 - ab))
        c = np.sqrt(max(1 - ab_next - sigma ** 2, 0.0))
        out.append(DDIMStep(t, t_next, float(np.sqrt(1 / ab)), float(np.sqrt(1 / ab - 1)),
                            float(np.sqrt(ab_next)), float(c), float(sigma)))
    return out


@dataclass
class SampleResult:
    """x0 of every step, (K, B, H, F, J, 3) float32; ``final`` is the last step's."""

    x0_steps: np.ndarray

    @property
    def final(self) -> np.ndarray:
        return self.x0_steps[-1]


def draw_normal(rng, shape: tuple, axis: int = 0) -> np.ndarray:
    """Standard normal float32 noise of ``shape`` from one Generator, or from one Generator per
    clip along ``axis`` (each draws its own slice, so batching never changes a clip's noise)."""
    if isinstance(rng, np.random.Generator):
        return rng.standard_normal(shape).astype(np.float32)
    if len(rng) != shape[axis]:
        raise HtpEdgeError(f"sampler: {len(rng)} generators for {shape[axis]} clips. Expected one per clip.")
    per_clip = shape[:axis] + shape[axis + 1:]
    return np.stack([g.standard_normal(per_clip) for g in rng], axis=axis).astype(np.float32)


class DDIMSampler:
    """Runs the K-step reverse process for a batch of clips."""

    def __init__(self, config: SamplerConfig) -> None:
        self.config = config
        self.steps = ddim_schedule(config.steps, config.eta, config.timesteps)

    def expand_inputs(self, x2d: np.ndarray, plan: dict[str, np.ndarray] | None):
        """(B, F, J, 2) clips and {name: (B, k)} plans -> flat (N, ...) with N = B*H (x2 with flip)."""
        h = self.config.hypotheses
        rep = np.repeat(x2d, h, axis=0)  # (B*H, F, J, 2)
        plan_rep = {k: np.repeat(v, h, axis=0) for k, v in (plan or {}).items()}  # (B*H, k)
        if self.config.flip:  # the plan depends on the 2D only and is flip-invariant: shared
            rep = np.concatenate([rep, flip_pose(rep)], axis=0)  # (2*B*H, F, J, 2)
            plan_rep = {k: np.concatenate([v, v], axis=0) for k, v in plan_rep.items()}
        return np.ascontiguousarray(rep, dtype=np.float32), plan_rep

    def denoise_step(self, denoise: DenoiseFn, x2d_in, x: np.ndarray, t: int, plan_in) -> np.ndarray:
        """One (flip-averaged, clamped) x0 prediction for x (B, H, F, J, 3)."""
        b, h = x.shape[:2]
        lim = self.config.clip
        x_in = np.clip(x, -lim, lim).reshape((b * h,) + x.shape[2:])  # (B*H, F, J, 3)
        if self.config.flip:
            x_in = np.concatenate([x_in, flip_pose(x_in)], axis=0)
        t_in = np.full((x_in.shape[0],), float(t), dtype=np.float32)
        out = np.clip(np.asarray(denoise(x2d_in, np.ascontiguousarray(x_in, np.float32), t_in, plan_in)), -lim, lim)
        if self.config.flip:
            out = 0.5 * (out[: b * h] + flip_pose(out[b * h:]))
        return out.reshape(x.shape).astype(np.float32)  # (B, H, F, J, 3)

    def sample(self, denoise: DenoiseFn, x2d: np.ndarray, rng,
               plan: dict[str, np.ndarray] | None = None) -> SampleResult:
        """``rng``: one Generator for the batch, or one per clip (then a clip's noise does not
        depend on the batch it is in)."""
        b, f, j = x2d.shape[:3]
        x = draw_normal(rng, (b, self.config.hypotheses, f, j, 3))
        x2d_in, plan_in = self.expand_inputs(x2d, plan)
        outs = []
        for step in self.steps:
            x0 = self.denoise_step(denoise, x2d_in, x, step.t, plan_in)
            outs.append(x0)
            if step.t_next < 0:
                break
            eps = (step.sqrt_recip_ab * x - x0) / step.sqrt_recipm1_ab
            noise = draw_normal(rng, x.shape)
            x = (x0 * step.sqrt_ab_next + step.c * eps + step.sigma * noise).astype(np.float32)
        return SampleResult(np.stack(outs))
