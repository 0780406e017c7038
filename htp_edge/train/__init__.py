"""Training the denoisers with D3DP's objective on the real-motion data (torch)."""
