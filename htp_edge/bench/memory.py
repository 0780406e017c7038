"""Host and GPU memory of the benchmark process.

Host: the peak resident set size from ``getrusage`` and the current one from
``/proc/self/statm``. GPU: used/total memory from NVML (``nvidia-ml-py``) or, failing that,
``cudaMemGetInfo`` through cuda-python; ``None`` where neither works (no GPU, or a Jetson, whose
unified memory NVML does not report).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

MIB = 1 << 20


def peak_rss_mib() -> float | None:
    """Peak resident set size of this process in MiB, ``None`` where getrusage is missing."""
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    return peak / MIB if sys.platform == "darwin" else peak / 1024.0


def current_rss_mib(statm: str | Path = "/proc/self/statm") -> float | None:
    """Current resident set size in MiB from ``statm`` (second field, in pages)."""
    try:
        fields = Path(statm).read_text().split()
        pages = int(fields[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / MIB


def host_memory() -> dict:
    """``{"rss_mib": current, "peak_rss_mib": peak}`` of this process."""
    return {"rss_mib": current_rss_mib(), "peak_rss_mib": peak_rss_mib()}


def _gpu_memory_nvml(index: int) -> dict | None:
    import pynvml
    pynvml.nvmlInit()
    try:
        info = pynvml.nvmlDeviceGetMemoryInfo(pynvml.nvmlDeviceGetHandleByIndex(index))
    finally:
        pynvml.nvmlShutdown()
    return {"used_mib": info.used / MIB, "total_mib": info.total / MIB, "source": "nvml"}


def _gpu_memory_cudart(index: int) -> dict | None:
    from htp_edge.bench.platform import cudart_module
    cudart = cudart_module()
    if cudart is None:
        return None
    success = cudart.cudaError_t.cudaSuccess
    if cudart.cudaSetDevice(index)[0] != success:
        return None
    err, free, total = cudart.cudaMemGetInfo()
    if err != success:
        return None
    return {"used_mib": (total - free) / MIB, "total_mib": total / MIB, "source": "cuda-python"}


def gpu_memory(index: int = 0) -> dict | None:
    """``{"used_mib", "total_mib", "source"}`` of GPU ``index``, ``None`` when unavailable.

    Note that NVML reports the memory of the whole device, cudaMemGetInfo that of the device as
    seen by this process's context; neither separates this process from others.
    """
    for probe in (_gpu_memory_nvml, _gpu_memory_cudart):
        try:
            result = probe(index)
        except Exception:  # noqa: BLE001 - missing package, library, driver or device
            result = None
        if result is not None:
            return result
    return None
