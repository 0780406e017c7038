"""The torch modules that become ONNX graphs: the denoiser step, the TCEP planner, and the
whole K-step DDIM sampler unrolled into one graph (torch).

Graph I/O names are fixed (the runtime binds by name):

* denoiser: ``keypoints_2d`` (N, F, J, 2), ``noisy_pose`` (N, F, J, 3), ``timestep`` (N,) float,
  [``keep_frames`` (N, n1) int64] [``keep_tokens`` (N, f) int64] -> ``pose_3d`` (N, F, J, 3)
  [, ``kept_frames`` (N, f) int64: the original frame index of every token that reached the end]
* planner: ``keypoints_2d`` (B, F, J, 2) -> [``keep_frames`` (B, n1)] [``keep_tokens`` (B, f)]
* sampler: ``keypoints_2d`` (B, F, J, 2), ``noise`` (K, B, H, F, J, 3) [, plan inputs]
  -> ``pose_3d`` (B, H, F, J, 3)

N is laid out flip-outer, then clip, then hypothesis: n = flip * B * H + b * H + h.
"""
from __future__ import annotations

import torch
from torch import nn

from htp_edge.artifacts import names
from htp_edge.diffusion.sampler import ddim_schedule
from htp_edge.model.denoiser import Denoiser
from htp_edge.pose.skeleton import flip_permutation


def plan_names(net: Denoiser) -> list[str]:
    """Names of the plan tensors the denoiser takes (and the planner graph returns)."""
    return (([names.KEEP_FRAMES] if net.tcep is not None else [])
            + ([names.KEEP_TOKENS] if net.token_planner is not None else []))


class DenoiserGraph(nn.Module):
    """One denoiser pass; returns the kept frame indices too when the model prunes."""

    def __init__(self, net: Denoiser) -> None:
        super().__init__()
        self.net = net
        self.input_names = list(names.DENOISER_INPUTS) + plan_names(net)

    def forward(self, keypoints_2d, noisy_pose, timestep, *plan):
        kw = dict(zip(plan_names(self.net), plan))
        x0, kept = self.net(keypoints_2d, noisy_pose, timestep, return_kept=True, **kw)
        return x0 if kept is None else (x0, kept)


class PlannerGraph(nn.Module):
    """The pruning plan alone (TCEP frames, MGPTP tokens), run once per clip."""

    def __init__(self, net: Denoiser) -> None:
        super().__init__()
        self.net = net
        self.output_names = plan_names(net)

    def forward(self, keypoints_2d):
        plan = self.net.plan(keypoints_2d)
        return tuple(plan[name] for name in self.output_names)


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

    def forward(self, keypoints_2d, noise, *plan_in):
        b, f, j, _ = keypoints_2d.shape
        h = self.h
        x2d = keypoints_2d[:, None].expand(b, h, f, j, 2).reshape(b * h, f, j, 2)  # (B*H, F, J, 2)
        plan = {name: p[:, None].expand(b, h, -1).reshape(b * h, -1)  # (B*H, k)
                for name, p in zip(plan_names(self.net), plan_in)}
        if self.flip:
            x2d = torch.cat((x2d, self._flip(x2d)), 0)  # (2*B*H, F, J, 2)
            plan = {name: torch.cat((p, p), 0) for name, p in plan.items()}
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
        out = self.net(x2d, x_in, t_in, **plan).clamp(-self.clip, self.clip)
        return 0.5 * (out[:n] + self._flip(out[n:])) if self.flip else out
