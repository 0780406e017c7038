#!/usr/bin/env python3
"""Export every pruning path listed in the package's export/variants.json (or the ones named) to export/out/.

usage: python scripts/export_all.py [--variants FILE.json] [--out export/out] [NAME ...]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help="variant names (default: all)")
    p.add_argument("--variants", default=None, help="recipe of pruning paths (default: htp_edge/export/variants.json)")
    p.add_argument("--out", default="export/out")
    args = p.parse_args(argv)
    from htp_edge.artifacts.resources import export_data
    from htp_edge.errors import HtpEdgeError
    from htp_edge.export.config import ExportConfig
    from htp_edge.export.onnx_export import export_onnx
    variants = json.loads(Path(args.variants or export_data("variants.json")).read_text())["variants"]
    unknown = set(args.names) - {v["name"] for v in variants}
    if unknown:
        print(f"export_all: error: unknown variant(s) {sorted(unknown)}", file=sys.stderr)
        return 2
    for v in variants:
        if args.names and v["name"] not in args.names:
            continue
        fields = {k: v[k] for k in ("model", "checkpoint", "frames", "hypotheses", "flip", "unrolled_steps") if k in v}
        try:
            rep = export_onnx(ExportConfig(**fields), Path(args.out) / f"{v['name']}.onnx", progress=lambda m: None)
        except HtpEdgeError as exc:
            print(f"export_all: error: {v['name']}: {exc}", file=sys.stderr)
            return 2
        print(f"{v['name']}: {rep['nodes']} nodes, {rep['macs_per_pass'] / 1e9:.3f} GMACs/pass, "
              f"parity {rep['max_abs_diff_vs_torch']:.1e}, kept identical {rep['kept_indices_identical']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
