"""Checkpoints in D3DP's layout, strict loading, and the bundled small checkpoints (torch).

Layout: ``{'epoch', 'lr', 'random_state', 'optimizer', 'model_pos'}`` where every key of
``model_pos`` starts with ``module.`` (D3DP trains under DataParallel), the denoiser's under
``module.pose_estimator.``; the 12 float64 diffusion buffers sit beside it. htp-edge adds an
``htp_edge`` entry with the architecture and training record; D3DP's own files lack it, so the
architecture is then read off the tensor shapes.
"""
from __future__ import annotations

import dataclasses
import sys
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


def read_checkpoint(path: Path) -> dict:
    """torch.load a checkpoint file, weights-only first; one clear error if it is not one."""
    import pickle

    import torch
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Weights only load failed" not in str(exc):  # D3DP stores a numpy RandomState tuple
            raise HtpEdgeError(f"checkpoint: {path} is not a readable PyTorch checkpoint (corrupt or foreign "
                               f"file). Expected a D3DP-layout .pt/.bin file.") from None
    except Exception as exc:  # noqa: BLE001 - corrupt, truncated or foreign file
        raise HtpEdgeError(f"checkpoint: {path} is not a readable PyTorch checkpoint ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0][:160]}). Expected a D3DP-layout .pt/.bin file.") from None
    print(f"htp-edge: warning: {path.name} holds non-tensor Python objects; loading it with full unpickling "
          f"(only do this for files you trust)", file=sys.stderr)
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001
        raise HtpEdgeError(f"checkpoint: {path} is not a readable PyTorch checkpoint ({type(exc).__name__}).") from None


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
        allow = _new_param_prefixes()
    if frames is not None and frames != cfg.frames:
        raise HtpEdgeError(f"checkpoint: {path.name} was trained for {cfg.frames} frames. Expected --frames "
                           f"{cfg.frames} (or omit it), got {frames}.")
    net = DiffusionPoseModel(cfg)
    check_keys(net.state_dict(), state, allow)
    net.load_state_dict(state, strict=not allow)
    return net.eval(), meta


def _new_param_prefixes() -> tuple[str, ...]:
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
