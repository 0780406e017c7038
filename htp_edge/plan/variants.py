"""A checkpoint at other pruning counts, without retraining (torch).

Which weights depend on n1 and f (see :mod:`htp_edge.model.pruning`):

* ``n1`` (TCEP's kept frames): none. TCEP is parameter-free, the SFT bias is a table over the
  original frame distance (F entries) and the token recovery's query has F rows, so a checkpoint
  runs at any n1 with its own weights, unchanged.
* ``f`` (MGPTP's kept tokens): only MGPTP's positional embedding of the kept tokens, (1, f, C):
  the i-th kept token (in temporal order) gets row i. At another f it is resampled linearly
  along the token axis (first and last rows kept), like a ViT's position embedding at another
  resolution. This is an approximation: the measured MPJPE of the point shows what it costs.
  With f = n1 MGPTP keeps everything and is switched off (its embedding is dropped).

n1 = f = F (no pruning at all) is refused: the token recovery the checkpoint was trained with
would be dropped and the network would no longer be the one that was trained.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from htp_edge.errors import HtpEdgeError

POS_EMBED = "pose_estimator.mgptp.pos_embed_token"


@dataclass(frozen=True)
class CheckpointInfo:
    """What the planner needs to know about a checkpoint."""

    source: str          # as given: a bundled name or a path
    path: str            # the resolved file
    sha256: str
    model: str           # the architecture name in its record (htp-small, d3dp, ...)
    frames: int
    n1: int | None       # trained pruning counts (None without pruning)
    f: int | None

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    def is_trained(self, n1: int | None, f: int | None) -> bool:
        return (n1, f) == (self.n1, self.f)


def describe(checkpoint: str, cache_folder: Path | None = None) -> CheckpointInfo:
    """Resolve a bundled name or path and read its architecture; with ``cache_folder`` the
    architecture is remembered by the file's sha256, so a cached run needs no torch."""
    from htp_edge.artifacts.files import atomic_write_json, sha256_file
    from htp_edge.model.checkpoint import resolve_checkpoint
    path = resolve_checkpoint(checkpoint)
    sha = sha256_file(path)
    known = Path(cache_folder) / f"checkpoint_{sha[:24]}.json" if cache_folder is not None else None
    if known is not None and known.is_file():
        import json
        arch = json.loads(known.read_text(encoding="utf-8"))
        if arch.get("sha256") == sha:
            return CheckpointInfo(source=str(checkpoint), path=str(path), **arch)
    info = _read_architecture(checkpoint, path, sha)
    if known is not None:
        atomic_write_json(known, {k: v for k, v in info.to_json().items() if k not in ("source", "path")})
    return info


def _read_architecture(checkpoint: str, path: Path, sha: str) -> CheckpointInfo:
    cfg = _config(path)
    p = cfg.pruning if cfg.prunes else None
    if p is not None and not (cfg.tcep_active and cfg.mgptp_active):
        raise HtpEdgeError(f"plan: {path.name} prunes with only one of TCEP/MGPTP. Expected both (n1 < F, f < n1) "
                           f"or none, got n1={p.n1}, f={p.f}, F={cfg.frames}.")
    return CheckpointInfo(source=str(checkpoint), path=str(path), sha256=sha, model=cfg.name,
                          frames=cfg.frames, n1=p.n1 if p else None, f=p.f if p else None)


def _config(path: Path):
    from htp_edge.model.checkpoint import load_model
    net, _ = load_model(path)
    return net.config


def variant_path(info: CheckpointInfo, n1: int, f: int, folder: Path) -> Path:
    """Where the variant of ``info`` at (n1, f) is kept."""
    return Path(folder) / f"{Path(info.path).stem}_{info.sha256[:12]}_n{n1}_f{f}.pt"


def variant_checkpoint(info: CheckpointInfo, n1: int | None, f: int | None, folder: Path) -> str:
    """The checkpoint to run at (n1, f): the original for its trained counts, else a variant
    written once into ``folder`` (atomically)."""
    if info.is_trained(n1, f):
        return info.source
    if info.n1 is None:
        raise HtpEdgeError(f"plan: {info.model} has no pruning knobs. Expected no --n1/--f for it, got n1={n1}, f={f}.")
    path = variant_path(info, n1, f, folder)
    if not path.is_file():
        write_variant(info, n1, f, path)
    return str(path)


def write_variant(info: CheckpointInfo, n1: int, f: int, out: Path) -> Path:
    """Load the checkpoint, rebuild it at (n1, f), carry every weight over and save it."""
    from htp_edge.model.checkpoint import load_model, read_checkpoint, save_checkpoint
    from htp_edge.model.denoiser import DiffusionPoseModel
    net, _ = load_model(info.path)
    cfg = net.config
    new_cfg = dataclasses.replace(cfg, pruning=dataclasses.replace(cfg.pruning, n1=n1, f=f))
    new = DiffusionPoseModel(new_cfg)
    new.load_state_dict(adapt_state(net.state_dict(), new.state_dict()), strict=True)
    record = {k: v for k, v in (read_checkpoint(Path(info.path)).get("htp_edge") or {}).items() if k != "config"}
    record["plan_variant"] = {"source": info.source, "source_sha256": info.sha256, "trained_n1": info.n1,
                              "trained_f": info.f, "n1": n1, "f": f,
                              "pos_embed_token": "resampled linearly" if f != info.f else "unchanged"}
    out.parent.mkdir(parents=True, exist_ok=True)
    return save_checkpoint(out, new.eval(), record=record)


def adapt_state(old: dict, new: dict) -> dict:
    """``old`` weights in ``new``'s shapes: equal shapes copied, MGPTP's token embedding resampled,
    weights the new model lacks dropped; a weight only the new model has is an error."""
    out = {}
    for key, target in new.items():
        if key not in old:
            raise HtpEdgeError(f"plan: the variant needs a weight the checkpoint lacks ({key}). Expected only n1/f to "
                               f"change the architecture.")
        value = old[key]
        if tuple(value.shape) != tuple(target.shape):
            if key != POS_EMBED:
                raise HtpEdgeError(f"plan: {key} changes shape with n1/f ({tuple(value.shape)} -> "
                                   f"{tuple(target.shape)}). Expected only {POS_EMBED} to.")
            value = resample_tokens(value, target.shape[1])
        out[key] = value.to(target.dtype)
    return out


def resample_tokens(table, count: int):
    """(1, f, C) -> (1, count, C), linear along the token axis with both end rows kept."""
    import torch.nn.functional as F
    seq = table.detach().transpose(1, 2)  # (1, C, f)
    if seq.shape[-1] == 1:
        return table.detach().expand(1, count, table.shape[-1]).clone()
    out = F.interpolate(seq, size=count, mode="linear", align_corners=True)  # (1, C, count)
    return out.transpose(1, 2).contiguous()  # (1, count, C)
