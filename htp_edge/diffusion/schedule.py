"""D3DP's cosine noise schedule and its 12 float64 buffers (numpy only)."""
from __future__ import annotations

import numpy as np

TIMESTEPS = 1000

BUFFER_NAMES = (
    "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod",
    "sqrt_one_minus_alphas_cumprod", "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod",
    "sqrt_recipm1_alphas_cumprod", "posterior_variance", "posterior_log_variance_clipped",
    "posterior_mean_coef1", "posterior_mean_coef2",
)


def cosine_betas(timesteps: int = TIMESTEPS, s: float = 0.008) -> np.ndarray:
    """Cosine schedule (Nichol & Dhariwal), betas clipped at 0.999; float64 (T,)."""
    x = np.linspace(0, timesteps, timesteps + 1, dtype=np.float64)
    ac = np.cos(((x / timesteps) + s) / (1 + s) * np.pi * 0.5) ** 2
    ac = ac / ac[0]
    return np.clip(1 - (ac[1:] / ac[:-1]), 0, 0.999)


def diffusion_buffers(timesteps: int = TIMESTEPS) -> dict[str, np.ndarray]:
    """The 12 float64 buffers D3DP registers on its model, by name, each (T,)."""
    betas = cosine_betas(timesteps)
    alphas = 1.0 - betas
    ac = np.cumprod(alphas)
    ac_prev = np.concatenate(([1.0], ac[:-1]))
    post_var = betas * (1.0 - ac_prev) / (1.0 - ac)
    return {
        "betas": betas,
        "alphas_cumprod": ac,
        "alphas_cumprod_prev": ac_prev,
        "sqrt_alphas_cumprod": np.sqrt(ac),
        "sqrt_one_minus_alphas_cumprod": np.sqrt(1.0 - ac),
        "log_one_minus_alphas_cumprod": np.log(1.0 - ac),
        "sqrt_recip_alphas_cumprod": np.sqrt(1.0 / ac),
        "sqrt_recipm1_alphas_cumprod": np.sqrt(1.0 / ac - 1),
        "posterior_variance": post_var,
        "posterior_log_variance_clipped": np.log(np.clip(post_var, 1e-20, None)),
        "posterior_mean_coef1": betas * np.sqrt(ac_prev) / (1.0 - ac),
        "posterior_mean_coef2": (1.0 - ac_prev) * np.sqrt(alphas) / (1.0 - ac),
    }


def alphas_cumprod(timesteps: int = TIMESTEPS) -> np.ndarray:
    return np.cumprod(1.0 - cosine_betas(timesteps))
