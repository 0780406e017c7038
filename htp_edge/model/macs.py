"""Analytic multiply-accumulate counts of one denoiser pass (numpy-free, torch-free).

Convention (design/htp-model.md): one pass = one clip x one hypothesis; every Linear counts
in x out per token, attention counts its two matmuls (Q K^T and A V); normalisation, softmax,
activations and additions are not counted. Full inference costs 2 (flip) x H x K passes. HoT's
"GFLOPs" for MixSTE equal 2 x the linear MACs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from htp_edge.model.config import ModelConfig


@dataclass(frozen=True)
class MacReport:
    """Per-stage MACs of one pass; ``linear`` and ``attention`` split the total."""

    stages: dict[str, int] = field(default_factory=dict)
    linear: int = 0
    attention: int = 0

    @property
    def total(self) -> int:
        return self.linear + self.attention


def _block_linear(cfg: ModelConfig, tokens: int) -> int:
    c, hid = cfg.embed_dim, cfg.mlp_hidden
    return tokens * (c * 3 * c + c * c + 2 * c * hid)  # qkv, proj, fc1, fc2


def count_macs(cfg: ModelConfig) -> MacReport:
    """MACs of one denoiser pass for ``cfg``, broken down by stage."""
    c, j, f = cfg.embed_dim, cfg.joints, cfg.frames
    lin: dict[str, int] = {"embedding": f * j * (cfg.in_chans + 3) * c, "time_mlp": 2 * c * 2 * c}
    att: dict[str, int] = {}
    p = cfg.pruning
    if cfg.tcep_active:
        lin["tcep"] = f * f * j * cfg.in_chans  # cosine-similarity matmul of the velocity descriptors (planner)
    for i in range(cfg.depth):
        n = cfg.frames_at(i)
        if cfg.mgptp_active and i == p.mgptp_layer:
            n_in = cfg.frames_at(i - 1)
            if cfg.planned_tokens:  # Gram matrix of the 2D pose descriptors, in the planner graph
                lin["mgptp_score"] = n_in * n_in * j * cfg.in_chans
            else:  # Gram matrix of the frame features + the mask head, in the denoiser
                lin["mgptp_score"] = n_in * n_in * c
                lin["mgptp_mask"] = n_in * c if p.mask_guided else 0
        lin[f"pair{i}"] = 2 * _block_linear(cfg, n * j)
        att[f"pair{i}"] = n * 2 * j * j * c + j * 2 * n * n * c  # spatial + temporal attention
    if cfg.prunes:
        kept = cfg.frames_at(cfg.depth - 1)
        lin["tra"] = 2 * f * j * c * c + 2 * kept * j * c * c  # q, proj on F; k, v on the kept frames
        att["tra"] = j * 2 * f * kept * c
    lin["head"] = f * j * c * 3
    stages = {k: lin.get(k, 0) + att.get(k, 0) for k in list(lin) + [k for k in att if k not in lin]}
    return MacReport(stages=stages, linear=sum(lin.values()), attention=sum(att.values()))


def planner_macs(cfg: ModelConfig) -> int:
    """MACs of the parameter-free planner graph (once per clip when it is separate)."""
    rep = count_macs(cfg)
    stages = ("tcep", "mgptp_score") if cfg.planned_tokens else ("tcep",)
    return sum(rep.stages.get(s, 0) for s in stages)


def count_params(cfg: ModelConfig) -> int:
    """Parameter count of the denoiser (needs torch: builds the module on the meta device)."""
    import torch

    from htp_edge.model.denoiser import Denoiser
    with torch.device("meta"):
        net = Denoiser(cfg)
    return sum(p.numel() for p in net.parameters())
