"""Host RSS and GPU memory probes."""
from __future__ import annotations

import os
import sys
from types import SimpleNamespace

from htp_edge.bench import memory


def test_host_rss_is_plausible():
    info = memory.host_memory()
    # statm and getrusage count pages at different moments: equal only to within a few pages.
    assert 1.0 < info["rss_mib"] < 1 << 20
    assert info["peak_rss_mib"] > 0.9 * info["rss_mib"]


def test_current_rss_from_statm(tmp_path):
    statm = tmp_path / "statm"
    statm.write_text("100000 2560 300 1 0 5000 0\n")
    expected = 2560 * os.sysconf("SC_PAGE_SIZE") / (1 << 20)
    assert memory.current_rss_mib(statm) == expected
    assert memory.current_rss_mib(tmp_path / "missing") is None
    statm.write_text("garbage")
    assert memory.current_rss_mib(statm) is None


def test_gpu_memory_through_nvml(monkeypatch):
    calls = []
    fake = SimpleNamespace(
        nvmlInit=lambda: calls.append("init"), nvmlShutdown=lambda: calls.append("shutdown"),
        nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetMemoryInfo=lambda h: SimpleNamespace(used=512 << 20, total=8192 << 20))
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    assert memory.gpu_memory() == {"used_mib": 512.0, "total_mib": 8192.0, "source": "nvml"}
    assert calls == ["init", "shutdown"]


def test_gpu_memory_through_cudart(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails
    cudart = SimpleNamespace(cudaError_t=SimpleNamespace(cudaSuccess=0),
                             cudaSetDevice=lambda i: (0,),
                             cudaMemGetInfo=lambda: (0, 6 << 30, 8 << 30))
    monkeypatch.setattr("htp_edge.bench.platform.cudart_module", lambda: cudart)
    assert memory.gpu_memory() == {"used_mib": 2048.0, "total_mib": 8192.0,
                                   "source": "cuda-python"}


def test_gpu_memory_none_without_gpu(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.setattr("htp_edge.bench.platform.cudart_module", lambda: None)
    assert memory.gpu_memory() is None
