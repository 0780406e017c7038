"""Hierarchical Temporal Pruning (HTP) modules -- a reconstruction.

Paper: Y. Bi, H. Wang, X. Shi, Z. Gui, J. Gui, Y. Y. Tang, "Efficient Diffusion-Based 3D Human
Pose Estimation with Hierarchical Temporal Pruning", arXiv:2508.21363 (IEEE TCSVT 2026).

Only the paper's abstract is public. It names three parts: TCEP (Temporal Correlation-Enhanced
Pruning: essential frames from inter-frame motion correlation via an adaptive temporal graph),
SFT MHSA (Sparse-Focused Temporal MHSA: attention restricted to the kept, motion-relevant frames)
and MGPTP (Mask-Guided Pose Token Pruner: fine-grained pruning of pose tokens by clustering).
The code below honours those properties; the concrete choices are ours and are all listed here
and exposed in :class:`htp_edge.model.config.PruningConfig`:

* TCEP is computed from the 2D input only (so one plan serves every hypothesis, DDIM step and
  flip pass; it is exported as its own small graph). Descriptors are per-frame 2D joint
  velocities; the adaptive graph links frames within ``tcep_window`` whose cosine similarity
  exceeds ``eta`` x the clip's mean similarity; a frame's saliency is its speed relative to the
  clip mean times (1 - its mean correlation with its graph neighbours). The score mixes the
  saliency (weight ``tcep_alpha``) with a uniform-coverage prior (bit-reversed frame order), and
  the top ``n1`` frames are kept in temporal order. Velocity norms and cosine similarities are
  invariant to the flip augmentation, so the flipped pass gets the same plan.
* SFT MHSA: the temporal blocks after TCEP attend over the kept frames only, with a learned
  per-block, per-head bias on the original frame-index distance between tokens.
* MGPTP: HoT-style DPC-kNN (density from the k nearest neighbours, distance to a denser token)
  picks the ``f`` most representative pose tokens (frames) among TCEP's, in temporal order,
  plus a learned positional embedding. ``mgptp_mode="pose2d"`` (the presets) clusters the kept
  frames' root-relative 2D poses, masked by TCEP (its score weights the density peaks): the
  choice is made once per clip in the FP32 planner graph, so no DDIM step, hypothesis or
  reduced-precision engine can change it. ``mgptp_mode="features"`` clusters the frame
  features inside the denoiser (HoT's TPC), weighted by a learned informativeness mask
  (trained straight-through); INT8 noise in the features flips its TopK choices.
* Recovery: HoT's token recovering attention (TRA); the query is the learned per-frame token
  plus, with ``recovery_skip``, the full-frame tokens from just before TCEP.

Causal models (``ModelConfig.causal``): output frame t depends on input frames <= t only.
Every temporal attention (blocks, TRA) gets an additive mask (:func:`causal_bias`, -1e4 on the
logits of later frames) on the *original* frame indices of its tokens, and TRA's output is
zeroed for a frame that no kept token precedes. A top-k over the clip would let later frames
decide which earlier ones are kept, so the causal plan is an online rule instead
(:class:`CausalSelector`): the positions are cut into ``keep`` fixed segments, the newest alone
in the last one (so the newest frame is always kept and its pose is never a recovered one), and
each segment keeps its first position whose causal score exceeds ``eta`` x the running mean of
the scores so far, else its last position. Whether position i is kept then depends on positions
<= i only, and the count is static. TCEP's causal score is the backward-difference speed of a
frame times (1 - its mean positive cosine similarity with the ``tcep_window`` frames before it);
MGPTP's (``pose2d`` only) is the root-relative 2D pose change since the previous kept frame,
times TCEP's score with ``mask_guided``. ``tcep_alpha`` (the coverage prior) is unused: the
segments give the coverage.

Everything is export-safe: no cdist (expanded squares), constant k in every TopK, no boolean
indexing, deterministic tie-breaks (fixed epsilon ramps, no random noise).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from htp_edge.model.layers import CrossAttention


def coverage_prior(frames: int) -> np.ndarray:
    """(F,) scores in (0, 1]: taking the top n gives near-uniformly spaced frames for any n."""
    bits = max(1, int(np.ceil(np.log2(frames))))
    rev = np.array([int(format(i, f"0{bits}b")[::-1], 2) for i in range(frames)])
    rank = np.argsort(np.argsort(rev))  # 0 for the first frame of the bit-reversed order
    return (1.0 - rank / frames).astype(np.float32)


def sorted_topk(score: torch.Tensor, k: int) -> torch.Tensor:
    """Indices (N, k) of the k largest scores, in increasing index order (static k)."""
    idx = score.topk(k, dim=-1).indices  # (N, k)
    # sort through a float TopK: exact for indices < 2^24 and kept in TensorRT-friendly FP32
    return (-idx.float()).topk(k, dim=-1).values.neg().long()


def gather_frames(x: torch.Tensor, idx: torch.Tensor, n: int, j: int) -> torch.Tensor:
    """Keep frames ``idx`` (N, k) of temporal tokens x (N*J, T, C) -> (N*J, k, C)."""
    t, c = x.shape[1], x.shape[2]
    k = idx.shape[1]
    index = idx[:, None, :, None].expand(n, j, k, c)  # (N, J, k, C)
    return x.reshape(n, j, t, c).gather(2, index).reshape(n * j, k, c)


NEG_MASK = -1e4  # added to the logits of masked keys: exp underflows to exactly 0 in FP32 and FP16


def causal_bias(q_idx: torch.Tensor, k_idx: torch.Tensor) -> torch.Tensor:
    """Additive mask (G, 1, Tq, Tk) from original frame indices q_idx (G, Tq), k_idx (G, Tk):
    0 where the key's frame is not later than the query's, ``NEG_MASK`` where it is."""
    later = (k_idx[:, None, :] > q_idx[:, :, None]).float()  # (G, Tq, Tk)
    return (later * NEG_MASK)[:, None]


def has_earlier_key(q_idx: torch.Tensor, k_idx: torch.Tensor) -> torch.Tensor:
    """(G, Tq, 1) 1.0 where some key's frame is not later than the query's, else 0.0."""
    allowed = (k_idx[:, None, :] <= q_idx[:, :, None]).float()  # (G, Tq, Tk)
    return allowed.max(dim=-1, keepdim=True).values


def causal_segments(length: int, keep: int) -> np.ndarray:
    """(length,) segment id of each position: ``keep - 1`` near-equal contiguous segments over
    positions 0..length-2 and the newest position alone in segment ``keep - 1``."""
    if not 1 <= keep <= length:
        raise ValueError(f"causal segments: expected 1 <= keep <= length, got keep={keep}, length={length}")
    seg = np.full(length, keep - 1)
    if keep > 1:
        seg[:-1] = np.arange(length - 1) * (keep - 1) // (length - 1)
    return seg


class CausalSelector(nn.Module):
    """Online static-count selection: scores (N, L) -> ``keep`` positions (N, keep), increasing,
    where whether position i is kept depends on scores[:, :i+1] only (see the module docstring)."""

    def __init__(self, length: int, keep: int, eta: float) -> None:
        super().__init__()
        self.keep, self.eta = keep, eta
        seg = causal_segments(length, keep)
        pos = np.arange(length)
        same_before = (seg[:, None] == seg[None, :]) & (pos[None, :] < pos[:, None])  # [i, j]: j earlier in i's segment
        last = np.append(seg[1:] != seg[:-1], True).astype(np.float32)  # the last position of each segment
        lower = (pos[None, :] <= pos[:, None]).astype(np.float32)
        running = lower / lower.sum(1, keepdims=True)  # [i, j] = 1/(i+1) for j <= i: the running mean
        self.register_buffer("before_t", torch.from_numpy(same_before.astype(np.float32).T.copy()), persistent=False)
        self.register_buffer("last", torch.from_numpy(last), persistent=False)
        self.register_buffer("running_t", torch.from_numpy(running.T.copy()), persistent=False)

    def forward(self, score: torch.Tensor) -> torch.Tensor:
        # a relative margin keeps near-ties (e.g. a still clip's constant scores) on one side on every backend
        threshold = self.eta * (score @ self.running_t) * (1.0 + 1e-4) + 1e-7
        exceed = (score > threshold).float()  # (N, L)
        earlier = exceed @ self.before_t  # (N, L) exceeding positions earlier in the same segment
        keep = torch.maximum(exceed, self.last) * (earlier < 0.5).float()  # exactly one per segment
        return sorted_topk(keep, self.keep)


def body_space(x2d: torch.Tensor) -> torch.Tensor:
    """(N, F, J, 2) -> the same poses root-relative and divided by each frame's 2D body size (the
    RMS joint distance from the root): a person walking across the view or toward the camera
    keeps the same descriptors, only articulation moves them. Flip-invariant, export-safe."""
    rel = x2d - x2d[:, :, :1]  # (N, F, J, 2) root-relative
    size = (rel * rel).sum(-1).mean(-1, keepdim=True).add(1e-12).sqrt()  # (N, F, 1) RMS radius
    return rel / (size[..., None] + 1e-6)


class TemporalPlanner(nn.Module):
    """TCEP: parameter-free per-frame scores from 2D motion, (N, F, J, 2) -> (N, F); the plan keeps
    the top ``n1`` (see :meth:`htp_edge.model.denoiser.Denoiser.plan`), or with ``causal`` the
    online choice of :class:`CausalSelector` on causal scores."""

    def __init__(self, frames: int, n1: int, eta: float, window: int, alpha: float, causal: bool = False,
                 space: str = "image") -> None:
        super().__init__()
        self.n1, self.eta, self.alpha, self.causal, self.space = n1, eta, alpha, causal, space
        offsets = np.arange(frames)[:, None] - np.arange(frames)[None, :]  # [i, j] = i - j
        band = ((offsets > 0) & (offsets <= window)) if causal else ((offsets != 0) & (np.abs(offsets) <= window))
        band = band.astype(np.float32)
        self.register_buffer("neighbours", torch.from_numpy(band), persistent=False)
        self.register_buffer("degree", torch.from_numpy(np.maximum(band.sum(1), 1.0)), persistent=False)
        self.register_buffer("coverage", torch.from_numpy(coverage_prior(frames)), persistent=False)
        self.selector = CausalSelector(frames, n1, eta) if causal else None

    def select(self, score: torch.Tensor) -> torch.Tensor:
        """The kept frames (N, n1), in temporal order."""
        return sorted_topk(score, self.n1) if self.selector is None else self.selector(score)

    def causal_scores(self, x2d: torch.Tensor) -> torch.Tensor:
        n, f, j, c = x2d.shape
        pose = x2d.reshape(n, f, j * c)  # (N, F, 2J)
        vel = torch.cat((torch.zeros_like(pose[:, :1]), pose[:, 1:] - pose[:, :-1]), dim=1)  # (N, F, 2J) backward
        speed = (vel * vel).sum(-1).add(1e-12).sqrt()  # (N, F)
        unit = vel / (speed[..., None] + 1e-6)
        sim = (unit @ unit.transpose(1, 2)).clamp_min(0.0)  # (N, F, F)
        redundancy = (sim * self.neighbours).sum(-1) / self.degree  # (N, F) over the frames before
        return speed * (1.0 - redundancy).clamp_min(0.0)

    def scores(self, x2d: torch.Tensor) -> torch.Tensor:
        if self.causal:
            return self.causal_scores(x2d)
        n, f, j, c = x2d.shape
        pose = x2d.reshape(n, f, j * c)  # (N, F, 2J)
        vel = pose[:, 1:] - pose[:, :-1]  # (N, F-1, 2J)
        vel = torch.cat((vel[:, :1], vel), dim=1)  # (N, F, 2J)
        speed = (vel * vel).sum(-1).add(1e-12).sqrt()  # (N, F)
        unit = vel / (speed[..., None] + 1e-6)
        sim = unit @ unit.transpose(1, 2)  # (N, F, F) cosine similarity
        edges = (sim > self.eta * sim.mean(dim=(1, 2), keepdim=True)).float() * self.neighbours
        redundancy = (edges * sim).sum(-1) / self.degree  # (N, F)
        saliency = speed / (speed.mean(1, keepdim=True) + 1e-6) * (1.0 - redundancy).clamp_min(0.0)
        saliency = saliency / (saliency.max(1, keepdim=True).values + 1e-6)
        return self.alpha * saliency + (1.0 - self.alpha + 1e-3) * self.coverage

    def forward(self, x2d: torch.Tensor) -> torch.Tensor:
        """The scores, called as a module so the exported nodes are named ``/tcep/...``."""
        return self.scores(body_space(x2d) if self.space == "body" else x2d)


def dpc_knn_scores(x: torch.Tensor, k: int, tiebreak: torch.Tensor) -> torch.Tensor:
    """Density-peak scores rho * delta of tokens x (N, T, C) (HoT's DPC-kNN, export-safe)."""
    c = x.shape[-1]
    x = x - x.mean(dim=1, keepdim=True)  # centring keeps the expanded-square distances well conditioned
    sq = (x * x).sum(-1)  # (N, T)
    d2 = (sq[:, :, None] + sq[:, None, :] - 2.0 * (x @ x.transpose(1, 2))).clamp_min(0.0) / c  # (N, T, T)
    dist = d2.sqrt()
    knn = (-d2).topk(k, dim=-1).values.neg()  # (N, T, k) incl. self
    rho = torch.exp(-knn.mean(-1)) + tiebreak  # (N, T)
    denser = (rho[:, None, :] > rho[:, :, None]).float()  # [n, i, j] = rho_j > rho_i
    dmax = dist.flatten(1).max(dim=-1).values[:, None, None]  # (N, 1, 1)
    delta = (dist * denser + dmax * (1.0 - denser)).min(dim=-1).values  # (N, T)
    return rho * delta


class PoseTokenPlanner(nn.Module):
    """MGPTP's choice from the 2D input: DPC-kNN over the root-relative 2D poses of the frames
    TCEP kept, weighted by TCEP's score (the mask); -> positions (N, f) within those frames."""

    def __init__(self, n_in: int, n_keep: int, k: int, mask_guided: bool, causal: bool = False,
                 eta: float = 1.0, space: str = "image") -> None:
        super().__init__()
        self.n_keep, self.k, self.mask_guided, self.space = n_keep, min(k, n_in), mask_guided, space
        ramp = torch.arange(n_in, dtype=torch.float32) * (1e-4 / n_in)
        self.register_buffer("tiebreak", ramp, persistent=False)
        self.selector = CausalSelector(n_in, n_keep, eta) if causal else None

    def forward(self, x2d: torch.Tensor, keep_frames: torch.Tensor | None, frame_score: torch.Tensor | None):
        n, f, j, c = x2d.shape
        if keep_frames is not None:
            index = keep_frames[:, :, None, None].expand(n, keep_frames.shape[1], j, c)  # (N, n1, J, 2)
            x2d = x2d.gather(1, index)
            frame_score = None if frame_score is None else frame_score.gather(1, keep_frames)
        rel = body_space(x2d) if self.space == "body" else x2d - x2d[:, :, :1]  # root-relative (and sized)
        pose = rel.reshape(n, x2d.shape[1], j * c)  # (N, n1, J, 2) -> (N, n1, 2J)
        if self.selector is not None:
            return self._causal(pose, frame_score)
        score = dpc_knn_scores(pose, self.k, self.tiebreak)
        if self.mask_guided and frame_score is not None:
            score = score * frame_score
        return sorted_topk(score, self.n_keep)

    def _causal(self, pose: torch.Tensor, frame_score: torch.Tensor | None) -> torch.Tensor:
        step = torch.cat((torch.zeros_like(pose[:, :1]), pose[:, 1:] - pose[:, :-1]), dim=1)  # (N, n1, 2J)
        score = (step * step).sum(-1).add(1e-12).sqrt()  # (N, n1) change since the previous kept frame
        if self.mask_guided and frame_score is not None:
            score = score * frame_score
        return self.selector(score)


class TokenPruner(nn.Module):
    """MGPTP: keep the f most informative pose tokens (frames) by masked DPC-kNN clustering.

    With ``tokens`` given (planned from the 2D input) it only gathers them; otherwise it scores
    the frame features itself.
    """

    def __init__(self, dim: int, n_in: int, n_keep: int, k: int, mask_guided: bool, planned: bool = False) -> None:
        super().__init__()
        self.n_keep, self.k = n_keep, min(k, n_in)
        self.pos_embed_token = nn.Parameter(torch.zeros(1, n_keep, dim))
        self.mask_head = nn.Linear(dim, 1) if mask_guided and not planned else None
        if self.mask_head is not None:
            nn.init.zeros_(self.mask_head.weight)
            nn.init.constant_(self.mask_head.bias, 3.0)
        ramp = torch.arange(n_in, dtype=torch.float32) * (1e-4 / n_in)  # >> float noise, << density gaps
        self.register_buffer("tiebreak", ramp, persistent=False)

    def forward(self, x: torch.Tensor, frame_idx: torch.Tensor, n: int, j: int, tokens: torch.Tensor | None = None):
        mask = None
        if tokens is None:
            tokens, mask = self._choose(x, n, j)
        keep = tokens  # (N, f) positions among the current frames
        out = gather_frames(x, keep, n, j) + self.pos_embed_token
        if mask is not None and self.training:  # straight-through: value 1, gradient to the mask
            m = mask.gather(1, keep)  # (N, f)
            gate = (1.0 + m - m.detach())[:, None, :, None].expand(n, j, self.n_keep, 1)  # (N, J, f, 1)
            out = out * gate.reshape(n * j, self.n_keep, 1)
        return out, frame_idx.gather(1, keep)

    def _choose(self, x: torch.Tensor, n: int, j: int):
        t, c = x.shape[1], x.shape[2]
        desc = x.reshape(n, j, t, c).mean(1)  # (N, T, C) frame descriptors
        score = dpc_knn_scores(desc.detach(), self.k, self.tiebreak)
        mask = None
        if self.mask_head is not None:
            mask = torch.sigmoid(self.mask_head(desc)).squeeze(-1)  # (N, T)
            score = score * mask.detach()
        return sorted_topk(score, self.n_keep), mask


class TokenRecovery(nn.Module):
    """TRA: a per-frame query cross-attends to the kept tokens -> all F frames."""

    def __init__(self, dim: int, frames: int, num_heads: int) -> None:
        super().__init__()
        self.x_token = nn.Parameter(torch.zeros(1, frames, dim))
        self.cross_attention = CrossAttention(dim, num_heads)

    def forward(self, kept: torch.Tensor, skip: torch.Tensor | None, bias: torch.Tensor | None = None,
                gate: torch.Tensor | None = None) -> torch.Tensor:
        """kept (B, f, C), skip (B, F, C) -> (B, F, C); causal: ``bias`` (G, 1, F, f) from
        :func:`causal_bias` and ``gate`` (G, F, 1) from :func:`has_earlier_key` (B = G x J)."""
        if skip is None:
            query = self.x_token.expand(kept.shape[0], -1, -1)
        else:
            query = skip + self.x_token
        recovered = self.cross_attention(query, kept, bias)  # (B, F, C)
        if gate is not None:
            g = gate.shape[0]
            b, f, c = recovered.shape
            recovered = (recovered.reshape(g, b // g, f, c) * gate[:, None]).reshape(b, f, c)
        return query + recovered


def distance_bias(table: torch.Tensor, frame_idx: torch.Tensor) -> torch.Tensor:
    """SFT bias: table (heads, F) gathered at |i - j| of original frame indices (N, T) -> (N, heads, T, T)."""
    dist = (frame_idx[:, :, None] - frame_idx[:, None, :]).abs()  # (N, T, T)
    return table[:, dist].permute(1, 0, 2, 3)
