"""Build a TensorRT engine for every ONNX in a folder (or every ONNX given) for one device profile.

    python scripts/build_engines.py --onnx-dir export/out --profile orin-agx --out-dir engines/out
    python scripts/build_engines.py htp_fp32.onnx htp_fp16.onnx htp_int8.onnx --profile desktop

Engines are named from their config (``<onnx stem>_<precision>_sm<cc>.engine``); a TCEP planner
``X.planner.onnx`` beside ``X.onnx`` becomes ``<X's engine stem>.planner.engine``, where the
runtime looks for it. Exit status: 0 all built, 1 some failed (one line each on stderr), 2 error.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from htp_edge.errors import HtpEdgeError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="build_engines", description=__doc__.splitlines()[0])
    p.add_argument("onnx", nargs="*", help="ONNX files (variants) to build")
    p.add_argument("--onnx-dir", help="build every *.onnx in this folder")
    p.add_argument("--profile", default="desktop", help="device profile (default desktop)")
    p.add_argument("--out-dir", default="engines/out", help="where engines go (default engines/out)")
    p.add_argument("--workspace", type=int, default=None, metavar="MIB", help="builder workspace in MiB")
    p.add_argument("--opt-level", type=int, default=None, help="builder optimisation level 0-5")
    p.add_argument("--timing-cache", default=None, metavar="auto|none|PATH", help="timing cache")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def collect(files: Sequence[str], folder: str | None) -> list[Path]:
    """Main graphs first, then planners (which are named after their main graph's engine)."""
    paths = [Path(f) for f in files]
    if folder:
        if not Path(folder).is_dir():
            raise HtpEdgeError(f"build_engines: --onnx-dir is not a folder. Expected a folder of "
                               f".onnx files, got {folder!r}.")
        paths += sorted(Path(folder).glob("*.onnx"))
    if not paths:
        raise HtpEdgeError("build_engines: nothing to build. Expected ONNX files or --onnx-dir, got none.")
    unique = list(dict.fromkeys(paths))
    return sorted(unique, key=lambda p: (p.name.endswith(".planner.onnx"), str(p)))


def build_all(paths: list[Path], out_dir: Path, config) -> list[dict]:
    """Build each path; a failure is recorded (``error``) and the rest still build."""
    from htp_edge.artifacts.naming import planner_engine
    from htp_edge.engines.builder import build_engine, planner_config

    engines: dict[str, Path] = {}  # main ONNX path -> its engine
    results = []
    for path in paths:
        main_onnx = str(path).removesuffix(".planner.onnx") + ".onnx"
        try:
            if path.name.endswith(".planner.onnx") and main_onnx in engines:
                result = build_engine(path, planner_engine(engines[main_onnx]), planner_config(config))
            else:
                result = build_engine(path, out_dir, config)
                engines[str(path)] = result.engine
            results.append({"onnx": str(path), "engine": str(result.engine), "manifest": str(result.manifest),
                            "precision": result.manifest_data["precision"]["name"],
                            "build_s": round(result.build_seconds, 2)})
        except HtpEdgeError as exc:
            results.append({"onnx": str(path), "error": str(exc)})
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from htp_edge.engines.config import BuildConfig

        config = BuildConfig.from_profile(args.profile, workspace_mib=args.workspace,
                                          builder_optimization_level=args.opt_level,
                                          timing_cache=args.timing_cache)
        out_dir = Path(args.out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        results = build_all(collect(args.onnx, args.onnx_dir), out_dir, config)
    except HtpEdgeError as exc:
        print(f"build_engines: error: {exc}", file=sys.stderr)
        return 2
    failed = [r for r in results if "error" in r]
    for r in failed:
        print(f"build_engines: {r['onnx']}: {r['error']}", file=sys.stderr)
    if args.json:
        print(json.dumps({"profile": config.profile, "engines": results, "failed": len(failed)}))
    else:
        for r in results:
            if "engine" in r:
                print(f"{r['onnx']} -> {r['engine']} ({r['precision']}, {r['build_s']} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
