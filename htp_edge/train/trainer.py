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
    """AdamW with linear warm-up, then cosine decay (``schedule="cosine"``) or the lr times
    ``lr_decay`` after every epoch (``"exp"``, D3DP's); an epoch is ``iters_per_epoch`` random
    batches of ``batch_size`` clips (the global batch, split over the ranks of a distributed run).

    ``recipe`` names the :mod:`htp_edge.train.recipes` setting the values came from; ``loss``
    ``mpjpe2`` backpropagates D3DP's ``loss.backward(loss.detach())``; ``grad_clip`` 0 turns
    clipping off; ``amp`` is the mixed precision (:mod:`htp_edge.train.amp`); ``frames`` (None:
    the preset's) sets the clip length of the ``model`` preset."""

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
    schedule: str = "cosine"
    lr_decay: float = 1.0
    loss: str = "mpjpe"
    amp: str = "off"
    recipe: str = "default"
    frames: int | None = None
    newest_weight: float = 1.0

    def __post_init__(self) -> None:
        from htp_edge.train.amp import check_amp
        from htp_edge.train.recipes import LOSSES, SCHEDULES
        for key in ("epochs", "iters_per_epoch", "batch_size"):
            if getattr(self, key) < 1:
                raise HtpEdgeError(f"train: {key} must be >= 1, got {getattr(self, key)}.")
        if not self.lr > 0:
            raise HtpEdgeError(f"train: lr must be positive, got {self.lr}.")
        if self.device != "cpu" and self.device.split(":")[0] != "cuda":
            raise HtpEdgeError(f"train: unknown device. Expected cpu, cuda or cuda:N, got {self.device!r}.")
        if self.schedule not in SCHEDULES:
            raise HtpEdgeError(f"train: unknown --schedule. Expected one of {', '.join(SCHEDULES)}, "
                               f"got {self.schedule!r}.")
        if self.loss not in LOSSES:
            raise HtpEdgeError(f"train: unknown --loss. Expected one of {', '.join(LOSSES)}, got {self.loss!r}.")
        if not 0 < self.lr_decay <= 1:
            raise HtpEdgeError(f"train: --lr-decay must be in (0, 1], got {self.lr_decay}.")
        if self.warmup_iters < 0 or self.grad_clip < 0:
            raise HtpEdgeError(f"train: bad --warmup/--grad-clip. Expected both >= 0 (0: none), got "
                               f"{self.warmup_iters} and {self.grad_clip}.")
        if self.frames is not None and self.frames < 1:
            raise HtpEdgeError(f"train: --frames must be >= 1, got {self.frames}.")
        if not self.newest_weight > 0:
            raise HtpEdgeError(f"train: --newest-weight must be positive, got {self.newest_weight}.")
        check_amp(self.amp)

    @property
    def total_iters(self) -> int:
        return self.epochs * self.iters_per_epoch

    def lr_at(self, it: int) -> float:
        if it < self.warmup_iters:
            return self.lr * (it + 1) / self.warmup_iters
        if self.schedule == "exp":  # D3DP: constant within an epoch, times lr_decay after each
            return self.lr * self.lr_decay ** (it // self.iters_per_epoch)
        frac = (it - self.warmup_iters) / max(self.total_iters - self.warmup_iters, 1)
        return self.lr * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0)))


Batches = Callable[[np.random.Generator], Iterator[tuple[np.ndarray, np.ndarray]]]

# Settings a resumed run may change: the epoch count (train longer) and where it runs; a changed
# device or thread count is allowed but the continuation is then not bit for bit the same.
RESUME_MAY_CHANGE = ("epochs",)
EXECUTION_SETTINGS = ("threads", "device", "amp", "world_size")
# record key -> the `htp-edge train` flag that sets it (other keys are named as they are stored)
FLAGS = {"model": "--model", "iters_per_epoch": "--iters-per-epoch", "batch_size": "--batch-size", "lr": "--lr",
         "weight_decay": "--weight-decay", "drop_path_rate": "--drop-path", "seed": "--seed",
         "data.workers": "--workers", "data.augment.part_mix_prob": "--part-mix",
         "data.augment.rotation_deg": "--limb-rotation", "data.augment.rotation_prob": "--limb-rotation",
         "data.augment.tilt_deg": "--tilt", "data.augment.tilt_prob": "--tilt", "warmup_iters": "--warmup",
         "grad_clip": "--grad-clip", "schedule": "--schedule", "lr_decay": "--lr-decay", "loss": "--loss",
         "recipe": "--recipe", "frames": "--frames", "amp": "--amp", "world_size": "ranks (torchrun --nproc_per_node)",
         "data.val_clips": "--val-clips"}


def train(cfg: TrainConfig, batches: Batches, out: Path, resume: bool = False,
          progress: bool = True, evaluate: Callable | None = None, model_config=None,
          data_record: dict | None = None, init: str | Path | None = None,
          distributed: bool | None = None, validate: Callable | None = None) -> dict:
    """Train ``cfg.model`` (or ``model_config``) on ``batches(rng)`` (x2d (B,F,J,2), x3d (B,F,J,3));
    checkpoint each epoch. ``data_record`` (e.g. the augmentation settings) is stored with it.

    ``init`` (a bundled name or a checkpoint of the same architecture) warm-starts the weights:
    a fresh optimizer and schedule continue from them (fine-tuning, or more training compute for
    a finished run). Its provenance is kept in the record. ``resume`` from an existing ``out``
    takes precedence (its weights already include the warm start).

    Resuming is exact: each checkpoint holds, beside the weights and AdamW's state, every random
    state the next epoch draws from (see :func:`rng_state`), and a resumed run continues from them,
    so a killed and resumed run ends with the uninterrupted run's weights bit for bit (same device,
    thread count and number of ranks). A resume with other settings than the checkpoint's record
    is refused, except ``epochs``. The batch stream is restored if it has ``state()``/``restore(state)``
    (:func:`htp_edge.train.data.motion_batches` streams do); otherwise only the ``rng`` given to
    ``batches`` is (exact for a stream that draws from it as it goes).

    ``distributed`` (None: when launched by torchrun; True: insist; False: never) trains data
    parallel over the torchrun process group (:mod:`htp_edge.train.distributed`): each rank takes
    its slice of the same global batch, only rank 0 writes and prints, and the evaluation runs on
    rank 0 after the group is closed. Other ranks return their result without it.

    ``validate(checkpoint) -> {"val_mpjpe_mm": ...}`` (:class:`htp_edge.train.validation.Validation`)
    scores every epoch's checkpoint on clips held out of the batches; the scores go into the
    history, and the best epoch's weights are kept at :func:`~htp_edge.train.validation.best_path`
    (``<stem>.best.pt``), which is then the checkpoint ``evaluate`` scores: the run's selected model."""
    import torch

    from htp_edge.train.distributed import start, stop
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(out)
    group, device = start(_torch_device(cfg.device), distributed)
    if group is not None and device.type == "cpu" and torch.cuda.is_available():
        _note(f"train: warning: {group.world_size} ranks train on the CPU (gloo) although a GPU is present; "
              f"pass --device cuda for one GPU per rank (nccl)")
    clean = False
    try:
        result, setup, saved_rng = _fit(cfg, batches, out, resume, progress, model_config, data_record, init,
                                        group, device, validate)
        clean = True
    finally:
        stop(group, clean)
    if group is not None:
        result.update(rank=group.rank, world_size=group.world_size)
        if not group.main:
            return result
    if evaluate is not None:
        from htp_edge.model.checkpoint import load_model, save_checkpoint
        selected = Path(result["best_checkpoint"]) if result.get("best_checkpoint") else out
        result.update(evaluate(selected))
        final, meta = load_model(selected)
        if selected == out:
            record = {**setup, "final_loss": result["final_loss"]}
            if saved_rng is not None:
                record["rng"] = saved_rng
        else:
            record = {k: v for k, v in meta.items() if k != "config"}
        record.update({k: v for k, v in result.items() if k.startswith("val_")})
        save_checkpoint(selected, final, epoch=result.get("best_epoch", cfg.epochs), lr=0.0, optimizer=None,
                        record=record)
    return result


def _fit(cfg: TrainConfig, batches: Batches, out: Path, resume: bool, progress: bool, model_config,
         data_record: dict | None, init, group, device, validate=None):
    """The training loop of :func:`train` on this rank; returns (result, record setup, random states)."""
    import dataclasses

    import torch

    from htp_edge.model.checkpoint import save_checkpoint
    from htp_edge.model.config import preset
    from htp_edge.model.denoiser import DiffusionPoseModel
    from htp_edge.train.amp import MixedPrecision
    from htp_edge.train.distributed import seed_rank
    from htp_edge.train.objective import DiffusionObjective
    main = group is None or group.main
    torch.manual_seed(cfg.seed)
    model_cfg = dataclasses.replace(model_config or preset(cfg.model, cfg.frames), drop_path_rate=cfg.drop_path_rate)
    net = DiffusionPoseModel(model_cfg).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    amp = MixedPrecision(cfg.amp, device)
    world = group.world_size if group is not None else 1
    start_epoch, history, init_record, saved_rng = 0, [], None, None
    if resume and out.is_file():
        start_epoch, history, init_record, saved_rng, amp_state = _resume(out, net, opt, cfg, model_cfg,
                                                                          data_record or {}, world)
        amp.restore(amp_state)
    elif init is not None:
        init_record = warm_start(net, init)
    objective = DiffusionObjective(device, newest_weight=cfg.newest_weight)
    gen = torch.Generator().manual_seed(cfg.seed + 7919 * start_epoch)
    rng = np.random.default_rng([cfg.seed, start_epoch])
    stream = batches(rng)
    seed_rank(group, cfg.seed + 7919 * start_epoch)
    if saved_rng is not None:
        restore_rng_state(saved_rng, gen, rng, stream, device, group)
    elif start_epoch:
        _note(f"train: warning: {out.name} holds no random states (an older checkpoint); the resumed run draws "
              f"other batches and noise than an uninterrupted run would")
    model = group.wrap(net.pose_estimator, device) if group is not None else net.pose_estimator
    setup = {"train_config": dataclasses.asdict(cfg), "data": data_record or {}, "history": history}
    setup.update(_recipe_record(cfg.recipe))
    if group is not None:
        setup["distributed"] = group.record()
    if init_record is not None:
        setup["init"] = init_record
    t_start = time.time()
    try:
        for epoch in range(start_epoch, cfg.epochs):
            net.train()
            losses = _run_epoch(cfg, model, net, opt, amp, objective, stream, gen, epoch, progress and main, group)
            history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)),
                            "seconds": round(time.time() - t_start, 1)})
            saved_rng = rng_state(gen, rng, stream, device, group)
            if main:  # the lr the next epoch starts with, as D3DP stores it
                def save():
                    save_checkpoint(out, net, epoch=epoch + 1, lr=cfg.lr_at((epoch + 1) * cfg.iters_per_epoch),
                                    optimizer=opt.state_dict(),
                                    record={**setup, "final_loss": history[-1]["loss"], "rng": saved_rng,
                                            **({"amp": amp.state()} if amp.scaler is not None else {})})
                save()
                if validate is not None:
                    _validate_epoch(validate, out, net, setup, history, progress)
                    save()  # the epoch's scores in the run's history
                    net.train()
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    net.eval()
    result = {"epochs": cfg.epochs, "final_loss": history[-1]["loss"] if history else None, "checkpoint": str(out),
              "history": history}
    best = _best_epoch(history)
    if validate is not None and best is not None and main:
        from htp_edge.train.validation import best_path
        result.update(best_checkpoint=str(best_path(out)), best_epoch=best["epoch"],
                      best_val_mpjpe_mm=best["val_mpjpe_mm"])
    return result, setup, saved_rng


def _best_epoch(history: list[dict]) -> dict | None:
    """The history entry with the lowest validation MPJPE (the first of equals), or None."""
    scored = [h for h in history if h.get("val_mpjpe_mm") is not None]
    return min(scored, key=lambda h: h["val_mpjpe_mm"]) if scored else None


def _validate_epoch(validate, out: Path, net, setup: dict, history: list[dict], progress: bool) -> None:
    """Score the checkpoint just written; keep its weights at best_path(out) when it is the best so far."""
    import torch

    from htp_edge.model.checkpoint import save_checkpoint
    from htp_edge.train.validation import best_path
    before = _best_epoch(history)
    with torch.random.fork_rng():  # the run's random streams are the same with or without validation
        scores = validate(out)
    entry = history[-1]
    entry.update({k: (round(v, 3) if isinstance(v, float) else v) for k, v in scores.items()})
    is_best = before is None or entry["val_mpjpe_mm"] < before["val_mpjpe_mm"]
    if is_best:
        save_checkpoint(best_path(out), net, epoch=entry["epoch"], lr=0.0, optimizer=None,
                        record={**setup, "final_loss": entry["loss"],
                                "selected": {"by": "val_mpjpe_mm", "epoch": entry["epoch"],
                                             "val_mpjpe_mm": entry["val_mpjpe_mm"], "val_mode": entry.get("val_mode")}})
    if progress:
        print(f"epoch {entry['epoch']}: validation MPJPE {entry['val_mpjpe_mm']:.1f} mm ({entry.get('val_mode')})"
              + (f", best so far -> {best_path(out).name}" if is_best else ""), file=sys.stderr)


def _recipe_record(name: str) -> dict:
    from htp_edge.train.recipes import RECIPES
    return {"recipe": RECIPES[name].record()} if name in RECIPES else {}


def _note(message: str) -> None:
    """A message for the user on stderr, from rank 0 only in a distributed run."""
    from htp_edge.train.distributed import is_main
    if is_main():
        print(message, file=sys.stderr)


def rng_state(gen, rng: np.random.Generator, stream, device, group=None) -> dict:
    """Every random state training draws from, as safe-loadable values (tensors, ints, strings):

    * ``noise``: the CPU torch generator of the diffusion objective (timesteps t and noise eps);
    * ``torch_cpu`` (and ``torch_cuda`` on a GPU): torch's global generators, which stochastic
      depth (``DropPath``'s bernoulli mask) draws from on the model's device;
    * ``batches_rng``: the numpy Generator handed to ``batches`` (a JSON string: PCG64's state
      is 128-bit ints);
    * ``stream``: the batch stream's position (``stream.state()``: the sampler's Generator state
      and the batch count; per worker with ``--workers``), or None if it has none;
    * ``ranks`` (distributed runs): each rank's ``torch_cpu``/``torch_cuda``, in rank order (the
      other states are the same on every rank). Collective: every rank must call it.

    Python's ``random`` and numpy's global RandomState are not drawn from in training (and not
    seeded), so there is nothing of theirs to carry."""
    import torch

    from htp_edge.train.data import generator_state
    state = {"noise": gen.get_state(), "torch_cpu": torch.get_rng_state(), "batches_rng": generator_state(rng),
             "stream": stream.state() if hasattr(stream, "state") else None}
    if device.type == "cuda":
        state["torch_cuda"] = torch.cuda.get_rng_state(device)
    if group is not None:
        own = {k: state[k] for k in ("torch_cpu", "torch_cuda") if k in state}
        state["ranks"] = [{k: v.cpu() for k, v in r.items()} for r in group.gather(own)]
    return state


def restore_rng_state(state: dict, gen, rng: np.random.Generator, stream, device, group=None) -> None:
    """Put the generators and the batch stream back where :func:`rng_state` found them; in a
    distributed run each rank takes its own torch states when the checkpoint has as many ranks
    (otherwise the ranks other than 0 keep their fresh per-rank seeds)."""
    import torch

    from htp_edge.train.data import set_generator_state
    gen.set_state(state["noise"])
    set_generator_state(rng, state["batches_rng"])
    if state.get("stream") is not None:
        if not hasattr(stream, "restore"):
            raise HtpEdgeError("train: the checkpoint holds its batch stream's position but these batches cannot "
                               "restore one. Expected a stream with state()/restore(), e.g. motion_batches().")
        stream.restore(state["stream"])
    own = state
    if group is not None:
        ranks = state.get("ranks") or [state]
        if len(ranks) != group.world_size and group.rank:
            return
        own = ranks[group.rank] if len(ranks) == group.world_size else state
    torch.set_rng_state(own["torch_cpu"])
    if device.type == "cuda" and "torch_cuda" in own:
        torch.cuda.set_rng_state(own["torch_cuda"], device)


def _torch_device(name: str):
    """``cfg.device`` as a torch.device; one clear error when CUDA is asked for but absent."""
    import torch
    if name != "cpu" and not torch.cuda.is_available():
        raise HtpEdgeError(f"train: --device {name} needs a CUDA GPU and a CUDA build of torch. Expected "
                           f"torch.cuda.is_available(), got False (torch {torch.__version__}). Use --device cpu.")
    return torch.device(name)


def _run_epoch(cfg, model, net, opt, amp, objective, stream, gen, epoch, progress, group) -> list[float]:
    """One epoch of steps; the losses are the global batch's MPJPE (the mean over the ranks)."""
    import torch
    from tqdm import tqdm
    losses = []
    bar = tqdm(range(cfg.iters_per_epoch), desc=f"epoch {epoch + 1}/{cfg.epochs}", file=sys.stderr,
               disable=not progress, leave=False)
    device = next(net.parameters()).device
    for i in bar:
        it = epoch * cfg.iters_per_epoch + i
        for param_group in opt.param_groups:
            param_group["lr"] = cfg.lr_at(it)
        x2d, x3d = next(stream)
        rows, total = None, len(x2d)
        if group is not None:
            rows = group.rows(total)
            x2d, x3d = x2d[rows], x3d[rows]  # (B, F, J, c) -> this rank's (B / world, F, J, c)
        x2d, x3d = torch.as_tensor(x2d).to(device), torch.as_tensor(x3d).to(device)
        with amp.autocast():
            loss = objective.loss(model, x2d, x3d, gen, rows, total).float()
        whole = group.mean(loss.detach()) if group is not None else loss.detach()
        # mpjpe2: D3DP's loss.backward(loss.detach()), scaled by the global batch's loss on every rank
        surrogate = loss * whole if cfg.loss == "mpjpe2" else loss
        opt.zero_grad(set_to_none=True)
        amp.backward(surrogate)
        amp.step(opt, net.parameters(), cfg.grad_clip)
        losses.append(whole.item())
        if i % 10 == 0:
            bar.set_postfix(mpjpe_mm=f"{np.mean(losses[-50:]) * 1000:.1f}")
    if progress:
        print(f"epoch {epoch + 1}/{cfg.epochs}: train MPJPE {np.mean(losses) * 1000:.1f} mm", file=sys.stderr)
    return losses


def warm_start(net, init: str | Path) -> dict:
    """Load ``init``'s weights into ``net`` (same backbone); returns its provenance record: the
    source, its sha256 and the training record that produced it (chained for warm starts).

    The pruning stages' own weights (SFT's distance bias, MGPTP's, TRA's) may differ between the
    two, as between HTP and D3DP or a one-stage ablation: the source's that ``net`` has no use
    for are dropped, ``net``'s that the source lacks keep their fresh values, and both lists are
    recorded (``dropped``, ``fresh``). Any other difference is one clear error."""
    from htp_edge.artifacts.files import sha256_file
    from htp_edge.model.checkpoint import (
        check_keys,
        model_state,
        pruning_param_prefixes,
        read_checkpoint,
        resolve_checkpoint,
    )
    path = resolve_checkpoint(init)
    ckpt = read_checkpoint(path)
    state = model_state(ckpt, path)
    own = net.state_dict()
    stage_keys = pruning_param_prefixes()
    dropped = sorted(k for k in state if k not in own and k.startswith(stage_keys))
    state = {k: v for k, v in state.items() if k not in dropped}
    fresh = sorted(k for k in own if k not in state and k.startswith(stage_keys))
    try:
        check_keys(own, state, stage_keys)
    except HtpEdgeError as exc:
        raise HtpEdgeError(f"train: --init {init} cannot start {net.config.name}: {exc}") from None
    net.load_state_dict(state, strict=not fresh)
    meta = ckpt.get("htp_edge") or {}
    record = {"checkpoint": str(init), "sha256": sha256_file(path),
              "epoch": int(ckpt.get("epoch", 0))}
    record.update({k: meta[k] for k in ("train_config", "data", "init") if k in meta})
    if dropped or fresh:
        record.update(dropped=dropped, fresh=fresh)
    _note(f"train: warm start from {path.name} (epoch {record['epoch']})"
          + (f"; pruning-stage weights: {len(dropped)} dropped, {len(fresh)} fresh" if dropped or fresh else ""))
    return record


def _resume(out: Path, net, opt, cfg: TrainConfig, model_cfg, data_record: dict, world_size: int = 1):
    """Check the settings against ``out``'s record, load its weights and optimizer; returns
    (epoch, history, warm-start record or None, random states or None, GradScaler state or None)."""
    from htp_edge.model.checkpoint import model_state, read_checkpoint
    ckpt = read_checkpoint(out)
    meta = ckpt.get("htp_edge") or {}
    _check_same_run(out, meta, cfg, model_cfg, data_record, world_size)
    net.load_state_dict(model_state(ckpt, out), strict=True)
    if ckpt.get("optimizer"):
        opt.load_state_dict(ckpt["optimizer"])
    elif int(ckpt.get("epoch", 0)) < cfg.epochs:
        _note(f"train: warning: {out.name} holds no optimizer state (a finished, evaluated run drops it); AdamW "
              f"starts afresh")
    _note(f"train: resuming {out.name} after epoch {ckpt.get('epoch', 0)}")
    return int(ckpt.get("epoch", 0)), meta.get("history", []), meta.get("init"), meta.get("rng"), meta.get("amp")


def _check_same_run(out: Path, meta: dict, cfg: TrainConfig, model_cfg, data_record: dict,
                    world_size: int = 1) -> None:
    """Refuse to resume with other settings than the record's (one line naming each flag). A
    setting added after the checkpoint was written counts as its default (what that run used)."""
    import dataclasses

    from htp_edge.model.checkpoint import config_from_dict, config_to_dict
    if "train_config" not in meta:  # not written by train(): nothing to compare
        return
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    now = {**dataclasses.asdict(cfg), "data": data_record, "world_size": world_size}
    then = {**defaults, **meta["train_config"], "data": meta.get("data") or {},
            "world_size": int((meta.get("distributed") or {}).get("world_size", 1))}
    differing = _differing(_flat(now), _flat(then))
    diffs = {}
    for key, (value, saved) in differing.items():
        if key in RESUME_MAY_CHANGE or key in EXECUTION_SETTINGS:
            continue
        flag = FLAGS.get(key, key)
        if flag not in diffs or key.endswith("_deg"):  # --limb-rotation/--tilt: show the angle
            diffs[flag] = f"{flag} {_show(value)} (checkpoint {_show(saved)})"
    if "config" in meta and "--model" not in diffs:
        saved = config_to_dict(config_from_dict(meta["config"]))  # fields added since: their defaults
        arch = _differing(_flat(config_to_dict(model_cfg)), _flat(saved))
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
        _note(f"train: warning: resuming {out.name} with " + ", ".join(
            f"{k} {_show(v)} (checkpoint {_show(s)})" for k, (v, s) in moved.items())
            + "; the continuation is not bit for bit the uninterrupted run's")


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
