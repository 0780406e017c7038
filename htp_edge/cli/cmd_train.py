"""`htp-edge train`: train a small denoiser on the real-motion train split (D3DP's objective)."""
from __future__ import annotations

import dataclasses
import os
import sys

from htp_edge.cli import args as argtypes

HELP = "train d3dp or htp on the real-motion train split; writes a D3DP-layout checkpoint"


def add_arguments(p) -> None:
    p.add_argument("--model", default="htp-small",
                   help="preset: d3dp-small, htp-small, d3dp or htp (default htp-small)")
    p.add_argument("--out", required=True, help="checkpoint .pt to write (resumable with --resume)")
    from htp_edge.train.recipes import RECIPES  # numpy only: the recipes' values are the flags' defaults

    def by_recipe(key: str) -> str:
        return "recipe value: " + ", ".join(f"{r.name} {getattr(r, key)}" for r in RECIPES.values())

    p.add_argument("--recipe", default="default", choices=tuple(RECIPES),
                   help="named hyper-parameter set (htp_edge.train.recipes): default (htp-edge's small models) or "
                        "d3dp (D3DP's main.py: AdamW 6e-5, lr x0.993 per epoch, 4 clips, 400 epochs, flip, "
                        "MPJPE^2/2 gradient); every flag below given explicitly overrides it")
    p.add_argument("--frames", type=int, default=None,
                   help="clip length F of the --model preset (default: the preset's)")
    p.add_argument("--epochs", type=int, default=None, help=by_recipe("epochs"))
    p.add_argument("--iters-per-epoch", type=int, default=None,
                   help=by_recipe("iters_per_epoch") + " (None: one D3DP pass over the training sequences, every "
                        "F-frame chunk once as recorded and once flipped)")
    p.add_argument("--batch-size", type=int, default=None,
                   help=by_recipe("batch_size") + "; clips per step over all ranks (a multiple of the rank count)")
    p.add_argument("--lr", type=float, default=None, help=by_recipe("lr"))
    p.add_argument("--weight-decay", type=float, default=None, help=by_recipe("weight_decay"))
    p.add_argument("--schedule", choices=("cosine", "exp"), default=None,
                   help=by_recipe("schedule") + " (cosine: warm-up then cosine decay; exp: lr x --lr-decay per epoch)")
    p.add_argument("--lr-decay", type=float, default=None, help=by_recipe("lr_decay") + " (the exp schedule's factor)")
    p.add_argument("--warmup", type=int, default=None, help=by_recipe("warmup_iters") + " (linear warm-up steps)")
    p.add_argument("--grad-clip", type=float, default=None,
                   help=by_recipe("grad_clip") + " (largest gradient norm; 0: off)")
    p.add_argument("--loss", choices=("mpjpe", "mpjpe2"), default=None,
                   help=by_recipe("loss") + " (mpjpe2: D3DP's loss.backward(loss.detach()), the gradient of MPJPE^2/2)")
    p.add_argument("--drop-path", type=float, default=None, help="stochastic depth rate; " + by_recipe("drop_path"))
    p.add_argument("--part-mix", type=float, default=None,
                   help="chance a training chunk takes arms/legs/head from other chunks (0 turns it off); "
                        + by_recipe("part_mix"))
    p.add_argument("--limb-rotation", type=float, default=None,
                   help="largest random limb rotation in degrees (0 turns it off); " + by_recipe("limb_rotation"))
    p.add_argument("--tilt", type=float, default=None,
                   help="largest random lean of the whole body in degrees, half the chunks (0 turns it off); "
                        + by_recipe("tilt"))
    p.add_argument("--amp", choices=("off", "fp16", "bf16"), default="off",
                   help="mixed precision: fp16 (CUDA: autocast + GradScaler), bf16 (CUDA or CPU autocast), off "
                        "(default, float32)")
    p.add_argument("--distributed", action="store_true",
                   help="insist on data-parallel training over torchrun's process group (it is used whenever "
                        "torchrun launched the command): torchrun --nproc_per_node N -m htp_edge train ...")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--device", default="cpu",
                   help="cpu (default), cuda or cuda:N; the noise draws match on every device")
    p.add_argument("--workers", type=int, default=0,
                   help="background sampling processes (0: sample in the training process); worth it on a GPU")
    p.add_argument("--resume", action="store_true",
                   help="continue from --out if it exists, exactly where it stopped (weights, optimizer and random "
                        "states); the other flags must be the ones it was started with, only --epochs may change")
    p.add_argument("--init", default=None, metavar="CHECKPOINT",
                   help="warm start: a bundled name or .pt of the same architecture; a fresh optimizer "
                        "and schedule continue from its weights (use another --seed for new batches)")
    p.add_argument("--causal", action="store_true",
                   help="causal temporal attention: each frame sees only itself and earlier frames (a streaming "
                        "model with no added latency; same weights, so --init may name the non-causal model)")
    p.add_argument("--static-cameras", type=float, default=0.0, metavar="P",
                   help="share of training chunks seen by a fixed camera (0.8-3 m high, 15-60 fps, lens distortion) "
                        "while the person walks or runs toward, away from or across it (default 0: none)")
    from htp_edge.model.config import PLAN_SPACES, PRUNING_STAGES
    p.add_argument("--plan-space", choices=PLAN_SPACES, default="image",
                   help="where TCEP/MGPTP score motion: image (default; translation and size changes count) or body "
                        "(each frame root-relative and size-normalised: articulation only, for fixed cameras)")
    p.add_argument("--pruning", choices=PRUNING_STAGES, default="both",
                   help="HTP's pruning stages to run (an ablation): both, TCEP alone or MGPTP alone, each at its "
                        "preset's layer and count (none is --model d3dp-small); the model is named <model>-tcep / "
                        "<model>-mgptp")
    p.add_argument("--newest-weight", type=argtypes.positive_float, default=1.0,
                   help="weight of each clip's last frame in the loss against 1 for the others (default 1: plain "
                        "MPJPE); a causal model streams that frame, so --causal runs profit from e.g. 8")
    p.add_argument("--val-clips", default=None, metavar="NAMES",
                   help="hold these train clips out ('default' or comma-separated names, e.g. climb/seq3,"
                        "deepmimic/spin), score every epoch on them and keep the best epoch as <out stem>.best.pt "
                        "(a causal model is scored as it streams: the newest frame of each window)")
    p.add_argument("--no-eval", action="store_true", help="skip the test-split evaluation at the end")
    p.add_argument("--cache-dir", default=None, help="real-motion cache (default: HTP_EDGE_CACHE or ~/.cache/htp_edge)")
    from htp_edge.data.datasets import add_dataset_arguments
    add_dataset_arguments(p)


def run(args) -> dict:
    from htp_edge.data.augment import AugmentConfig
    from htp_edge.model.config import causal_variant, preset, with_plan_space, with_pruning_stages
    from htp_edge.train.data import motion_batches
    from htp_edge.train.trainer import train

    r = _recipe(args)
    frames = args.frames or preset(args.model).frames
    default = AugmentConfig()
    augment = dataclasses.replace(
        default, part_mix_prob=r.part_mix,
        rotation_prob=default.rotation_prob if r.limb_rotation > 0 else 0.0, rotation_deg=r.limb_rotation,
        tilt_prob=default.tilt_prob if r.tilt > 0 else 0.0, tilt_deg=r.tilt)
    from htp_edge.data.datasets import dataset_config
    from htp_edge.train.data import dataset_batches
    dataset = dataset_config(args)
    from htp_edge.data.static_train import StaticCameraConfig
    static = StaticCameraConfig(prob=args.static_cameras)
    data_record = {"augment": dataclasses.asdict(augment), "workers": args.workers}
    if static.prob > 0:
        if dataset.name != "motion":
            from htp_edge.errors import HtpEdgeError
            raise HtpEdgeError(f"train: --static-cameras renders the built-in motion through virtual cameras. Expected "
                               f"--dataset motion, got --dataset {dataset.name} (its 2D comes with the data).")
        data_record["static_cameras"] = dataclasses.asdict(static)
    from htp_edge.train.validation import Validation, parse_val_clips
    val_clips = parse_val_clips(args.val_clips)
    validate = None
    if val_clips:
        if dataset.name != "motion":
            from htp_edge.errors import HtpEdgeError
            raise HtpEdgeError(f"train: --val-clips holds clips of the built-in motion out. Expected --dataset motion, "
                               f"got --dataset {dataset.name} (use its --subjects-train to leave subjects out).")
        data_record["val_clips"] = list(val_clips)
        validate = Validation(val_clips, cache_dir=args.cache_dir, steps=r.eval_steps, hypotheses=r.eval_hypotheses)
    if dataset.name == "motion":
        batches = motion_batches(frames, r.batch_size, args.cache_dir, augment=augment,
                                 workers=args.workers, static=static, val_clips=val_clips)
    else:  # D3DP's examples: the data's own 2D, no synthetic augmentation
        batches = dataset_batches(dataset, frames, r.batch_size, workers=args.workers)
        data_record["dataset"] = dataset.describe()
    cfg = _train_config(args, r, batches, frames)
    evaluate = None if args.no_eval else _evaluator(args, r)
    model_config = causal_variant(preset(args.model, frames)) if getattr(args, "causal", False) else None
    if getattr(args, "plan_space", "image") != "image":
        model_config = with_plan_space(model_config or preset(args.model, frames), args.plan_space)
    if getattr(args, "pruning", "both") != "both":
        model_config = with_pruning_stages(model_config or preset(args.model, frames), args.pruning)
    result = train(cfg, batches, args.out, resume=args.resume, progress=not args.json or sys.stderr.isatty(),
                   model_config=model_config,
                   evaluate=evaluate, data_record=data_record,
                   init=args.init, distributed=True if args.distributed else None, validate=validate)
    if result.get("rank", 0):  # under torchrun the result is printed by rank 0 alone
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the process ends after main() prints to it
    result.setdefault("val_mpjpe_mm", None)
    return result


def _recipe(args):
    """The --recipe with every recipe flag given explicitly put over it."""
    from htp_edge.train.recipes import override, recipe
    return override(recipe(args.recipe), epochs=args.epochs, iters_per_epoch=args.iters_per_epoch,
                    batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay, schedule=args.schedule,
                    lr_decay=args.lr_decay, warmup_iters=args.warmup, grad_clip=args.grad_clip, loss=args.loss,
                    drop_path=args.drop_path, part_mix=args.part_mix, limb_rotation=args.limb_rotation,
                    tilt=args.tilt)


def _train_config(args, r, batches, frames: int):
    """The flags and the recipe ``r`` as a TrainConfig; an epoch of ``None`` steps is D3DP's pass
    over the sequences ``batches`` lists (``batches.sequence_lengths``)."""
    from htp_edge.errors import HtpEdgeError
    from htp_edge.model.config import preset
    from htp_edge.train.recipes import d3dp_iters_per_epoch
    from htp_edge.train.trainer import TrainConfig
    iters = r.iters_per_epoch
    if iters is None:
        lengths = getattr(batches, "sequence_lengths", None)
        if lengths is None:
            raise HtpEdgeError(f"train: --recipe {r.name} counts an epoch as one pass over the training sequences, "
                               f"and this data source does not list them. Expected --iters-per-epoch N, got none.")
        iters = d3dp_iters_per_epoch(lengths, frames, r.batch_size, r.flip)
    return TrainConfig(model=args.model, epochs=r.epochs, iters_per_epoch=iters, batch_size=r.batch_size, lr=r.lr,
                       weight_decay=r.weight_decay, seed=args.seed, drop_path_rate=r.drop_path, threads=args.threads,
                       device=args.device, schedule=r.schedule, lr_decay=r.lr_decay, warmup_iters=r.warmup_iters,
                       grad_clip=r.grad_clip, loss=r.loss, amp=args.amp, recipe=r.name,
                       frames=None if frames == preset(args.model).frames else frames,
                       newest_weight=args.newest_weight)


def _evaluator(args, r):
    def evaluate(path):
        from htp_edge.data.datasets import dataset_config
        from htp_edge.evaluation.evaluate import EvalConfig, evaluate_source
        from htp_edge.evaluation.protocols import evaluate_dataset
        dataset = dataset_config(args)
        at = {"steps": r.eval_steps, "hypotheses": r.eval_hypotheses}  # the recipe's K and H
        if dataset.name == "motion":
            report = evaluate_source(str(path), EvalConfig(backend="torch", cache_dir=args.cache_dir, **at))
        else:  # the dataset's test subjects, D3DP's protocol
            report = evaluate_dataset(str(path), EvalConfig(backend="torch", **at), dataset)
        return {"val_mpjpe_mm": report["mpjpe_mm"], "val_p_mpjpe_mm": report["p_mpjpe_mm"],
                "val_note": "test split (no model selection on it)"}
    return evaluate
