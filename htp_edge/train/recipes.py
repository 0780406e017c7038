"""Named training recipes: every hyper-parameter of a published setting, kept as data in one place.

``htp-edge train --recipe NAME`` starts from a recipe; each flag given explicitly overrides its
value. The recipe's name goes into the checkpoint's ``train_config`` and its values into the
record's ``recipe`` entry, so a checkpoint says which setting it was trained with.

``d3dp`` is the recipe of D3DP's ``main.py`` (paTRICK-swk/D3DP, ``common/arguments.py`` defaults,
the command of its README ``python main.py -k cpn_ft_h36m_dbb -c checkpoint/model_h36m``):

* AdamW, lr 6e-5 (``-lr 0.00006``), weight decay 0.1, the lr multiplied by 0.993 after every
  epoch (``-lrd 0.993``), no warm-up, no gradient clipping;
* 400 epochs (``-e 400``); a batch of 1024 frames (``-b 1024``) cut into chunks of the stride
  243 (``-s 243``), i.e. 4 clips per step;
* an epoch is one pass over every chunk of the training sequences, each chunk once as recorded
  and once flipped (``ChunkedGenerator_Seq`` with ``augment=True``, the default; ``-no-da``
  turns flipping off): :func:`d3dp_iters_per_epoch`;
* stochastic depth 0.1 in the training model (``D3DP(is_train=True)``);
* 1000 diffusion timesteps (``-timestep 1000``, cosine schedule), t ~ U{0..999} per clip,
  x_t clamped to +-1.1 (``-scale 1``);
* the loss: MPJPE, backpropagated as ``loss.backward(loss.detach())``, i.e. the gradient of
  MPJPE^2 / 2 (``loss="mpjpe2"`` here);
* evaluation with 5 DDIM steps and 5 hypotheses (its README's ``-sampling_timesteps 5
  -num_proposals 5``).

``default`` is htp-edge's own setting for the small models on the real-motion data (the flags'
defaults before recipes existed): AdamW 1e-3 with 100 warm-up steps and cosine decay, gradient
norm clipped at 1, pose augmentation (part mixing, limb rotations, tilt) on.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Iterable

from htp_edge.diffusion.schedule import TIMESTEPS
from htp_edge.errors import HtpEdgeError

SCHEDULES = ("cosine", "exp")
LOSSES = ("mpjpe", "mpjpe2")


@dataclass(frozen=True)
class Recipe:
    """A training setting.

    Attributes:
        name: the recipe's name (``--recipe``).
        source: where the numbers come from.
        epochs: training epochs.
        iters_per_epoch: optimizer steps per epoch; ``None``: one pass over the training data as
            D3DP counts it (:func:`d3dp_iters_per_epoch`), worked out from the data source.
        batch_size: clips per optimizer step (the global batch, over all ranks).
        lr: initial learning rate (AdamW).
        weight_decay: AdamW's decoupled weight decay.
        schedule: ``cosine`` (warm-up, then cosine decay to 0 over the run) or ``exp`` (the lr
            times ``lr_decay`` after every epoch, D3DP's).
        lr_decay: the per-epoch factor of the ``exp`` schedule.
        warmup_iters: linear warm-up steps (both schedules).
        grad_clip: largest gradient norm; 0 turns clipping off.
        drop_path: stochastic depth rate.
        loss: ``mpjpe`` (minimise MPJPE) or ``mpjpe2`` (D3DP's ``loss.backward(loss.detach())``:
            the gradient of MPJPE^2 / 2); the reported loss is MPJPE either way.
        flip: mirror half the training clips (left/right swapped, x negated).
        part_mix, limb_rotation, tilt: htp-edge's pose augmentation (0 turns each off).
        timesteps: diffusion timesteps t is drawn from (the schedule's length).
        eval_steps, eval_hypotheses: DDIM steps K and hypotheses H of the evaluation.
    """

    name: str
    source: str
    epochs: int
    iters_per_epoch: int | None
    batch_size: int
    lr: float
    weight_decay: float
    schedule: str
    lr_decay: float
    warmup_iters: int
    grad_clip: float
    drop_path: float
    loss: str
    flip: bool
    part_mix: float
    limb_rotation: float
    tilt: float
    timesteps: int = 1000
    eval_steps: int = 1
    eval_hypotheses: int = 1

    def __post_init__(self) -> None:
        for key in ("epochs", "batch_size", "timesteps", "eval_steps", "eval_hypotheses"):
            if int(getattr(self, key)) < 1:
                raise HtpEdgeError(f"recipe {self.name}: {key} must be >= 1, got {getattr(self, key)}.")
        if self.iters_per_epoch is not None and self.iters_per_epoch < 1:
            raise HtpEdgeError(f"recipe {self.name}: iters_per_epoch must be >= 1 or None (one pass over the "
                               f"data), got {self.iters_per_epoch}.")
        if self.timesteps != TIMESTEPS:
            raise HtpEdgeError(f"recipe {self.name}: the diffusion schedule has {TIMESTEPS} timesteps (the model's "
                               f"buffers and every exported graph use it). Expected timesteps={TIMESTEPS}, got "
                               f"{self.timesteps}.")
        if self.schedule not in SCHEDULES:
            raise HtpEdgeError(f"recipe {self.name}: unknown schedule. Expected one of {', '.join(SCHEDULES)}, "
                               f"got {self.schedule!r}.")
        if self.loss not in LOSSES:
            raise HtpEdgeError(f"recipe {self.name}: unknown loss. Expected one of {', '.join(LOSSES)}, "
                               f"got {self.loss!r}.")
        if not (self.lr > 0 and 0 < self.lr_decay <= 1 and self.weight_decay >= 0 and self.grad_clip >= 0
                and self.warmup_iters >= 0 and 0 <= self.drop_path < 1):
            raise HtpEdgeError(f"recipe {self.name}: bad optimiser settings. Expected lr > 0, 0 < lr_decay <= 1, "
                               f"weight_decay >= 0, grad_clip >= 0, warmup_iters >= 0 and 0 <= drop_path < 1, got "
                               f"lr={self.lr} lr_decay={self.lr_decay} weight_decay={self.weight_decay} "
                               f"grad_clip={self.grad_clip} warmup_iters={self.warmup_iters} "
                               f"drop_path={self.drop_path}.")

    def record(self) -> dict:
        """The recipe as plain values, for the checkpoint's record."""
        return dataclasses.asdict(self)


DEFAULT = Recipe(
    name="default", source="htp-edge: the small bundled models on the real-motion train split",
    epochs=12, iters_per_epoch=150, batch_size=16, lr=1e-3, weight_decay=0.05, schedule="cosine", lr_decay=1.0,
    warmup_iters=100, grad_clip=1.0, drop_path=0.1, loss="mpjpe", flip=True, part_mix=0.5, limb_rotation=25.0,
    tilt=60.0)

D3DP = Recipe(
    name="d3dp", source="paTRICK-swk/D3DP main.py with the defaults of common/arguments.py",
    epochs=400, iters_per_epoch=None, batch_size=1024 // 243, lr=6e-5, weight_decay=0.1, schedule="exp",
    lr_decay=0.993, warmup_iters=0, grad_clip=0.0, drop_path=0.1, loss="mpjpe2", flip=True, part_mix=0.0,
    limb_rotation=0.0, tilt=0.0, timesteps=1000, eval_steps=5, eval_hypotheses=5)

RECIPES = {r.name: r for r in (DEFAULT, D3DP)}


def recipe(name: str) -> Recipe:
    """The recipe called ``name``; one clear error for an unknown name."""
    if name not in RECIPES:
        raise HtpEdgeError(f"train: unknown recipe. Expected one of {', '.join(RECIPES)}, got {name!r}.")
    return RECIPES[name]


def override(base: Recipe, **values) -> Recipe:
    """``base`` with every value that is not None replaced (the flags given explicitly)."""
    unknown = sorted(set(values) - {f.name for f in dataclasses.fields(Recipe)})
    if unknown:
        raise HtpEdgeError(f"train: unknown recipe settings {', '.join(unknown)}.")
    return dataclasses.replace(base, **{k: v for k, v in values.items() if v is not None})


def d3dp_iters_per_epoch(lengths: Iterable[int], frames: int, batch_size: int, flip: bool = True) -> int:
    """Optimizer steps in one D3DP epoch: each sequence of ``n`` frames gives ``ceil(n / frames)``
    chunks (the last edge-padded), each once more flipped when ``flip``; ``batch_size`` chunks a
    step, the last step partial (``ChunkedGenerator_Seq.num_batches``)."""
    lengths = [int(n) for n in lengths]
    if not lengths or min(lengths) < 1 or frames < 1 or batch_size < 1:
        raise HtpEdgeError(f"train: cannot count D3DP's epoch. Expected sequence lengths >= 1, frames >= 1 and "
                           f"batch_size >= 1, got {len(lengths)} sequences, frames={frames}, "
                           f"batch_size={batch_size}. Pass --iters-per-epoch.")
    chunks = sum(math.ceil(n / frames) for n in lengths) * (2 if flip else 1)
    return math.ceil(chunks / batch_size)
