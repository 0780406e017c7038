"""What machine a benchmark ran on: package versions, the CUDA device, the Jetson module and its
power state.

Nothing here imports torch or tensorrt: versions come from package metadata. Every parser takes
the text a tool or file produced, so it can be tested on fixtures; the functions that run a tool
use a short timeout and return ``None`` when the tool is missing or fails.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import platform as _stdlib_platform
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Sequence

TOOL_TIMEOUT_S = 5.0

# Distributions that may provide each importable package (first installed one wins).
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "torch": ("torch",),
    "onnxruntime": ("onnxruntime", "onnxruntime-gpu"),
    "onnx": ("onnx",),
    "numpy": ("numpy",),
    "tensorrt": ("tensorrt", "tensorrt-cu13", "tensorrt-cu12"),
    "cuda_python": ("cuda-python", "cuda-bindings"),
    "pycuda": ("pycuda",),
    "pynvml": ("nvidia-ml-py", "pynvml"),
}

# L4T release -> JetPack release, where the pairing is known exactly.
JETPACK_BY_L4T: dict[str, str] = {
    "32.6.1": "4.6", "32.7.1": "4.6.1", "32.7.2": "4.6.2", "32.7.3": "4.6.3",
    "32.7.4": "4.6.4", "32.7.5": "4.6.5", "35.1.0": "5.0.2", "35.2.1": "5.1",
    "35.3.1": "5.1.1", "35.4.1": "5.1.2", "35.5.0": "5.1.3", "35.6.0": "5.1.4",
    "36.2.0": "6.0 DP", "36.3.0": "6.0", "36.4.0": "6.1", "36.4.3": "6.2", "36.4.4": "6.2.1",
    "38.2.0": "7.0",
}
# L4T major release -> JetPack major release, for releases missing from the table above.
JETPACK_MAJOR_BY_L4T_MAJOR: dict[int, int] = {32: 4, 35: 5, 36: 6, 38: 7}


# -- package versions ------------------------------------------------------------------------
def distribution_version(*names: str) -> str | None:
    """Version of the first installed distribution among ``names`` (no import), else ``None``."""
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _version_from_source(module: str) -> str | None:
    """Read ``__version__ = "x"`` from a package's ``__init__.py`` without importing it.

    For packages installed without metadata (TensorRT's Python bindings from apt on a Jetson).
    """
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    try:
        text = Path(spec.origin).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", text, re.MULTILINE)
    return match.group(1) if match else None


def tensorrt_version() -> str | None:
    """TensorRT's version from metadata, else from its source, without importing it."""
    return distribution_version(*DISTRIBUTIONS["tensorrt"]) or _version_from_source("tensorrt")


def package_versions() -> dict[str, str | None]:
    """``{key: version or None}`` for python and every key of :data:`DISTRIBUTIONS`."""
    versions: dict[str, str | None] = {"python": _stdlib_platform.python_version()}
    for key, names in DISTRIBUTIONS.items():
        versions[key] = distribution_version(*names)
    versions["tensorrt"] = tensorrt_version()
    return versions


def onnxruntime_providers() -> list[str] | None:
    """ONNX Runtime's available execution providers (imports onnxruntime), ``None`` if absent."""
    if importlib.util.find_spec("onnxruntime") is None:
        return None
    try:
        import onnxruntime
        return list(onnxruntime.get_available_providers())
    except Exception:  # noqa: BLE001 - a broken install is reported as "no providers"
        return None


# -- running tools ---------------------------------------------------------------------------
def run_tool(argv: Sequence[str], timeout_s: float = TOOL_TIMEOUT_S) -> str | None:
    """stdout of ``argv`` when it exists on PATH and exits 0 within ``timeout_s``; else ``None``."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout_s,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def _read_text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None


# -- Jetson ----------------------------------------------------------------------------------
def parse_tegra_release(text: str) -> dict | None:
    """Parse ``/etc/nv_tegra_release`` ("# R36 (release), REVISION: 4.3, ...") into
    ``{"l4t": "36.4.3", "board": ..., "date": ...}``; ``None`` if it has no release line."""
    match = re.search(r"#\s*R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", text)
    if match is None:
        return None
    revision = match.group(2).strip(".").split(".")
    revision += ["0"] * (2 - len(revision))
    fields = dict(re.findall(r"(\w+):\s*([^,\n]+)", text[match.end():].split("\n")[0]))
    return {"l4t": ".".join([match.group(1), *revision[:2]]),
            "board": fields.get("BOARD", "").strip() or None,
            "date": fields.get("DATE", "").strip() or None}


def jetpack_from_l4t(l4t: str) -> str | None:
    """JetPack release for an L4T release: exact when known (``36.4.3`` -> ``6.2``), else the
    family (``36.5.0`` -> ``6.x``); ``None`` for an unknown major release."""
    if l4t in JETPACK_BY_L4T:
        return JETPACK_BY_L4T[l4t]
    try:
        major = int(l4t.split(".")[0])
    except ValueError:
        return None
    family = JETPACK_MAJOR_BY_L4T_MAJOR.get(major)
    return f"{family}.x" if family is not None else None


def parse_device_tree_string(raw: str) -> list[str]:
    """Split a device-tree string property (NUL-separated) into its non-empty entries."""
    return [part.strip() for part in raw.split("\0") if part.strip()]


def parse_nvpmodel(text: str) -> dict | None:
    """Parse ``nvpmodel -q`` ("NV Power Mode: MAXN\\n0") into ``{"name": "MAXN", "id": 0}``."""
    match = re.search(r"NV Power Mode:[ \t]*(\S+)[ \t]*(?:\r?\n\s*(\d+))?", text)
    if match is None:
        return None
    mode_id = int(match.group(2)) if match.group(2) is not None else None
    return {"name": match.group(1), "id": mode_id}


def parse_jetson_clocks(text: str) -> dict | None:
    """Parse ``jetson_clocks --show``: are the online CPUs and the GPU pinned (min == max)?

    Returns ``{"on": bool, "cpus_pinned": k, "cpus_online": n, "gpu_pinned": bool or None}``;
    ``None`` when the text lists no CPU and no GPU.
    """
    cpus = re.findall(r"^cpu\d+:\s*Online=(\d)\b.*?MinFreq=(\d+)\s+MaxFreq=(\d+)", text,
                      re.MULTILINE)
    online = [(lo, hi) for flag, lo, hi in cpus if flag == "1"]
    gpu = re.search(r"^GPU\b.*?MinFreq=(\d+)\s+MaxFreq=(\d+)", text, re.MULTILINE)
    if not online and gpu is None:
        return None
    cpus_pinned = sum(lo == hi for lo, hi in online)
    gpu_pinned = None if gpu is None else gpu.group(1) == gpu.group(2)
    on = cpus_pinned == len(online) and gpu_pinned is not False
    return {"on": on, "cpus_pinned": cpus_pinned, "cpus_online": len(online),
            "gpu_pinned": gpu_pinned}


def nvpmodel_mode() -> dict | None:
    """The current nvpmodel power mode, ``None`` when ``nvpmodel`` is missing or fails."""
    text = run_tool(["nvpmodel", "-q"])
    return parse_nvpmodel(text) if text is not None else None


def jetson_clocks_on() -> bool | None:
    """Whether ``jetson_clocks`` pinned the clocks; ``None`` when unknown (tool missing, or not
    run as root, which ``jetson_clocks --show`` requires)."""
    text = run_tool(["jetson_clocks", "--show"])
    state = parse_jetson_clocks(text) if text is not None else None
    return state["on"] if state is not None else None


def detect_jetson(root: str | Path = "/", query_tools: bool = True) -> dict | None:
    """Describe the Jetson this runs on, or ``None`` on any other machine.

    Reads ``etc/nv_tegra_release`` and ``proc/device-tree/{model,compatible}`` under ``root``;
    with ``query_tools`` also asks ``nvpmodel`` and ``jetson_clocks`` for the power state.
    """
    root = Path(root)
    release_text = _read_text(root / "etc/nv_tegra_release")
    release = parse_tegra_release(release_text) if release_text else None
    model = parse_device_tree_string(_read_text(root / "proc/device-tree/model") or "")
    compatible = parse_device_tree_string(_read_text(root / "proc/device-tree/compatible") or "")
    socs = [c.split(",", 1)[1] for c in compatible if c.startswith("nvidia,tegra")]
    if release is None and not socs:
        return None
    l4t = release["l4t"] if release else None
    info = {"model": model[0] if model else None, "soc": socs[0] if socs else None,
            "l4t": l4t, "jetpack": jetpack_from_l4t(l4t) if l4t else None}
    if query_tools:
        info["nvpmodel"] = nvpmodel_mode()
        info["jetson_clocks"] = jetson_clocks_on()
    return info


# -- CUDA device -----------------------------------------------------------------------------
def parse_nvidia_smi(text: str) -> list[dict]:
    """Parse ``nvidia-smi --query-gpu=name,compute_cap,memory.total --format=csv,noheader``."""
    devices = []
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 3 or not parts[0]:
            continue
        memory = re.match(r"(\d+)\s*MiB", parts[2])
        compute = parts[1] if re.fullmatch(r"\d+\.\d+", parts[1]) else None
        devices.append({"name": parts[0], "compute_capability": compute,
                        "memory_total_mib": int(memory.group(1)) if memory else None})
    return devices


def cudart_module():
    """cuda-python's runtime bindings (new or old module path), or ``None``."""
    for name in ("cuda.bindings.runtime", "cuda.cudart"):
        try:
            return importlib.import_module(name)
        except Exception:  # noqa: BLE001 - absent or broken: try the next, then give up
            continue
    return None


def cuda_device_from_cudart(cudart, index: int = 0) -> dict | None:
    """Device ``index`` as seen by a cuda-python runtime module, ``None`` on any CUDA error."""
    success = cudart.cudaError_t.cudaSuccess
    err, count = cudart.cudaGetDeviceCount()
    if err != success or count <= index:
        return None
    err, props = cudart.cudaGetDeviceProperties(index)
    if err != success:
        return None
    name = props.name.split(b"\0", 1)[0].decode() if isinstance(props.name, bytes) else str(props.name)
    return {"name": name, "compute_capability": f"{props.major}.{props.minor}",
            "memory_total_mib": int(props.totalGlobalMem) // (1 << 20), "count": int(count),
            "source": "cuda-python"}


def cuda_device(index: int = 0) -> dict | None:
    """The CUDA device via cuda-python, else via ``nvidia-smi``; ``None`` when there is none."""
    cudart = cudart_module()
    if cudart is not None:
        try:
            device = cuda_device_from_cudart(cudart, index)
        except Exception:  # noqa: BLE001 - no driver or an unexpected binding version
            device = None
        if device is not None:
            return device
    text = run_tool(["nvidia-smi", "--query-gpu=name,compute_cap,memory.total",
                     "--format=csv,noheader"])
    devices = parse_nvidia_smi(text) if text else []
    if len(devices) <= index:
        return None
    return {**devices[index], "count": len(devices), "source": "nvidia-smi"}


# -- everything together ---------------------------------------------------------------------
def environment_info(include_providers: bool = True) -> dict:
    """Versions, machine, CUDA device and Jetson state, as recorded with every benchmark.

    ``include_providers`` imports onnxruntime to list its execution providers; nothing imports
    torch or tensorrt.
    """
    info: dict = package_versions()
    info.update({
        "python_executable": sys.executable,
        "machine": _stdlib_platform.machine(),
        "system": _stdlib_platform.system(),
        "onnxruntime_providers": onnxruntime_providers() if include_providers else None,
        "cuda_device": cuda_device(),
        "jetson": detect_jetson(),
    })
    return info
