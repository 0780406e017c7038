"""Transformer building blocks of MixSTE/D3DP, with D3DP's module names (torch)."""
from __future__ import annotations

import math

import torch
from torch import nn


class SinusoidalPositionEmbeddings(nn.Module):
    """Timestep embedding [sin(t w_i), cos(t w_i)], w_i = exp(-i ln(10000) / (dim/2 - 1))."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, t: torch.Tensor) -> torch.Tensor:  # t: (N,) -> (N, dim)
        half = self.dim // 2
        scale = math.log(10000) / (half - 1)
        freqs = torch.exp(torch.arange(half, device=t.device, dtype=torch.float32) * -scale)
        angles = t.float()[:, None] * freqs[None, :]  # (N, half)
        return torch.cat((angles.sin(), angles.cos()), dim=-1)


class DropPath(nn.Module):
    """Stochastic depth per sample (identity at eval time)."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Attention(nn.Module):
    """Multi-head self-attention with a fused qkv projection.

    The softmax scale is applied to Q before the first MatMul (what TensorRT's attention fusion
    looks for). ``bias`` (G, heads, N, N) is added to the logits of every group of B/G sequences.
    """

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        b, n, c = x.shape
        h = self.num_heads
        qkv = self.qkv(x).reshape(b, n, 3, h, c // h).permute(2, 0, 3, 1, 4)  # (3, B, h, N, c/h)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        logits = q @ k.transpose(-2, -1)  # (B, h, N, N)
        if bias is not None:
            g = bias.shape[0]
            logits = (logits.reshape(g, b // g, h, n, n) + bias[:, None]).reshape(b, h, n, n)
        out = logits.softmax(dim=-1) @ v  # (B, h, N, c/h)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))  # (B, N, C)


class Block(nn.Module):
    """Pre-norm ViT block: x += attn(norm1(x)); x += mlp(norm2(x)); LayerNorm eps 1e-6."""

    def __init__(self, dim: int, num_heads: int, mlp_hidden: int, qkv_bias: bool, drop_path: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads, qkv_bias)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, mlp_hidden)

    def forward(self, x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x), bias))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class CrossAttention(nn.Module):
    """Queries attend to a (shorter) key/value sequence; separate q, k, v projections (HoT's TRA)."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.linear_q = nn.Linear(dim, dim)
        self.linear_k = nn.Linear(dim, dim)
        self.linear_v = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, q_in: torch.Tensor, kv_in: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        """``bias`` (G, heads or 1, Nq, Nk) is added to the logits of every group of B/G sequences."""
        b, nq, c = q_in.shape
        nk = kv_in.shape[1]
        h = self.num_heads
        q = self.linear_q(q_in).reshape(b, nq, h, c // h).transpose(1, 2) * self.scale  # (B, h, Nq, c/h)
        k = self.linear_k(kv_in).reshape(b, nk, h, c // h).transpose(1, 2)  # (B, h, Nk, c/h)
        v = self.linear_v(kv_in).reshape(b, nk, h, c // h).transpose(1, 2)  # (B, h, Nk, c/h)
        logits = q @ k.transpose(-2, -1)  # (B, h, Nq, Nk)
        if bias is not None:
            g = bias.shape[0]
            logits = (logits.reshape(g, b // g, h, nq, nk) + bias[:, None]).reshape(b, h, nq, nk)
        out = logits.softmax(dim=-1) @ v  # (B, h, Nq, c/h)
        return self.proj(out.transpose(1, 2).reshape(b, nq, c))  # (B, Nq, C)
