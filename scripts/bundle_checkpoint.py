#!/usr/bin/env python3
"""Copy a trained checkpoint into the package for bundling (weights + record, no optimizer state)
and export its ONNX in the default layout, so that bundled names run without torch.

usage: python scripts/bundle_checkpoint.py out/htp-small.pt htp-small [--record eval.json] [--clips 1 8]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src")
    from htp_edge.artifacts.naming import BUNDLED
    p.add_argument("name", choices=BUNDLED)
    p.add_argument("--record", default=None, help="JSON of test-split numbers to store in the checkpoint record")
    p.add_argument("--clips", type=int, nargs="+", default=[1],
                   help="clip batches to ship graphs for (default 1; 8 adds the multi-person graph)")
    args = p.parse_args(argv)
    from htp_edge.artifacts.naming import GraphLayout, bundled_checkpoint, bundled_onnx, sidecar_json
    from htp_edge.model.checkpoint import load_model, save_checkpoint
    net, meta = load_model(args.src)
    record = {k: v for k, v in meta.items() if k != "config"}
    if args.record:
        record["test_split"] = json.loads(Path(args.record).read_text())
    dst = save_checkpoint(bundled_checkpoint(args.name), net, epoch=len(meta.get("history", [])), lr=0.0,
                          optimizer=None, record=record)
    print(f"wrote {dst} ({dst.stat().st_size / 1e6:.1f} MB)")
    from htp_edge.export.config import ExportConfig
    from htp_edge.export.onnx_export import export_onnx
    for clips in args.clips:  # clips=1: the torch-free runtime's default layout
        onnx = bundled_onnx(args.name, GraphLayout(clips=clips))
        export_onnx(ExportConfig(model=net.config.name, checkpoint=str(dst), clips=clips), onnx,
                    progress=lambda m: None)
        sidecar_json(onnx).unlink()
        print(f"wrote {onnx} ({onnx.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
