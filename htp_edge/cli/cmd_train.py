"""`htp-edge train`: train a small denoiser on the real-motion train split (D3DP's objective)."""
from __future__ import annotations

import dataclasses
import sys

HELP = "train d3dp or htp on the real-motion train split; writes a D3DP-layout checkpoint"


def add_arguments(p) -> None:
    p.add_argument("--model", default="htp-small",
                   help="preset: d3dp-small, htp-small, d3dp or htp (default htp-small)")
    p.add_argument("--out", required=True, help="checkpoint .pt to write (resumable with --resume)")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--iters-per-epoch", type=int, default=150)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--drop-path", type=float, default=0.1, help="stochastic depth rate (D3DP trains with 0.1)")
    p.add_argument("--part-mix", type=float, default=0.5,
                   help="chance a training chunk takes arms/legs/head from other chunks (0 turns it off)")
    p.add_argument("--limb-rotation", type=float, default=25.0,
                   help="largest random limb rotation in degrees (0 turns it off)")
    p.add_argument("--tilt", type=float, default=60.0,
                   help="largest random lean of the whole body in degrees, half the chunks (0 turns it off)")
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
    p.add_argument("--no-eval", action="store_true", help="skip the test-split evaluation at the end")
    p.add_argument("--cache-dir", default=None, help="real-motion cache (default: HTP_EDGE_CACHE or ~/.cache/htp_edge)")
    from htp_edge.data.datasets import add_dataset_arguments
    add_dataset_arguments(p)


def run(args) -> dict:
    from htp_edge.data.augment import AugmentConfig
    from htp_edge.model.config import preset
    from htp_edge.train.data import motion_batches
    from htp_edge.train.trainer import TrainConfig, train

    cfg = TrainConfig(model=args.model, epochs=args.epochs, iters_per_epoch=args.iters_per_epoch,
                      batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay, seed=args.seed,
                      drop_path_rate=args.drop_path,
                      threads=args.threads, device=args.device)
    default = AugmentConfig()
    augment = dataclasses.replace(
        default, part_mix_prob=args.part_mix,
        rotation_prob=default.rotation_prob if args.limb_rotation > 0 else 0.0, rotation_deg=args.limb_rotation,
        tilt_prob=default.tilt_prob if args.tilt > 0 else 0.0, tilt_deg=args.tilt)
    from htp_edge.data.datasets import dataset_config
    from htp_edge.train.data import dataset_batches
    dataset = dataset_config(args)
    data_record = {"augment": dataclasses.asdict(augment), "workers": args.workers}
    if dataset.name == "motion":
        batches = motion_batches(preset(args.model).frames, cfg.batch_size, args.cache_dir, augment=augment,
                                 workers=args.workers)
    else:  # D3DP's examples: the data's own 2D, no synthetic augmentation
        batches = dataset_batches(dataset, preset(args.model).frames, cfg.batch_size, workers=args.workers)
        data_record["dataset"] = dataset.describe()
    evaluate = None if args.no_eval else _evaluator(args)
    result = train(cfg, batches, args.out, resume=args.resume, progress=not args.json or sys.stderr.isatty(),
                   evaluate=evaluate, data_record=data_record,
                   init=args.init)
    result.setdefault("val_mpjpe_mm", None)
    return result


def _evaluator(args):
    def evaluate(path):
        from htp_edge.data.datasets import dataset_config
        from htp_edge.evaluation.evaluate import EvalConfig, evaluate_source
        from htp_edge.evaluation.protocols import evaluate_dataset
        dataset = dataset_config(args)
        if dataset.name == "motion":
            report = evaluate_source(str(path), EvalConfig(backend="torch", cache_dir=args.cache_dir))
        else:  # the dataset's test subjects, D3DP's protocol
            report = evaluate_dataset(str(path), EvalConfig(backend="torch"), dataset)
        return {"val_mpjpe_mm": report["mpjpe_mm"], "val_p_mpjpe_mm": report["p_mpjpe_mm"],
                "val_note": "test split (no model selection on it)"}
    return evaluate
