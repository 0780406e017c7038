"""Validating and preparing user keypoints: one clear error per kind of bad input (numpy)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from htp_edge.errors import HtpEdgeError
from htp_edge.pose.layouts import FORMATS, LAYOUTS, layout_to_h36m  # noqa: F401 (FORMATS: re-exported)

JOINT_COUNTS = tuple(sorted({layout.num_joints for layout in LAYOUTS.values()}))


MAX_ABS_PX = 1e6  # pixel coordinates beyond this are a unit or data error, not an image


def numeric_array(x, what: str, expected: str) -> np.ndarray:
    """``x`` as a real-valued numeric array (ints or floats); strings, bools, complex and
    object arrays are refused with one line."""
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError):
        raise HtpEdgeError(f"{what}: not numeric. Expected a {expected} float array, got {type(x).__name__}.") from None
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise HtpEdgeError(f"{what}: not numeric (dtype {arr.dtype}). Expected a {expected} float array of "
                           f"pixel coordinates.")
    return arr


def check_pixels(arr: np.ndarray, what: str, allow_nan: bool) -> np.ndarray:
    """Range-check in the input's precision, cast to float32, then check finiteness there
    (a value finite in float64 can overflow float32)."""
    with np.errstate(invalid="ignore"):
        wide = arr[..., :2].astype(np.float64)
        big = np.isfinite(wide) & (np.abs(wide) > MAX_ABS_PX)
    if big.any():
        raise HtpEdgeError(f"{what}: {int(big.any(-1).any(-1).sum()) if arr.ndim == 3 else int(big.any())} frame(s) "
                           f"have coordinates beyond +-{MAX_ABS_PX:.0e} px. Expected pixel coordinates of an image.")
    out = arr.astype(np.float32)
    bad = np.isinf(out) | (np.isnan(out) if not allow_nan else False)
    if np.any(bad):
        frames = int(bad.reshape(len(out), -1).any(-1).sum()) if out.ndim == 3 else 1
        raise HtpEdgeError(f"{what}: {frames} frame(s) contain NaN or inf. Expected finite pixel coordinates. "
                           f"Mark missing joints with confidence 0 instead.")
    return out


def as_keypoints(x, what: str = "keypoints", allow_nan: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(T, K, 2) or (T, K, 3 with confidence) -> (xy float32 (T, K, 2), confidence (T, K)); K is
    the joint count of a supported layout (17 for H36M/COCO; :func:`to_h36m` checks the format's)."""
    arr = numeric_array(x, what, "(T, 17, 2) or (T, 17, 3)")
    if arr.ndim != 3 or arr.shape[-1] not in (2, 3):
        raise HtpEdgeError(f"{what}: wrong shape. Expected (T, 17, 2) or (T, 17, 3), got {tuple(arr.shape)}.")
    if arr.shape[1] not in JOINT_COUNTS:
        raise HtpEdgeError(f"{what}: wrong joint count. Expected 17 joints (H36M or COCO order) or the joint count "
                           f"of another supported layout ({', '.join(map(str, JOINT_COUNTS))}), got {arr.shape[1]}.")
    if arr.shape[0] == 0:
        raise HtpEdgeError(f"{what}: empty sequence. Expected at least 1 frame, got 0.")
    arr = check_pixels(arr, what, allow_nan)
    conf = arr[..., 2] if arr.shape[-1] == 3 else np.ones(arr.shape[:2], np.float32)
    return arr[..., :2], conf


def to_h36m(xy: np.ndarray, conf: np.ndarray, fmt: str) -> tuple[np.ndarray, np.ndarray]:
    """Detector keypoints (..., K, 2) and confidences (..., K) in layout ``fmt`` (one of
    :data:`FORMATS`, see :mod:`htp_edge.pose.layouts`) -> H36M-17 (..., 17, 2) and (..., 17)."""
    if fmt == "h36m" and np.shape(xy)[-2:-1] == (17,):
        return xy, conf
    out = layout_to_h36m(np.concatenate([xy, conf[..., None]], axis=-1), fmt)  # (..., K, 3) -> (..., 17, 3)
    return out[..., :2].astype(np.float32), out[..., 2].astype(np.float32)


def fill_missing(xy: np.ndarray, conf: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Linearly interpolate joints with confidence <= threshold (or NaN) over time; hold at the ends."""
    xy = xy.copy()
    missing = (conf <= threshold) | np.isnan(xy).any(-1)  # (T, J)
    t = np.arange(len(xy))
    for j in np.flatnonzero(missing.any(0)):
        ok = ~missing[:, j]
        if not ok.any():
            xy[:, j] = np.nan_to_num(xy[:, j])  # a joint never seen: filled from the pelvis below
            continue
        for c in range(2):
            xy[:, j, c] = np.interp(t, t[ok], xy[ok, j, c])
    never = ~(~missing).any(0)
    if never.any() and not never.all():
        xy[:, never] = xy[:, [int(np.flatnonzero(~never)[0])]]
    return xy


def load_keypoint_file(path: str | Path) -> np.ndarray:
    """Read a .npy or .npz keypoint array; .npz takes 'keypoints' or its only array."""
    path = Path(path)
    if not path.is_file():
        raise HtpEdgeError(f"input: file not found: {str(path)!r}. Expected a .npy/.npz keypoint array.")
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - numpy raises many types for foreign files
        raise HtpEdgeError(f"input: cannot read {path.name} as .npy/.npz ({type(exc).__name__}). "
                           f"Expected a (T, 17, 2) or (T, 17, 3) array saved with numpy.") from None
    if isinstance(data, np.lib.npyio.NpzFile):
        keys = list(data.files)
        key = "keypoints" if "keypoints" in keys else (keys[0] if len(keys) == 1 else None)
        if key is None:
            raise HtpEdgeError(f"input: {path.name} holds {keys}. Expected one array or one named 'keypoints'.")
        return data[key]
    return data
