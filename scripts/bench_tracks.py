#!/usr/bin/env python3
"""Several people at 30 frames/s: per-hop latency and poses/s of MultiStreamLifter for 1, 2, 4
and 8 tracks, batched (one engine call per hop, the shipped clips_per_call=8 graph), one engine
call per track (clips_per_call=1) and adaptive (the batched graph with the one-clip graph beside
it, picked per hop by measured cost; what `htp-edge stream` uses), alternated in one run.

The graphs are the CPU companions (``x.cpu.onnx``: attention fused, made in the cache on first
use; ``--graph plain`` for the exported graphs as they are, ``--graph plain cpu`` for both,
alternated). The TCEP planner runs on the calling thread without spinning (the runtime's default).

usage: python scripts/bench_tracks.py [--tracks 1 2 4 8] [--frames 150] [--rounds 2] [--graph cpu|plain ...]
                                      [--checkpoint htp-small] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys


def run_once(lifter, tracks: int, frames: int, kps, small=None) -> dict:
    from htp_edge.bench.stats import summarize
    from htp_edge.runtime.multistream import MultiStreamLifter
    multi = MultiStreamLifter(lifter, 1000, 1000, max_tracks=max(tracks, 1), small=small)
    lat, poses = [], 0
    for f in range(frames):
        out = multi.push({tid: kps[tid][f] for tid in range(tracks)})
        if out:
            lat.append(multi.last_latency_ms)
            poses += len(out)
    s = summarize(lat)
    return {"p50_ms": s["p50_ms"], "p99_ms": s["p99_ms"], "hops": s["n"],
            "poses_per_s_capacity": poses / (sum(lat) / 1e3)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tracks", type=int, nargs="+", default=[1, 2, 4, 8])
    p.add_argument("--frames", type=int, default=150)
    p.add_argument("--checkpoint", default="htp-small")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--graph", nargs="+", choices=["cpu", "plain"], default=["cpu"],
                   help="cpu: the CPU companion graphs (attention fused); plain: the exported graphs")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    import numpy as np

    from htp_edge.bench.run import walking_keypoints
    from htp_edge.runtime.lifter import Lifter
    lifters, small_of = {}, {}
    for graph in args.graph:
        tag = "" if len(args.graph) == 1 else f" {graph}"
        opts = {"cpu_graph": graph == "cpu"}
        batched = Lifter.load(args.checkpoint, clips_per_call=8, **opts)
        per_track = Lifter.load(args.checkpoint, **opts)
        lifters.update({f"batched{tag}": batched, f"per-track{tag}": per_track, f"adaptive{tag}": batched})
        small_of[f"adaptive{tag}"] = per_track  # the batched graph with the one-clip graph for few people
    kps = [walking_keypoints(args.frames, seed=i) + np.float32(60 * i) for i in range(max(args.tracks))]
    rows = {}
    for n in args.tracks:
        runs = {k: [] for k in lifters}
        for _ in range(args.rounds):  # alternate A and B: the machine is shared and noisy
            for name, lifter in lifters.items():
                runs[name].append(run_once(lifter, n, args.frames, kps, small_of.get(name)))
        rows[n] = {name: {key: float(np.median([r[key] for r in rs])) for key in rs[0]} for name, rs in runs.items()}
        rows[n]["speedups"] = {tag: rows[n][f"per-track{tag}"]["p50_ms"] / rows[n][f"batched{tag}"]["p50_ms"]
                               for tag in ([""] if len(args.graph) == 1 else [f" {g}" for g in args.graph])}
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"{'tracks':>6} {'mode':>14} {'p50 ms':>8} {'p99 ms':>8} {'poses/s':>9}"
          "   (capacity: poses lifted per second of lifting)")
    for n, row in rows.items():
        for name in lifters:
            r = row[name]
            print(f"{n:>6} {name:>14} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['poses_per_s_capacity']:>9.0f}")
        for tag, speedup in row["speedups"].items():
            print(f"{'':>6} {'speed-up' + tag:>14} {speedup:>8.2f}x (per-track p50 / batched p50)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
