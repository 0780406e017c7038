"""`htp-edge lift`: lift a file of 2D keypoints to 3D poses (.npy), optionally with a plot."""
from __future__ import annotations

from htp_edge.cli import args as argtypes

HELP = "lift a (T, 17, 2|3) .npy/.npz of pixel keypoints to (T, 17, 3) root-relative poses in metres"


def add_arguments(p) -> None:
    p.add_argument("input", help=".npy/.npz array (T, 17, 2) pixels, or (T, 17, 3) with confidences")
    p.add_argument("--out", required=True, help="output .npy (T, 17, 3) metres, root-relative, camera frame")
    p.add_argument("--checkpoint", default=None, help="bundled name, .pt/.bin, .onnx or .engine (default htp-small)")
    p.add_argument("--width", type=argtypes.positive_float, default=1000.0, help="image width in pixels")
    p.add_argument("--height", type=argtypes.positive_float, default=1000.0, help="image height in pixels")
    p.add_argument("--format", default="h36m", choices=["h36m", "coco"], help="keypoint order of the input")
    p.add_argument("--backend", default=None, choices=["torch", "onnxruntime", "tensorrt"],
                   help="default: tensorrt for .engine, onnxruntime otherwise")
    p.add_argument("--steps", type=argtypes.steps, default=1)
    p.add_argument("--hypotheses", type=argtypes.hypotheses, default=None)
    p.add_argument("--aggregation", default="auto", choices=["auto", "mean", "jpma"])
    p.add_argument("--focal", type=argtypes.positive_float, default=None,
                   help="focal length in pixels for JPMA (default H36M-like)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", default=None,
                   help="a .gif animates the 2D input beside the 3D skeleton; .png/.pdf/.svg: a still of a few frames")


def run(args) -> dict:
    from pathlib import Path

    import numpy as np

    from htp_edge.artifacts.files import ArtifactSet
    from htp_edge.artifacts.naming import DEFAULT_CHECKPOINT
    from htp_edge.errors import HtpEdgeError
    from htp_edge.pose.geometry import Intrinsics
    from htp_edge.pose.inputs import load_keypoint_file
    from htp_edge.runtime.lifter import Lifter
    out, plot = Path(args.out), Path(args.plot) if args.plot else None
    if out.suffix != ".npy":
        raise HtpEdgeError(f"lift: --out must be a .npy file, got {args.out!r}.")
    if plot is not None and plot.suffix.lower() not in (".png", ".pdf", ".svg", ".jpg", ".gif"):
        raise HtpEdgeError(f"lift: --plot must be a .gif (animation), .png, .pdf, .svg or .jpg file, "
                           f"got {args.plot!r}.")
    source = args.checkpoint or DEFAULT_CHECKPOINT
    staging = ArtifactSet([out, plot], inputs=[args.input, source], what="lift")  # refuses before any work
    keypoints = load_keypoint_file(args.input)
    backend = args.backend or ("tensorrt" if str(source).endswith(".engine") else "onnxruntime")
    with Lifter.load(source, backend=backend, steps=args.steps, hypotheses=args.hypotheses,
                     aggregation=args.aggregation, seed=args.seed) as lifter:
        intr = None
        if args.focal is not None:
            intr = Intrinsics(args.focal, args.focal, args.width / 2, args.height / 2)
        poses = lifter.lift(keypoints, args.width, args.height, format=args.format, intrinsics=intr)
        timings = lifter.last_timings
    result = {"frames": int(poses.shape[0]), "out": str(out), "source": str(source), "backend": backend,
              "timings_ms": timings}
    with staging as staged:
        np.save(staged[out], poses.astype(np.float32), allow_pickle=False)
        if plot is not None:
            title = f"{Path(args.input).name} ({source})"
            if plot.suffix.lower() == ".gif":  # the 2D input beside the 3D skeleton, frame by frame
                from htp_edge.pose.inputs import as_keypoints, to_h36m
                from htp_edge.viz import animate
                xy, conf = to_h36m(*as_keypoints(keypoints), args.format)
                animate(poses, staged[plot], keypoints_2d=xy, width=args.width, height=args.height, title=title)
            else:
                from htp_edge.viz import plot_skeletons
                plot_skeletons(poses, staged[plot], title=title)
            result["plot"] = str(plot)
    return result
