"""`htp-edge info`: what this machine offers htp-edge (versions, CUDA device, Jetson state).

Versions come from package metadata; neither torch nor tensorrt is imported. ONNX Runtime is
imported to list its execution providers.
"""
from __future__ import annotations

import argparse

HELP = "report package versions, the CUDA device and the Jetson module and power mode"

_VERSION_KEYS = ("python", "numpy", "torch", "onnx", "onnxruntime", "tensorrt", "cuda_python",
                 "pycuda", "pynvml")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`info` takes no flags beyond the common ``--json`` and ``--debug``."""


def run(args: argparse.Namespace) -> dict:
    """Collect the environment report (see :func:`htp_edge.bench.platform.environment_info`)."""
    from htp_edge import __version__
    from htp_edge.bench.platform import environment_info
    return {"htp_edge": __version__, **environment_info(include_providers=True)}


def _or_none(value) -> str:
    return "-" if value is None else str(value)


def _device_line(device: dict | None) -> str:
    if device is None:
        return "none"
    memory = device.get("memory_total_mib")
    memory_text = f", {memory} MiB" if memory is not None else ""
    return (f"{device['name']} (sm {_or_none(device.get('compute_capability'))}{memory_text}, "
            f"via {device.get('source')})")


def _jetson_line(jetson: dict | None) -> str:
    if jetson is None:
        return "no"
    mode = jetson.get("nvpmodel") or {}
    return (f"{_or_none(jetson.get('model'))}, L4T {_or_none(jetson.get('l4t'))}, JetPack "
            f"{_or_none(jetson.get('jetpack'))}, power mode {_or_none(mode.get('name'))}, "
            f"jetson_clocks {_or_none(jetson.get('jetson_clocks'))}")


def format_text(result: dict) -> str:
    """Human-readable summary: one line per item, '-' for what is not installed."""
    lines = [f"{'htp-edge':>22}: {result['htp_edge']}",
             f"{'platform':>22}: {result['system']} {result['machine']}"]
    lines += [f"{key:>22}: {_or_none(result.get(key))}" for key in _VERSION_KEYS]
    providers = result.get("onnxruntime_providers")
    lines.append(f"{'onnxruntime providers':>22}: {', '.join(providers) if providers else '-'}")
    lines.append(f"{'cuda device':>22}: {_device_line(result.get('cuda_device'))}")
    lines.append(f"{'jetson':>22}: {_jetson_line(result.get('jetson'))}")
    return "\n".join(lines)
