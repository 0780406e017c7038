"""Parsers of Jetson/CUDA tool output, Jetson detection and version look-ups (no imports)."""
from __future__ import annotations

import sys
import textwrap
from types import SimpleNamespace

import pytest

from htp_edge.bench import platform as plat


# -- Jetson files and tools --------------------------------------------------------------------
@pytest.mark.parametrize("name, l4t, jetpack", [
    ("nv_tegra_release_r36.4.3.txt", "36.4.3", "6.2"),
    ("nv_tegra_release_r35.4.1.txt", "35.4.1", "5.1.2"),
    ("nv_tegra_release_r32.7.1.txt", "32.7.1", "4.6.1"),
])
def test_tegra_release_and_jetpack(fixture_text, name, l4t, jetpack):
    release = plat.parse_tegra_release(fixture_text(name))
    assert release["l4t"] == l4t
    assert plat.jetpack_from_l4t(release["l4t"]) == jetpack


def test_tegra_release_fields_and_garbage(fixture_text):
    release = plat.parse_tegra_release(fixture_text("nv_tegra_release_r36.4.3.txt"))
    assert release["board"] == "generic"
    assert release["date"] == "Wed Jan  8 01:49:37 UTC 2025"
    assert plat.parse_tegra_release("Ubuntu 22.04") is None


@pytest.mark.parametrize("l4t, jetpack", [
    ("36.4.0", "6.1"), ("36.9.1", "6.x"), ("38.2.0", "7.0"), ("38.7.0", "7.x"),
    ("35.9.9", "5.x"), ("99.1.0", None), ("nonsense", None),
])
def test_jetpack_from_l4t(l4t, jetpack):
    assert plat.jetpack_from_l4t(l4t) == jetpack


@pytest.mark.parametrize("name, mode", [
    ("nvpmodel_agx_orin_maxn.txt", {"name": "MAXN", "id": 0}),
    ("nvpmodel_orin_nano_15w.txt", {"name": "15W", "id": 0}),
    ("nvpmodel_orin_nano_super.txt", {"name": "MAXN_SUPER", "id": 2}),
])
def test_parse_nvpmodel(fixture_text, name, mode):
    assert plat.parse_nvpmodel(fixture_text(name)) == mode


def test_parse_nvpmodel_without_id_or_mode():
    assert plat.parse_nvpmodel("NV Power Mode: 30W") == {"name": "30W", "id": None}
    assert plat.parse_nvpmodel("nvpmodel: command failed") is None


@pytest.mark.parametrize("name, expected", [
    ("jetson_clocks_agx_orin_on.txt",
     {"on": True, "cpus_pinned": 12, "cpus_online": 12, "gpu_pinned": True}),
    ("jetson_clocks_agx_orin_off.txt",
     {"on": False, "cpus_pinned": 0, "cpus_online": 12, "gpu_pinned": False}),
    # Offline CPUs (15 W mode) do not count against the pinning.
    ("jetson_clocks_orin_nano_15w_on.txt",
     {"on": True, "cpus_pinned": 4, "cpus_online": 4, "gpu_pinned": True}),
])
def test_parse_jetson_clocks(fixture_text, name, expected):
    assert plat.parse_jetson_clocks(fixture_text(name)) == expected


def test_parse_jetson_clocks_gpu_only_differs(fixture_text):
    text = fixture_text("jetson_clocks_agx_orin_on.txt").replace(
        "GPU MinFreq=1300500000", "GPU MinFreq=306000000")
    state = plat.parse_jetson_clocks(text)
    assert state["on"] is False and state["cpus_pinned"] == 12
    assert plat.parse_jetson_clocks("Error: Run this script as a root user") is None


def _fake_jetson_root(tmp_path, fixture_text):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/nv_tegra_release").write_text(fixture_text("nv_tegra_release_r36.4.3.txt"))
    dt = tmp_path / "proc/device-tree"
    dt.mkdir(parents=True)
    dt.joinpath("model").write_bytes(b"NVIDIA Jetson AGX Orin Developer Kit\0")
    dt.joinpath("compatible").write_bytes(
        b"nvidia,p3737-0000+p3701-0005\0nvidia,p3701-0005\0nvidia,tegra234\0")
    return tmp_path


def test_detect_jetson_from_files(tmp_path, fixture_text):
    root = _fake_jetson_root(tmp_path, fixture_text)
    assert plat.detect_jetson(root, query_tools=False) == {
        "model": "NVIDIA Jetson AGX Orin Developer Kit", "soc": "tegra234",
        "l4t": "36.4.3", "jetpack": "6.2"}


def test_detect_jetson_queries_power_tools(tmp_path, fixture_text, monkeypatch):
    root = _fake_jetson_root(tmp_path, fixture_text)
    outputs = {"nvpmodel": fixture_text("nvpmodel_agx_orin_maxn.txt"),
               "jetson_clocks": fixture_text("jetson_clocks_agx_orin_on.txt")}
    monkeypatch.setattr(plat, "run_tool", lambda argv, timeout_s=5.0: outputs.get(argv[0]))
    info = plat.detect_jetson(root)
    assert info["nvpmodel"] == {"name": "MAXN", "id": 0}
    assert info["jetson_clocks"] is True


def test_detect_jetson_elsewhere(tmp_path):
    assert plat.detect_jetson(tmp_path) is None
    dt = tmp_path / "proc/device-tree"
    dt.mkdir(parents=True)
    dt.joinpath("model").write_bytes(b"Raspberry Pi 4 Model B Rev 1.4\0")
    dt.joinpath("compatible").write_bytes(b"raspberrypi,4-model-b\0brcm,bcm2711\0")
    assert plat.detect_jetson(tmp_path, query_tools=False) is None


# -- CUDA device -------------------------------------------------------------------------------
def _fake_cudart(count=1, err=0):
    props = SimpleNamespace(name=b"NVIDIA H100 80GB HBM3\0\0\0", major=9, minor=0,
                            totalGlobalMem=85_045_821_440)
    return SimpleNamespace(cudaError_t=SimpleNamespace(cudaSuccess=0),
                           cudaGetDeviceCount=lambda: (err, count),
                           cudaGetDeviceProperties=lambda index: (err, props))


def test_cuda_device_from_cudart():
    assert plat.cuda_device_from_cudart(_fake_cudart()) == {
        "name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0",
        "memory_total_mib": 81106, "count": 1, "source": "cuda-python"}
    assert plat.cuda_device_from_cudart(_fake_cudart(count=0)) is None
    assert plat.cuda_device_from_cudart(_fake_cudart(err=100)) is None


def test_parse_nvidia_smi(fixture_text):
    devices = plat.parse_nvidia_smi(fixture_text("nvidia_smi_two_gpus.txt"))
    assert devices[0] == {"name": "NVIDIA GeForce RTX 4090", "compute_capability": "8.9",
                          "memory_total_mib": 24564}
    assert devices[1]["name"] == "NVIDIA RTX A2000 12GB"
    assert plat.parse_nvidia_smi("Orin (nvgpu), [N/A], [N/A]\n") == [
        {"name": "Orin (nvgpu)", "compute_capability": None, "memory_total_mib": None}]
    assert plat.parse_nvidia_smi("") == []


def test_cuda_device_falls_back_to_nvidia_smi(monkeypatch, fixture_text):
    monkeypatch.setattr(plat, "cudart_module", lambda: _fake_cudart(err=35))  # driver too old
    monkeypatch.setattr(plat, "run_tool",
                        lambda argv, timeout_s=5.0: fixture_text("nvidia_smi_two_gpus.txt"))
    device = plat.cuda_device(index=1)
    assert device["name"] == "NVIDIA RTX A2000 12GB"
    assert (device["count"], device["source"]) == (2, "nvidia-smi")


def test_cuda_device_none_without_tools(monkeypatch):
    monkeypatch.setattr(plat, "cudart_module", lambda: None)
    monkeypatch.setattr(plat, "run_tool", lambda argv, timeout_s=5.0: None)
    assert plat.cuda_device() is None


# -- tools and versions --------------------------------------------------------------------------
def test_run_tool(tmp_path):
    assert plat.run_tool(["htp-edge-no-such-tool-xyz"]) is None
    assert plat.run_tool([sys.executable, "-c", "print('hi')"]) == "hi\n"
    assert plat.run_tool([sys.executable, "-c", "raise SystemExit(3)"]) is None
    slow = [sys.executable, "-c", "import time; time.sleep(5)"]
    assert plat.run_tool(slow, timeout_s=0.3) is None


def test_package_versions_without_importing():
    versions = plat.package_versions()
    assert {"python", "torch", "onnxruntime", "tensorrt", "numpy", "onnx"} <= set(versions)
    assert versions["python"] == ".".join(map(str, sys.version_info[:3]))
    assert versions["numpy"] is not None
    assert plat.distribution_version("htp-edge-no-such-dist", "numpy") == versions["numpy"]
    assert plat.distribution_version("htp-edge-no-such-dist") is None


def test_tensorrt_version_from_source_without_import(tmp_path, monkeypatch):
    # A package without metadata whose import would fail: the version is read, not imported.
    pkg = tmp_path / "tensorrt"
    pkg.mkdir()
    pkg.joinpath("__init__.py").write_text(textwrap.dedent("""\
        raise RuntimeError("imported")
        __version__ = "10.3.0"
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(plat, "distribution_version", lambda *names: None)
    assert plat.tensorrt_version() == "10.3.0"
    assert "tensorrt" not in sys.modules


def test_environment_info_keys(monkeypatch):
    monkeypatch.setattr(plat, "cuda_device", lambda: None)
    info = plat.environment_info(include_providers=False)
    assert {"python", "torch", "onnxruntime", "tensorrt", "cuda_device", "jetson", "machine",
            "onnxruntime_providers"} <= set(info)
    assert info["onnxruntime_providers"] is None
