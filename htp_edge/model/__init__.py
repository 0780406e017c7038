"""The models: D3DP's denoiser (exact) and the HTP reconstruction (torch), configs and MACs."""
