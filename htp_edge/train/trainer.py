"""A small, resumable, deterministic training loop (torch)."""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from htp_edge.errors import HtpEdgeError


@dataclass(frozen=True)
class TrainConfig:
    """AdamW with linear warm-up and cosine decay; an epoch is ``iters_per_epoch`` random batches."""

    model: str = "htp-small"
    epochs: int = 10
    iters_per_epoch: int = 200
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_iters: int = 100
    grad_clip: float = 1.0
    drop_path_rate: float = 0.0
    seed: int = 0
    threads: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        for key in ("epochs", "iters_per_epoch", "batch_size"):
            if getattr(self, key) < 1:
                raise HtpEdgeError(f"train: {key} must be >= 1, got {getattr(self, key)}.")
        if not self.lr > 0:
            raise HtpEdgeError(f"train: lr must be positive, got {self.lr}.")
        if self.device != "cpu" and self.device.split(":")[0] != "cuda":
            raise HtpEdgeError(f"train: unknown device. Expected cpu, cuda or cuda:N, got {self.device!r}.")

    @property
    def total_iters(self) -> int:
        return self.epochs * self.iters_per_epoch

    def lr_at(self, it: int) -> float:
        if it < self.warmup_iters:
            return self.lr * (it + 1) / self.warmup_iters
        frac = (it - self.warmup_iters) / max(self.total_iters - self.warmup_iters, 1)
        return self.lr * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0)))


Batches = Callable[[np.random.Generator], Iterator[tuple[np.ndarray, np.ndarray]]]


def train(cfg: TrainConfig, batches: Batches, out: Path, resume: bool = False,
          progress: bool = True, evaluate: Callable | None = None, model_config=None,
          data_record: dict | None = None, init: str | Path | None = None) -> dict:
    """Train ``cfg.model`` (or ``model_config``) on ``batches(rng)`` (x2d (B,F,J,2), x3d (B,F,J,3));
    checkpoint each epoch. ``data_record`` (e.g. the augmentation settings) is stored with it.

    ``init`` (a bundled name or a checkpoint of the same architecture) warm-starts the weights:
    a fresh optimizer and schedule continue from them (fine-tuning, or more training compute for
    a finished run). Its provenance is kept in the record. ``resume`` from an existing ``out``
    takes precedence (its weights already include the warm start)."""
    import dataclasses

    import torch

    from htp_edge.model.checkpoint import load_model, save_checkpoint
    from htp_edge.model.config import preset
    from htp_edge.model.denoiser import DiffusionPoseModel
    from htp_edge.train.objective import DiffusionObjective
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = _torch_device(cfg.device)
    torch.manual_seed(cfg.seed)
    model_cfg = dataclasses.replace(model_config or preset(cfg.model), drop_path_rate=cfg.drop_path_rate)
    net = DiffusionPoseModel(model_cfg).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    start_epoch, history, init_record = 0, [], None
    out = Path(out)
    if resume and out.is_file():
        start_epoch, history, init_record = _resume(out, net, opt, cfg)
    elif init is not None:
        init_record = warm_start(net, init)
    objective = DiffusionObjective(device)
    gen = torch.Generator().manual_seed(cfg.seed + 7919 * start_epoch)
    rng = np.random.default_rng([cfg.seed, start_epoch])
    stream = batches(rng)
    setup = {"train_config": dataclasses.asdict(cfg), "data": data_record or {}, "history": history}
    if init_record is not None:
        setup["init"] = init_record
    t_start = time.time()
    for epoch in range(start_epoch, cfg.epochs):
        net.train()
        losses = _run_epoch(cfg, net, opt, objective, stream, gen, epoch, progress, device)
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "seconds": round(time.time() - t_start, 1)})
        save_checkpoint(out, net, epoch=epoch + 1, lr=cfg.lr_at((epoch + 1) * cfg.iters_per_epoch - 1),
                        optimizer=opt.state_dict(), record={**setup, "final_loss": history[-1]["loss"]})
    net.eval()
    result = {"epochs": cfg.epochs, "final_loss": history[-1]["loss"] if history else None, "checkpoint": str(out),
              "history": history}
    if evaluate is not None:
        result.update(evaluate(out))
        final, _ = load_model(out)
        save_checkpoint(out, final, epoch=cfg.epochs, lr=0.0, optimizer=None,
                        record={**setup, "final_loss": result["final_loss"],
                                **{k: v for k, v in result.items() if k.startswith("val_")}})
    return result


def _torch_device(name: str):
    """``cfg.device`` as a torch.device; one clear error when CUDA is asked for but absent."""
    import torch
    if name != "cpu" and not torch.cuda.is_available():
        raise HtpEdgeError(f"train: --device {name} needs a CUDA GPU and a CUDA build of torch. Expected "
                           f"torch.cuda.is_available(), got False (torch {torch.__version__}). Use --device cpu.")
    return torch.device(name)


def _run_epoch(cfg, net, opt, objective, stream, gen, epoch, progress, device) -> list[float]:
    import torch
    from tqdm import tqdm
    losses = []
    bar = tqdm(range(cfg.iters_per_epoch), desc=f"epoch {epoch + 1}/{cfg.epochs}", file=sys.stderr,
               disable=not progress, leave=False)
    for i in bar:
        it = epoch * cfg.iters_per_epoch + i
        for group in opt.param_groups:
            group["lr"] = cfg.lr_at(it)
        x2d, x3d = next(stream)
        x2d, x3d = torch.as_tensor(x2d).to(device), torch.as_tensor(x3d).to(device)
        loss = objective.loss(net.pose_estimator, x2d, x3d, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
        opt.step()
        losses.append(loss.item())
        if i % 10 == 0:
            bar.set_postfix(mpjpe_mm=f"{np.mean(losses[-50:]) * 1000:.1f}")
    if progress:
        print(f"epoch {epoch + 1}/{cfg.epochs}: train MPJPE {np.mean(losses) * 1000:.1f} mm", file=sys.stderr)
    return losses


def warm_start(net, init: str | Path) -> dict:
    """Load ``init``'s weights into ``net`` (same architecture); returns its provenance record:
    the source, its sha256 and the training record that produced it (chained for warm starts)."""
    from htp_edge.artifacts.files import sha256_file
    from htp_edge.model.checkpoint import check_keys, model_state, read_checkpoint, resolve_checkpoint
    path = resolve_checkpoint(init)
    ckpt = read_checkpoint(path)
    state = model_state(ckpt, path)
    try:
        check_keys(net.state_dict(), state)
    except HtpEdgeError as exc:
        raise HtpEdgeError(f"train: --init {init} cannot start {net.config.name}: {exc}") from None
    net.load_state_dict(state, strict=True)
    meta = ckpt.get("htp_edge") or {}
    record = {"checkpoint": str(init), "sha256": sha256_file(path),
              "epoch": int(ckpt.get("epoch", 0))}
    record.update({k: meta[k] for k in ("train_config", "data", "init") if k in meta})
    print(f"train: warm start from {path.name} (epoch {record['epoch']})", file=sys.stderr)
    return record


def _resume(out: Path, net, opt, cfg: TrainConfig):
    """Load ``out``'s weights and optimizer; returns (epoch, history, warm-start record or None)."""
    from htp_edge.model.checkpoint import model_state, read_checkpoint
    ckpt = read_checkpoint(out)
    net.load_state_dict(model_state(ckpt, out), strict=True)
    if ckpt.get("optimizer"):
        opt.load_state_dict(ckpt["optimizer"])
    meta = ckpt.get("htp_edge") or {}
    print(f"train: resuming {out.name} after epoch {ckpt.get('epoch', 0)}", file=sys.stderr)
    return int(ckpt.get("epoch", 0)), meta.get("history", []), meta.get("init")
