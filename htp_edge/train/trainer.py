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

# Settings a resumed run may change: the epoch count (train longer) and where it runs; a changed
# device or thread count is allowed but the continuation is then not bit for bit the same.
RESUME_MAY_CHANGE = ("epochs",)
EXECUTION_SETTINGS = ("threads", "device")
# record key -> the `htp-edge train` flag that sets it (other keys are named as they are stored)
FLAGS = {"model": "--model", "iters_per_epoch": "--iters-per-epoch", "batch_size": "--batch-size", "lr": "--lr",
         "weight_decay": "--weight-decay", "drop_path_rate": "--drop-path", "seed": "--seed",
         "data.workers": "--workers", "data.augment.part_mix_prob": "--part-mix",
         "data.augment.rotation_deg": "--limb-rotation", "data.augment.rotation_prob": "--limb-rotation",
         "data.augment.tilt_deg": "--tilt", "data.augment.tilt_prob": "--tilt"}


def train(cfg: TrainConfig, batches: Batches, out: Path, resume: bool = False,
          progress: bool = True, evaluate: Callable | None = None, model_config=None,
          data_record: dict | None = None, init: str | Path | None = None) -> dict:
    """Train ``cfg.model`` (or ``model_config``) on ``batches(rng)`` (x2d (B,F,J,2), x3d (B,F,J,3));
    checkpoint each epoch. ``data_record`` (e.g. the augmentation settings) is stored with it.

    ``init`` (a bundled name or a checkpoint of the same architecture) warm-starts the weights:
    a fresh optimizer and schedule continue from them (fine-tuning, or more training compute for
    a finished run). Its provenance is kept in the record. ``resume`` from an existing ``out``
    takes precedence (its weights already include the warm start).

    Resuming is exact: each checkpoint holds, beside the weights and AdamW's state, every random
    state the next epoch draws from (see :func:`rng_state`), and a resumed run continues from them,
    so a killed and resumed run ends with the uninterrupted run's weights bit for bit (same device
    and thread count). A resume with other settings than the checkpoint's record is refused,
    except ``epochs``. The batch stream is restored if it has ``state()``/``restore(state)``
    (:func:`htp_edge.train.data.motion_batches` streams do); otherwise only the ``rng`` given to
    ``batches`` is (exact for a stream that draws from it as it goes)."""
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
    start_epoch, history, init_record, saved_rng = 0, [], None, None
    out = Path(out)
    if resume and out.is_file():
        start_epoch, history, init_record, saved_rng = _resume(out, net, opt, cfg, model_cfg, data_record or {})
    elif init is not None:
        init_record = warm_start(net, init)
    objective = DiffusionObjective(device)
    gen = torch.Generator().manual_seed(cfg.seed + 7919 * start_epoch)
    rng = np.random.default_rng([cfg.seed, start_epoch])
    stream = batches(rng)
    if saved_rng is not None:
        restore_rng_state(saved_rng, gen, rng, stream, device)
    elif start_epoch:
        print(f"train: warning: {out.name} holds no random states (an older checkpoint); the resumed run draws "
              f"other batches and noise than an uninterrupted run would", file=sys.stderr)
    setup = {"train_config": dataclasses.asdict(cfg), "data": data_record or {}, "history": history}
    if init_record is not None:
        setup["init"] = init_record
    t_start = time.time()
    try:
        for epoch in range(start_epoch, cfg.epochs):
            net.train()
            losses = _run_epoch(cfg, net, opt, objective, stream, gen, epoch, progress, device)
            history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)),
                            "seconds": round(time.time() - t_start, 1)})
            saved_rng = rng_state(gen, rng, stream, device)
            save_checkpoint(out, net, epoch=epoch + 1, lr=cfg.lr_at((epoch + 1) * cfg.iters_per_epoch - 1),
                            optimizer=opt.state_dict(),
                            record={**setup, "final_loss": history[-1]["loss"], "rng": saved_rng})
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    net.eval()
    result = {"epochs": cfg.epochs, "final_loss": history[-1]["loss"] if history else None, "checkpoint": str(out),
              "history": history}
    if evaluate is not None:
        result.update(evaluate(out))
        final, _ = load_model(out)
        record = {**setup, "final_loss": result["final_loss"],
                  **{k: v for k, v in result.items() if k.startswith("val_")}}
        if saved_rng is not None:
            record["rng"] = saved_rng
        save_checkpoint(out, final, epoch=cfg.epochs, lr=0.0, optimizer=None, record=record)
    return result


def rng_state(gen, rng: np.random.Generator, stream, device) -> dict:
    """Every random state training draws from, as safe-loadable values (tensors, ints, strings):

    * ``noise``: the CPU torch generator of the diffusion objective (timesteps t and noise eps);
    * ``torch_cpu`` (and ``torch_cuda`` on a GPU): torch's global generators, which stochastic
      depth (``DropPath``'s bernoulli mask) draws from on the model's device;
    * ``batches_rng``: the numpy Generator handed to ``batches`` (a JSON string: PCG64's state
      is 128-bit ints);
    * ``stream``: the batch stream's position (``stream.state()``: the sampler's Generator state
      and the batch count; per worker with ``--workers``), or None if it has none.

    Python's ``random`` and numpy's global RandomState are not drawn from in training (and not
    seeded), so there is nothing of theirs to carry."""
    import torch

    from htp_edge.train.data import generator_state
    state = {"noise": gen.get_state(), "torch_cpu": torch.get_rng_state(), "batches_rng": generator_state(rng),
             "stream": stream.state() if hasattr(stream, "state") else None}
    if device.type == "cuda":
        state["torch_cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng_state(state: dict, gen, rng: np.random.Generator, stream, device) -> None:
    """Put the generators and the batch stream back where :func:`rng_state` found them."""
    import torch

    from htp_edge.train.data import set_generator_state
    gen.set_state(state["noise"])
    set_generator_state(rng, state["batches_rng"])
    if state.get("stream") is not None:
        if not hasattr(stream, "restore"):
            raise HtpEdgeError("train: the checkpoint holds its batch stream's position but these batches cannot "
                               "restore one. Expected a stream with state()/restore(), e.g. motion_batches().")
        stream.restore(state["stream"])
    torch.set_rng_state(state["torch_cpu"])
    if device.type == "cuda" and "torch_cuda" in state:
        torch.cuda.set_rng_state(state["torch_cuda"], device)


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


def _resume(out: Path, net, opt, cfg: TrainConfig, model_cfg, data_record: dict):
    """Check the settings against ``out``'s record, load its weights and optimizer; returns
    (epoch, history, warm-start record or None, random states or None)."""
    from htp_edge.model.checkpoint import model_state, read_checkpoint
    ckpt = read_checkpoint(out)
    meta = ckpt.get("htp_edge") or {}
    _check_same_run(out, meta, cfg, model_cfg, data_record)
    net.load_state_dict(model_state(ckpt, out), strict=True)
    if ckpt.get("optimizer"):
        opt.load_state_dict(ckpt["optimizer"])
    elif int(ckpt.get("epoch", 0)) < cfg.epochs:
        print(f"train: warning: {out.name} holds no optimizer state (a finished, evaluated run drops it); AdamW "
              f"starts afresh", file=sys.stderr)
    print(f"train: resuming {out.name} after epoch {ckpt.get('epoch', 0)}", file=sys.stderr)
    return int(ckpt.get("epoch", 0)), meta.get("history", []), meta.get("init"), meta.get("rng")


def _check_same_run(out: Path, meta: dict, cfg: TrainConfig, model_cfg, data_record: dict) -> None:
    """Refuse to resume with other settings than the record's (one line naming each flag)."""
    import dataclasses

    from htp_edge.model.checkpoint import config_to_dict
    if "train_config" not in meta:  # not written by train(): nothing to compare
        return
    now = {**dataclasses.asdict(cfg), "data": data_record}
    then = {**meta["train_config"], "data": meta.get("data") or {}}
    differing = _differing(_flat(now), _flat(then))
    diffs = {}
    for key, (value, saved) in differing.items():
        if key in RESUME_MAY_CHANGE or key in EXECUTION_SETTINGS:
            continue
        flag = FLAGS.get(key, key)
        if flag not in diffs or key.endswith("_deg"):  # --limb-rotation/--tilt: show the angle
            diffs[flag] = f"{flag} {_show(value)} (checkpoint {_show(saved)})"
    if "config" in meta and "--model" not in diffs:
        arch = _differing(_flat(config_to_dict(model_cfg)), _flat(meta["config"]))
        arch.pop("drop_path_rate", None)  # the --drop-path flag, compared above
        if arch:
            diffs["--model"] = "--model architecture " + ", ".join(
                f"{k} {_show(v)} (checkpoint {_show(s)})" for k, (v, s) in arch.items())
    if diffs:
        raise HtpEdgeError(f"train: --resume {out.name} was started with other settings: {', '.join(diffs.values())}. "
                           f"Expected the flags it was started with (only --epochs may change), or another --out "
                           f"for a new run.")
    moved = {k: (v, s) for k, (v, s) in differing.items() if k in EXECUTION_SETTINGS}
    if moved:
        print(f"train: warning: resuming {out.name} with " + ", ".join(
            f"{k} {_show(v)} (checkpoint {_show(s)})" for k, (v, s) in moved.items())
            + "; the continuation is not bit for bit the uninterrupted run's", file=sys.stderr)


_MISSING = "<unset>"


def _flat(d: dict, prefix: str = "") -> dict:
    """Nested dicts -> {'a.b': value}; tuples as lists (a record round-trips through torch.save)."""
    out = {}
    for key, value in d.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = list(value) if isinstance(value, tuple) else value
    return out


def _differing(now: dict, then: dict) -> dict:
    return {k: (now.get(k, _MISSING), then.get(k, _MISSING)) for k in list(now) + [k for k in then if k not in now]
            if now.get(k, _MISSING) != then.get(k, _MISSING)}


def _show(value) -> str:
    return value if isinstance(value, str) else repr(value)
