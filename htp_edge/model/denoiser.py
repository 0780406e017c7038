"""The denoiser: D3DP's MixSTE2, exactly, plus HTP's optional pruning path (torch).

D3DP: W. Shan et al., "Diffusion-Based 3D Human Pose Estimation with Multi-Hypothesis
Aggregation", ICCV 2023; its denoiser is MixSTE (Zhang et al., CVPR 2022). Module names follow
D3DP so that its checkpoints load with strict key matching. With ``config.pruning`` unset (or
with n1 = f = frames) the forward pass is D3DP's function. HTP's stages are documented in
:mod:`htp_edge.model.pruning`.

All tensors are flat over N = clips x hypotheses (x 2 with flip): x2d (N, F, J, 2),
x_t (N, F, J, 3), t (N,) float, optional plan -- TCEP's frames ``keep_frames`` (N, n1) and
MGPTP's tokens ``keep_tokens`` (N, f), int64, from :meth:`Denoiser.plan` -- -> x0 (N, F, J, 3).
With ``config.causal`` every temporal attention is masked to the current and earlier frames (by
the original frame index of each token) and the plan is causal, so x0 of frame t depends on the
inputs of frames <= t only (:mod:`htp_edge.model.pruning`).
"""
from __future__ import annotations

import torch
from torch import nn

from htp_edge.artifacts import names
from htp_edge.diffusion.schedule import diffusion_buffers
from htp_edge.model.config import ModelConfig
from htp_edge.model.layers import Block, SinusoidalPositionEmbeddings
from htp_edge.model.pruning import (
    PoseTokenPlanner,
    TemporalPlanner,
    TokenPruner,
    TokenRecovery,
    causal_bias,
    distance_bias,
    gather_frames,
    has_earlier_key,
)


class Denoiser(nn.Module):
    """MixSTE2 (D3DP's ``pose_estimator``) with optional HTP pruning."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = cfg = config
        c = cfg.embed_dim
        self.Spatial_patch_to_embedding = nn.Linear(cfg.in_chans + 3, c)
        self.Spatial_pos_embed = nn.Parameter(torch.zeros(1, cfg.joints, c))
        self.Temporal_pos_embed = nn.Parameter(torch.zeros(1, cfg.frames, c))
        self.time_mlp = nn.Sequential(
            SinusoidalPositionEmbeddings(c), nn.Linear(c, c * 2), nn.GELU(), nn.Linear(c * 2, c))
        dpr = [cfg.drop_path_rate * i / max(cfg.depth - 1, 1) for i in range(cfg.depth)]
        self.STEblocks = nn.ModuleList(
            Block(c, cfg.num_heads, cfg.mlp_hidden, cfg.qkv_bias, dpr[i]) for i in range(cfg.depth))
        self.TTEblocks = nn.ModuleList(
            Block(c, cfg.num_heads, cfg.mlp_hidden, cfg.qkv_bias, dpr[i]) for i in range(cfg.depth))
        self.Spatial_norm = nn.LayerNorm(c, eps=1e-6)
        self.Temporal_norm = nn.LayerNorm(c, eps=1e-6)
        self.head = nn.Sequential(nn.LayerNorm(c), nn.Linear(c, 3))
        self._build_pruning()
        if cfg.causal:  # constant (1, 1, F, F) mask of the full-frame blocks; not a weight
            frames = torch.arange(cfg.frames)[None]
            self.register_buffer("causal_full", causal_bias(frames, frames), persistent=False)
            self.register_buffer("frame_arange", frames, persistent=False)
        self.apply(_init_weights)
        for p in (self.Spatial_pos_embed, self.Temporal_pos_embed):
            nn.init.trunc_normal_(p, std=0.02)

    def _build_pruning(self) -> None:
        cfg, p = self.config, self.config.pruning
        self.tcep = self.mgptp = self.tra = self.token_planner = None
        self.sft_distance_bias = None
        if cfg.tcep_active:
            self.tcep = TemporalPlanner(cfg.frames, p.n1, p.eta, p.tcep_window, p.tcep_alpha, cfg.causal,
                                        p.plan_space)
        if cfg.mgptp_active:
            n_in = cfg.frames_at(p.mgptp_layer - 1)
            self.mgptp = TokenPruner(cfg.embed_dim, n_in, p.f, p.knn_k, p.mask_guided, planned=cfg.planned_tokens)
            if cfg.planned_tokens:
                self.token_planner = PoseTokenPlanner(n_in, p.f, p.knn_k, p.mask_guided, cfg.causal, p.eta,
                                                      p.plan_space)
        if cfg.prunes:
            self.tra = TokenRecovery(cfg.embed_dim, cfg.frames, cfg.num_heads)
            if p.sft:
                self.sft_distance_bias = nn.Parameter(torch.zeros(cfg.depth, cfg.num_heads, cfg.frames))

    # -- the forward pass, top to bottom -------------------------------------------------------
    def forward(self, x2d, x_t, t, keep_frames=None, keep_tokens=None, return_kept: bool = False):
        n, f, j, _ = x_t.shape
        if (self.tcep is not None and keep_frames is None) or (self.token_planner is not None and keep_tokens is None):
            plan = self.plan(x2d)
            keep_frames, keep_tokens = plan.get(names.KEEP_FRAMES), plan.get(names.KEEP_TOKENS)
        c = self.config.embed_dim
        x = torch.cat((x2d, x_t), dim=-1).reshape(n * f, j, -1)  # (N*F, J, 5)
        x = self.Spatial_patch_to_embedding(x) + self.Spatial_pos_embed
        temb = self.time_mlp(t)  # (N, C)
        x = (x.reshape(n, f, j, c) + temb[:, None, None, :]).reshape(n * f, j, c)  # (N*F, J, C)
        x = self.Spatial_norm(self.STEblocks[0](x))
        x = x.reshape(n, f, j, c).permute(0, 2, 1, 3).reshape(n * j, f, c)  # (N*J, F, C)
        x = self.Temporal_norm(self.TTEblocks[0](x + self.Temporal_pos_embed, self._causal_mask(None)))
        x, frame_idx, skip = self._pair_loop(x, keep_frames, keep_tokens, n, j)
        if self.tra is not None:
            x = self.tra(x, skip, *self._recovery_mask(frame_idx))  # (N*J, F, C)
        x = x.reshape(n, j, f, c).permute(0, 2, 1, 3)  # (N, F, J, C)
        x0 = self.head(x)  # (N, F, J, 3)
        return (x0, frame_idx) if return_kept else x0

    def _pair_loop(self, x, keep_frames, keep_tokens, n, j):
        cfg, p = self.config, self.config.pruning
        frame_idx, skip = None, None
        for i in range(1, cfg.depth):
            if self.tcep is not None and i == p.tcep_layer:
                skip = x if p.recovery_skip else None
                x, frame_idx = gather_frames(x, keep_frames, n, j), keep_frames
            if self.mgptp is not None and i == p.mgptp_layer:
                if frame_idx is None:
                    frame_idx = torch.arange(cfg.frames, device=x.device).expand(n, cfg.frames)
                    skip = x if p.recovery_skip else None
                x, frame_idx = self.mgptp(x, frame_idx, n, j, tokens=keep_tokens)
            x = self._spatial(i, x, n, j)
            bias = None
            if self.sft_distance_bias is not None and frame_idx is not None:
                bias = distance_bias(self.sft_distance_bias[i], frame_idx)  # (N, heads, T, T)
            causal = self._causal_mask(frame_idx)
            if causal is not None:
                bias = causal if bias is None else bias + causal
            x = self.Temporal_norm(self.TTEblocks[i](x, bias))
        return x, frame_idx, skip

    def _causal_mask(self, frame_idx):
        """The additive causal mask of a temporal block: (1, 1, F, F) on all frames, (N, 1, T, T)
        on the original indices ``frame_idx`` (N, T) of kept tokens; None when not causal."""
        if not self.config.causal:
            return None
        return self.causal_full if frame_idx is None else causal_bias(frame_idx, frame_idx)

    def _recovery_mask(self, frame_idx):
        """TRA's (bias, gate) for causal models: frame t attends to kept tokens of frames <= t."""
        if not self.config.causal:
            return None, None
        q = self.frame_arange  # (1, F), broadcast over the N clips of frame_idx (N, f)
        return causal_bias(q, frame_idx), has_earlier_key(q, frame_idx)  # (N, 1, F, f), (N, F, 1)

    def _spatial(self, i: int, x: torch.Tensor, n: int, j: int) -> torch.Tensor:
        t, c = x.shape[1], x.shape[2]
        x = x.reshape(n, j, t, c).permute(0, 2, 1, 3).reshape(n * t, j, c)  # (N*T, J, C)
        x = self.Spatial_norm(self.STEblocks[i](x))
        return x.reshape(n, t, j, c).permute(0, 2, 1, 3).reshape(n * j, t, c)  # (N*J, T, C)

    def plan(self, x2d: torch.Tensor) -> dict[str, torch.Tensor]:
        """The pruning plan of 2D input (N, F, J, 2): ``keep_frames`` (N, n1) when TCEP is on,
        ``keep_tokens`` (N, f) when MGPTP plans from the 2D poses; {} for D3DP."""
        out: dict[str, torch.Tensor] = {}
        score = None
        if self.tcep is not None:
            score = self.tcep(x2d)
            out[names.KEEP_FRAMES] = self.tcep.select(score)
        if self.token_planner is not None:
            out[names.KEEP_TOKENS] = self.token_planner(x2d, out.get(names.KEEP_FRAMES), score)
        return out


class DiffusionPoseModel(nn.Module):
    """D3DP's model layout: ``pose_estimator`` plus the 12 float64 diffusion buffers."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.pose_estimator = Denoiser(config)
        for name, value in diffusion_buffers().items():
            self.register_buffer(name, torch.from_numpy(value))  # float64, as in D3DP

    @property
    def config(self) -> ModelConfig:
        return self.pose_estimator.config


def _init_weights(m: nn.Module) -> None:
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)
