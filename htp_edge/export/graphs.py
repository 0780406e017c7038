"""The torch modules that become ONNX graphs: the denoiser step, the TCEP planner, and the
whole K-step DDIM sampler unrolled into one graph (torch).

Graph I/O names are fixed (the runtime binds by name):

* denoiser: ``keypoints_2d`` (N, F, J, 2), ``noisy_pose`` (N, F, J, 3), ``timestep`` (N,) float,
  [``keep_frames`` (N, n1) int64] -> ``pose_3d`` (N, F, J, 3) [, ``kept_frames`` (N, f) int64]
* planner: ``keypoints_2d`` (B, F, J, 2) -> ``keep_frames`` (B, n1) int64
* sampler: ``keypoints_2d`` (B, F, J, 2), ``noise`` (K, B, H, F, J, 3) [, ``keep_frames``]
  -> ``pose_3d`` (B, H, F, J, 3)

N is laid out flip-outer, then clip, then hypothesis: n = flip * B * H + b * H + h.
"""
from __future__ import annotations

import torch
from torch import nn

from htp_edge.diffusion.sampler import ddim_schedule
from htp_edge.model.denoiser import Denoiser
from htp_edge.skeleton import flip_permutation


class DenoiserGraph(nn.Module):
    """One denoiser pass; returns the kept frame indices too when the model prunes."""

    def __init__(self, net: Denoiser) -> None:
        super().__init__()
        self.net = net

    def forward(self, keypoints_2d, noisy_pose, timestep, keep_frames=None):
        x0, kept = self.net(keypoints_2d, noisy_pose, timestep, keep_frames, return_kept=True)
        return x0 if kept is None else (x0, kept)


class PlannerGraph(nn.Module):
    """TCEP's frame plan alone, run once per clip."""

    def __init__(self, net: Denoiser) -> None:
        super().__init__()
        self.tcep = net.tcep

    def forward(self, keypoints_2d):
        return self.tcep(keypoints_2d)


class SamplerGraph(nn.Module):
    """K DDIM steps with flip averaging in one graph; the noise is an input (no random ops)."""

    def __init__(self, net: Denoiser, steps: int, hypotheses: int, flip: bool, clip: float = 1.1) -> None:
        super().__init__()
        self.net, self.h, self.flip, self.clip = net, hypotheses, flip, clip
        self.schedule = ddim_schedule(steps)
        perm = torch.from_numpy(flip_permutation(net.config.joints))
        self.register_buffer("perm", perm, persistent=False)
        self.register_buffer("sign", torch.tensor([-1.0, 1.0, 1.0]), persistent=False)

    def _flip(self, x: torch.Tensor) -> torch.Tensor:
        return x.index_select(-2, self.perm) * self.sign[: x.shape[-1]]

    def forward(self, keypoints_2d, noise, keep_frames=None):
        b, f, j, _ = keypoints_2d.shape
        h = self.h
        x2d = keypoints_2d[:, None].expand(b, h, f, j, 2).reshape(b * h, f, j, 2)  # (B*H, F, J, 2)
        plan = None if keep_frames is None else keep_frames[:, None].expand(b, h, -1).reshape(b * h, -1)
        if self.flip:
            x2d = torch.cat((x2d, self._flip(x2d)), 0)  # (2*B*H, F, J, 2)
            plan = None if plan is None else torch.cat((plan, plan), 0)
        x = noise[0].reshape(b * h, f, j, 3)  # (B*H, F, J, 3)
        for k, step in enumerate(self.schedule):
            x0 = self._x0(x2d, x.clamp(-self.clip, self.clip), float(step.t), plan)
            if step.t_next < 0:
                x = x0
                break
            eps = (step.sqrt_recip_ab * x - x0) / step.sqrt_recipm1_ab
            x = x0 * step.sqrt_ab_next + step.c * eps + step.sigma * noise[k + 1].reshape(b * h, f, j, 3)
        return x.reshape(b, h, f, j, 3)

    def _x0(self, x2d, x, t: float, plan):
        n = x.shape[0]
        x_in = torch.cat((x, self._flip(x)), 0) if self.flip else x
        t_in = torch.full((x_in.shape[0],), t, dtype=x.dtype)
        out = self.net(x2d, x_in, t_in, plan).clamp(-self.clip, self.clip)
        return 0.5 * (out[:n] + self._flip(out[n:])) if self.flip else out
