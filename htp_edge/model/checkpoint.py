"""Checkpoints in D3DP's layout, strict loading, and the bundled small checkpoints (torch).

Layout: ``{'epoch', 'lr', 'random_state', 'optimizer', 'model_pos'}`` where every key of
``model_pos`` starts with ``module.`` (D3DP trains under DataParallel), the denoiser's under
``module.pose_estimator.``; the 12 float64 diffusion buffers sit beside it. htp-edge adds an
``htp_edge`` entry with the architecture and training record; D3DP's own files lack it, so the
architecture is then read off the tensor shapes.
"""
from __future__ import annotations

import contextlib
import dataclasses
import warnings
from pathlib import Path
from typing import Any

from htp_edge.artifacts.naming import BUNDLED, bundled_checkpoint
from htp_edge.errors import HtpEdgeError
from htp_edge.model.config import ModelConfig, PruningConfig, preset

PREFIX = "module."


def config_to_dict(cfg: ModelConfig) -> dict:
    return dataclasses.asdict(cfg)


def config_from_dict(d: dict) -> ModelConfig:
    d = dict(d)
    pruning = d.pop("pruning", None)
    return ModelConfig(**d, pruning=PruningConfig(**pruning) if pruning else None)


def resolve_checkpoint(name_or_path: str | Path) -> Path:
    """A bundled name (``d3dp-small``, ``htp-small``) or a path -> an existing file path."""
    if str(name_or_path) in BUNDLED:
        path = bundled_checkpoint(str(name_or_path))
        if not path.is_file():
            raise HtpEdgeError(f"checkpoint: bundled checkpoint {name_or_path!r} is missing from the package "
                               f"(expected {path}). Reinstall htp_edge.")
        return path
    path = Path(name_or_path)
    if not path.is_file():
        raise HtpEdgeError(f"checkpoint: file not found. Expected a bundled name ({', '.join(BUNDLED)}) "
                           f"or a .pt/.bin file, got {str(name_or_path)!r}.")
    return path


def _numpy_safe_globals() -> list:
    """The numpy globals a D3DP checkpoint's ``random_state`` needs, for torch's weights-only loader.

    D3DP saves ``np.random.RandomState.get_state()``: ('MT19937', uint32 ndarray, int, int, float).
    Its pickle names ``_reconstruct`` (``numpy.core.multiarray`` when written by numpy 1.x,
    ``numpy._core.multiarray`` by numpy 2.x), ``ndarray`` and ``dtype``, and BUILDs a uint32
    dtype (``numpy.dtypes.UInt32DType`` on numpy >= 1.25). Nothing else is admitted.
    """
    import numpy as np

    from htp_edge.artifacts.safe_pickle import numpy_multiarray
    reconstruct = numpy_multiarray()._reconstruct
    return [(reconstruct, "numpy.core.multiarray._reconstruct"), (reconstruct, "numpy._core.multiarray._reconstruct"),
            np.ndarray, np.dtype, type(np.dtype(np.uint32))]


_REFUSED_PATTERNS = (
    r"GLOBAL (\S+) was not an allowed global",  # a global outside the allow-list
    r"unsupported GLOBAL (\S+) whose module",  # a blocklisted module (os, posix, subprocess, ...)
    r"reduce for unrecognized function (.+?)(?: which belongs to|$)",
    r"(?:create new object for|Can only build).* but got (.+)$",
)


def _refused_global(message: str) -> str | None:
    """The global torch's weights-only unpickler refused, from its error message (or None)."""
    import re
    for pattern in _REFUSED_PATTERNS:
        found = re.search(pattern, message, re.MULTILINE)
        if found:
            name = found.group(1).strip().strip("<>").removeprefix("class ").strip("'")
            return name if "." in name or " " in name else f"builtins.{name}"  # torch drops "builtins."
    return None


def _weights_only_detail(message: str) -> str:
    """The informative line of torch's weights-only error (it wraps it in paragraphs of advice)."""
    tail = message.split("WeightsUnpickler error:", 1)[-1]
    lines = [ln.strip() for ln in tail.splitlines() if ln.strip() and "Weights only load failed" not in ln
             and not ln.strip().startswith("Check the documentation")]
    return (lines[0] if lines else message.strip().splitlines()[0])[:160]


def read_checkpoint(path: Path) -> dict:
    """torch.load a checkpoint file weights-only; one clear error if it is refused or not a checkpoint.

    Only tensors, containers, numbers and D3DP's numpy ``random_state`` (:func:`_numpy_safe_globals`)
    load; a pickle needing any other global could execute code, so it is refused unless the user
    opted in with ``HTP_EDGE_TRUST_PICKLE=1`` (then: a one-line warning and a full load).
    """
    import pickle

    import torch

    from htp_edge.artifacts.safe_pickle import TRUST_HINT, TRUST_PICKLE_ENV, trust_pickle_enabled, warn_full_unpickle
    path = Path(path)
    expected = "Expected a D3DP-layout .pt/.bin file"
    with open(path, "rb") as handle:
        if handle.read(6) == b"\x93NUMPY":
            raise HtpEdgeError(f"checkpoint: refused {path}: it is a NumPy .npy file, not a PyTorch checkpoint. "
                               f"{expected}.")
    allow = getattr(torch.serialization, "safe_globals", None)  # torch >= 2.5; before, tensors only
    try:
        with allow(_numpy_safe_globals()) if allow else contextlib.nullcontext(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Detected pickle protocol")  # a foreign pickle: refused below
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        message = str(exc)
        if "Weights only load failed" not in message:
            raise HtpEdgeError(f"checkpoint: {path} is not a readable PyTorch checkpoint (corrupt or foreign "
                               f"file). {expected}.") from None
        refused = _refused_global(message)
    except Exception as exc:  # noqa: BLE001 - corrupt, truncated or foreign file
        raise HtpEdgeError(f"checkpoint: {path} is not a readable PyTorch checkpoint ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0][:160] if str(exc) else ''}). {expected}.") from None
    if not trust_pickle_enabled():
        if refused is None:
            raise HtpEdgeError(f"checkpoint: {path} is not a readable PyTorch checkpoint (a weights-only load "
                               f"cannot parse it: {_weights_only_detail(message)}). {expected}; if it is "
                               f"a pickle you trust, set {TRUST_PICKLE_ENV}=1 (or pass --trust-pickle).")
        raise HtpEdgeError(f"checkpoint: refused {path}: its pickle needs the Python global {refused}, which is "
                           f"not allowed because unpickling it could execute code. {TRUST_HINT}.")
    warn_full_unpickle(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001
        raise HtpEdgeError(f"checkpoint: {path} is not a readable PyTorch checkpoint ({type(exc).__name__}). "
                           f"{expected}.") from None


def model_state(ckpt: Any, path: Path) -> dict:
    """The ``model_pos`` state dict without the ``module.`` prefix."""
    if not isinstance(ckpt, dict) or "model_pos" not in ckpt:
        keys = list(ckpt)[:6] if isinstance(ckpt, dict) else type(ckpt).__name__
        raise HtpEdgeError(f"checkpoint: {path} is not in D3DP's layout. Expected a dict with 'model_pos', got {keys}.")
    state = ckpt["model_pos"]
    return {k[len(PREFIX):] if k.startswith(PREFIX) else k: v for k, v in state.items()}


def infer_config(state: dict, name: str = "d3dp") -> ModelConfig:
    """Architecture of a D3DP checkpoint from its tensor shapes (heads: 8, D3DP's value)."""
    key = "pose_estimator.Temporal_pos_embed"
    if key not in state:
        raise HtpEdgeError(f"checkpoint: missing key {key!r}; cannot tell the architecture. "
                           f"Expected a D3DP MixSTE2 state dict.")
    frames, dim = state[key].shape[1:]
    joints = state["pose_estimator.Spatial_pos_embed"].shape[1]
    depth = len({k.split(".")[2] for k in state if k.startswith("pose_estimator.STEblocks.")})
    hidden = state["pose_estimator.STEblocks.0.mlp.fc1.weight"].shape[0]
    heads = 8 if dim % 8 == 0 else 1
    return dataclasses.replace(preset(name), frames=int(frames), joints=int(joints), embed_dim=int(dim),
                               depth=depth, num_heads=heads, mlp_ratio=hidden / dim)


def check_keys(model_state_dict: dict, state: dict, allow_missing: tuple[str, ...] = ()) -> None:
    """Refuse missing, unexpected and mis-shaped keys, naming them."""
    expected = {k: tuple(v.shape) for k, v in model_state_dict.items()}
    missing = [k for k in expected if k not in state and not k.startswith(allow_missing)]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k} {tuple(state[k].shape)} != {expected[k]}" for k in state
              if k in expected and tuple(state[k].shape) != expected[k]]
    problems = []
    for label, items in (("missing keys", missing), ("unexpected keys", unexpected), ("mis-shaped keys", shapes)):
        if items:
            more = f" (+{len(items) - 5} more)" if len(items) > 5 else ""
            problems.append(f"{label}: {', '.join(items[:5])}{more}")
    if problems:
        raise HtpEdgeError("checkpoint: does not match the model. " + "; ".join(problems)
                           + ". Check --model / the architecture flags.")


def load_model(checkpoint: str | Path, model: str | None = None, frames: int | None = None):
    """Load a checkpoint (bundled name or path) into a :class:`DiffusionPoseModel` in eval mode.

    ``model`` (``d3dp``/``htp`` or a preset name) overrides the stored architecture; loading a
    D3DP checkpoint into ``htp`` initialises every shared weight and leaves HTP's new ones fresh.
    Returns ``(model, meta)`` where meta is the checkpoint's ``htp_edge`` record (or {}).
    """
    from htp_edge.model.denoiser import DiffusionPoseModel

    path = resolve_checkpoint(checkpoint)
    ckpt = read_checkpoint(path)
    state = model_state(ckpt, path)
    meta = ckpt.get("htp_edge") or {}
    cfg = config_from_dict(meta["config"]) if "config" in meta else infer_config(state)
    allow: tuple[str, ...] = ()
    if model is not None and not cfg.name.startswith(model.split("-")[0]):
        base = preset(model)
        cfg = dataclasses.replace(base.with_frames(cfg.frames), joints=cfg.joints, embed_dim=cfg.embed_dim,
                                  depth=cfg.depth, num_heads=cfg.num_heads, mlp_ratio=cfg.mlp_ratio)
        allow = pruning_param_prefixes()
    if frames is not None and frames != cfg.frames:
        raise HtpEdgeError(f"checkpoint: {path.name} was trained for {cfg.frames} frames. Expected --frames "
                           f"{cfg.frames} (or omit it), got {frames}.")
    net = DiffusionPoseModel(cfg)
    check_keys(net.state_dict(), state, allow)
    net.load_state_dict(state, strict=not allow)
    return net.eval(), meta


def pruning_param_prefixes() -> tuple[str, ...]:
    """State-dict prefixes of the weights only the pruning stages have (the rest is D3DP's backbone)."""
    return tuple(f"pose_estimator.{n}" for n in ("sft_distance_bias", "mgptp.", "tra."))


def _to_cpu(value):
    """Tensors in a (nested) state moved to the CPU, so a GPU run's file loads anywhere."""
    import torch
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return value


def save_checkpoint(path: Path, net, epoch: int = 0, lr: float = 0.0, optimizer: dict | None = None,
                    record: dict | None = None) -> Path:
    """Write ``net`` in D3DP's layout (atomically), with the htp-edge record beside it."""
    import torch

    from htp_edge.artifacts.files import atomic_write
    ckpt = {
        "epoch": epoch, "lr": lr, "random_state": None, "optimizer": _to_cpu(optimizer),
        "model_pos": {PREFIX + k: v for k, v in _to_cpu(net.state_dict()).items()},
        "htp_edge": {"config": config_to_dict(net.config), **(record or {})},
    }
    path = Path(path)
    atomic_write(path, lambda handle: torch.save(ckpt, handle))
    return path


def random_checkpoint(cfg) -> Path:
    """A seeded (seed 0) random-weights checkpoint of model config ``cfg`` in the user cache, written
    once: what timing runs use for presets with no trained weights."""
    import torch

    from htp_edge.artifacts.cache import default_cache_dir
    from htp_edge.model.denoiser import DiffusionPoseModel
    path = default_cache_dir() / "random" / f"{cfg.tag()}_seed0.pt"
    if not path.is_file():
        torch.manual_seed(0)
        save_checkpoint(path, DiffusionPoseModel(cfg))
    return path
