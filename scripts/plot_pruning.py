#!/usr/bin/env python3
"""Plot which frames HTP keeps on a held-out real clip: TCEP's motion score and plan, and the
tokens MGPTP keeps, against the 2D joint speed.

usage: python scripts/plot_pruning.py [--checkpoint htp-small] [--sequence climb/seq4/cam0] --out out/pruning.png
"""
from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default="htp-small")
    p.add_argument("--sequence", default="deepmimic/getup_faceup/cam0")
    p.add_argument("--clip", type=int, default=0, help="which F-frame clip of the sequence")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    from htp_edge.evaluation.evaluate import EvalConfig, test_sequences
    from htp_edge.model.checkpoint import load_model
    from htp_edge.pose.clipping import cut_clips, gather
    from htp_edge.pose.normalize import normalize_screen
    net, _ = load_model(args.checkpoint)
    den = net.pose_estimator
    seq = next((s for s in test_sequences(EvalConfig()) if s.name == args.sequence), None)
    if seq is None or den.tcep is None:
        print("plot_pruning: error: unknown sequence or a model without TCEP", file=sys.stderr)
        return 2
    f = den.config.frames
    clips = gather(normalize_screen(seq.kp2d_px, seq.width, seq.height), cut_clips(seq.num_frames, f), f)
    x2d = torch.from_numpy(clips[args.clip: args.clip + 1])
    with torch.no_grad():
        score = den.tcep.scores(x2d)[0].numpy()
        plan = den.plan(x2d)
        _, kept = den(x2d, torch.randn(1, f, 17, 3), torch.tensor([999.0]), return_kept=True, **plan)
        plan = plan["keep_frames"]
    speed = np.r_[0, np.linalg.norm(np.diff(clips[args.clip], axis=0), axis=-1).mean(-1)]
    fig, ax = plt.subplots(figsize=(9, 3.4))
    t = np.arange(f)
    ax.plot(t, speed / speed.max(), color="0.5", label="2D joint speed (normalised)")
    ax.plot(t, score / score.max(), color="tab:blue", label="TCEP score")
    ax.scatter(plan[0].numpy(), np.full(plan.shape[1], 1.08), marker="|", s=120, color="tab:blue",
               label=f"TCEP keeps {plan.shape[1]}")
    if kept is not None:
        ax.scatter(kept[0].numpy(), np.full(kept.shape[1], 1.16), marker="v", s=40, color="tab:red",
                   label=f"MGPTP keeps {kept.shape[1]}")
    ax.set_xlabel("frame in clip")
    ax.set_ylim(0, 1.25)
    ax.set_title(f"{seq.name}, clip {args.clip}: frames kept by HTP ({args.checkpoint})")
    ax.legend(loc="lower right", fontsize=8)
    fig.savefig(args.out, dpi=110, bbox_inches="tight")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
