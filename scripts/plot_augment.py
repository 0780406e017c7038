#!/usr/bin/env python3
"""Show what training sees: train-split poses before and after pose augmentation (part mixing,
limb rotations, whole-body tilt), one middle frame per chunk.

usage: python scripts/plot_augment.py --out out/augment.png [--chunks 5] [--seed 0]
"""
from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--chunks", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if not 1 <= args.chunks <= 12:
        print(f"plot_augment: error: --chunks must be 1..12, got {args.chunks}", file=sys.stderr)
        return 2
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from htp_edge.data import load_motion, prepare_motion
    from htp_edge.data.augment import AugmentConfig, augment_pose
    from htp_edge.data.sampler import SamplerConfig, TrainSampler
    from htp_edge.viz import draw_pose

    prepare_motion(progress=False)
    sampler = TrainSampler(load_motion(), SamplerConfig(frames=27), seed=args.seed)
    rng = np.random.default_rng(args.seed)
    fig = plt.figure(figsize=(2.6 * args.chunks, 5.6))
    for i in range(args.chunks):
        chunk = sampler._chunk()
        out = augment_pose(chunk, rng, AugmentConfig(), sampler._chunk)
        for row, (pose, title) in enumerate(((chunk, "recorded"), (out, "augmented"))):
            mid = pose[pose.shape[0] // 2]
            mid = mid - mid[0]  # root-relative, world Z-up
            cam_like = np.stack([mid[:, 0], -mid[:, 2], mid[:, 1]], axis=-1)  # (x, -z, y): up is up in draw_pose
            ax = fig.add_subplot(2, args.chunks, row * args.chunks + i + 1, projection="3d")
            draw_pose(ax, cam_like, None, title)
            ax.set_title(title, fontsize=8)
            for setter in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
                setter(-0.9, 0.9)
            ax.set_xticklabels([]), ax.set_yticklabels([]), ax.set_zticklabels([])
    fig.suptitle("training chunks (middle frame): recorded vs augmented (red = left)", fontsize=10)
    fig.savefig(args.out, dpi=100, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
