"""`htp-edge lift`: lift a file of 2D keypoints to 3D poses (.npy), optionally with a plot."""
from __future__ import annotations

from htp_edge.cli import args as argtypes

HELP = ("lift a (T, 17, 2|3) .npy/.npz of pixel keypoints, or a 2D detector's output, to (T, 17, 3) "
        "root-relative poses in metres")


def add_arguments(p) -> None:
    from htp_edge.io.detectors import READERS
    from htp_edge.pose.layouts import FORMATS
    from htp_edge.runtime.backends import backend_names
    p.add_argument("input", help=".npy/.npz array (T, K, 2) pixels or (T, K, 3) with confidences, or a detector's "
                                 "output: AlphaPose results .json, MMPose predictions .json, OpenPose folder of "
                                 "*_keypoints.json")
    p.add_argument("--out", required=True, help="output .npy (T, 17, 3) metres, root-relative, camera frame")
    p.add_argument("--checkpoint", default=None, help="bundled name, .pt/.bin, .onnx or .engine (default htp-small)")
    p.add_argument("--width", type=argtypes.positive_float, default=1000.0, help="image width in pixels")
    p.add_argument("--height", type=argtypes.positive_float, default=1000.0, help="image height in pixels")
    p.add_argument("--format", default=None, choices=FORMATS,
                   help="keypoint layout of the input (default: h36m for an array; for a detector's file guessed "
                        "from the joint count: 17 coco, 26 halpe26, 25 body25, 33 blazepose33, 133 wholebody133)")
    p.add_argument("--reader", default=None, choices=READERS,
                   help="read INPUT as this detector's output (default: told from the file's content)")
    p.add_argument("--person", type=int, default=None,
                   help="detector files: the track id to lift (without track ids: the index in each frame); default "
                        "the track seen in most frames, or without track ids the most confident person per frame")
    p.add_argument("--backend", default=None, choices=backend_names(),
                   help="default: tensorrt for .engine, onnxruntime otherwise")
    p.add_argument("--steps", type=argtypes.steps, default=1)
    p.add_argument("--hypotheses", type=argtypes.hypotheses, default=None)
    p.add_argument("--aggregation", default="auto", choices=["auto", "mean", "jpma"])
    p.add_argument("--focal", type=argtypes.positive_float, default=None,
                   help="focal length in pixels for JPMA (default H36M-like)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reframe", action="store_true",
                   help="lift each clip as a virtual camera aimed at the person sees it (fixed cameras: robots, "
                        "surveillance; give the real focal length with --focal)")
    p.add_argument("--plot", default=None,
                   help="a .gif animates the 2D input beside the 3D skeleton; .png/.pdf/.svg: a still of a few frames")


def run(args) -> dict:
    from pathlib import Path

    import numpy as np

    from htp_edge.artifacts.files import ArtifactSet
    from htp_edge.artifacts.naming import DEFAULT_CHECKPOINT
    from htp_edge.errors import HtpEdgeError
    from htp_edge.pose.geometry import Intrinsics
    from htp_edge.runtime.lifter import Lifter
    out, plot = Path(args.out), Path(args.plot) if args.plot else None
    if out.suffix != ".npy":
        raise HtpEdgeError(f"lift: --out must be a .npy file, got {args.out!r}.")
    if plot is not None and plot.suffix.lower() not in (".png", ".pdf", ".svg", ".jpg", ".gif"):
        raise HtpEdgeError(f"lift: --plot must be a .gif (animation), .png, .pdf, .svg or .jpg file, "
                           f"got {args.plot!r}.")
    source = args.checkpoint or DEFAULT_CHECKPOINT
    staging = ArtifactSet([out, plot], inputs=[args.input, source], what="lift")  # refuses before any work
    keypoints, fmt, picked = _read_input(args)
    backend = args.backend or ("tensorrt" if str(source).endswith(".engine") else "onnxruntime")
    with Lifter.load(source, backend=backend, steps=args.steps, hypotheses=args.hypotheses,
                     aggregation=args.aggregation, seed=args.seed, reframe=args.reframe) as lifter:
        intr = None
        if args.focal is not None:
            intr = Intrinsics(args.focal, args.focal, args.width / 2, args.height / 2)
        poses = lifter.lift(keypoints, args.width, args.height, format=fmt, intrinsics=intr)
        timings = lifter.last_timings
    result = {"frames": int(poses.shape[0]), "out": str(out), "source": str(source), "backend": backend,
              "timings_ms": timings, "format": fmt, **picked}
    with staging as staged:
        np.save(staged[out], poses.astype(np.float32), allow_pickle=False)
        if plot is not None:
            title = f"{Path(args.input).name} ({source})"
            if plot.suffix.lower() == ".gif":  # the 2D input beside the 3D skeleton, frame by frame
                from htp_edge.pose.inputs import as_keypoints, to_h36m
                from htp_edge.viz import animate
                xy, conf = to_h36m(*as_keypoints(keypoints), fmt)
                animate(poses, staged[plot], keypoints_2d=xy, width=args.width, height=args.height, title=title)
            else:
                from htp_edge.viz import plot_skeletons
                plot_skeletons(poses, staged[plot], title=title)
            result["plot"] = str(plot)
    return result


def _read_input(args):
    """(keypoints (T, K, 2|3), format, what was picked) from an array file or a detector's output."""
    from pathlib import Path

    from htp_edge.errors import HtpEdgeError
    if Path(args.input).suffix in (".npy", ".npz") and args.reader is None:
        if args.person is not None:
            raise HtpEdgeError(f"lift: --person picks a person from a detector's file. Expected an AlphaPose/MMPose "
                               f".json or an OpenPose folder, got the array {Path(args.input).name}.")
        from htp_edge.pose.inputs import load_keypoint_file
        return load_keypoint_file(args.input), args.format or "h36m", {}
    src = Path(args.input)
    if args.reader is None and src.suffix != ".json" and not src.is_dir():
        raise HtpEdgeError(f"lift: unknown input {src.name!r}. Expected a .npy/.npz keypoint array, an AlphaPose or "
                           f"MMPose .json, or an OpenPose folder of *_keypoints.json (or pass --reader).")
    from htp_edge.io.detectors import read_detections
    from htp_edge.pose.layouts import guess_format
    detections = read_detections(src, args.reader)
    track = detections.chosen_track(args.person)
    keypoints = detections.person(track)
    fmt = args.format or guess_format(detections.num_joints)
    return keypoints, fmt, {"reader": detections.reader, "tracked": detections.tracked, "person": track,
                            "people": len(detections.ids())}
