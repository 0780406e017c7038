"""D3DP's diffusion: cosine schedule, DDIM sampler with flip augmentation, aggregation (numpy)."""
