"""Screen normalisation of 2D keypoints, as in VideoPose3D and D3DP (numpy only)."""
from __future__ import annotations

import numpy as np

from htp_edge.errors import HtpEdgeError


def _check_size(width: float, height: float) -> None:
    if not (np.isfinite(width) and np.isfinite(height) and width > 0 and height > 0):
        raise HtpEdgeError(
            f"image size: width and height must be positive. Expected e.g. width=1000 height=1000, "
            f"got width={width} height={height}. Pass the size of the image the keypoints come from."
        )


def normalize_screen(x_px: np.ndarray, width: float, height: float) -> np.ndarray:
    """Pixels (..., 2) -> [-1, 1] along x, aspect-preserving along y: X/w*2 - [1, h/w]."""
    _check_size(width, height)
    return (x_px / width * 2.0 - np.array([1.0, height / width], dtype=np.float64)).astype(np.float32)


def denormalize_screen(x_norm: np.ndarray, width: float, height: float) -> np.ndarray:
    """Inverse of :func:`normalize_screen`: (X + [1, h/w]) * w / 2."""
    _check_size(width, height)
    return ((x_norm + np.array([1.0, height / width])) * width / 2.0).astype(np.float32)
