"""build_engine against the recording fake tensorrt, for TensorRT 10.3 and 11.4."""
from __future__ import annotations

import json
import sys

import pytest

from htp_edge.engines import BuildConfig, build_engine
from htp_edge.errors import HtpEdgeError
from tests.engines.fake_tensorrt import MAGIC
from tests.engines.helpers import ORIN, RTX, write_tiny_onnx

ORIN_CFG = dict(profile="orin-agx")


def _names(trt) -> list[str]:
    return [name for name, _ in trt._calls]


def _args(trt, name: str) -> list[tuple]:
    return [args for n, args in trt._calls if n == name]


def _is_subsequence(wanted: list[str], seen: list[str]) -> bool:
    it = iter(seen)
    return all(name in it for name in wanted)


def test_build_sequence_is_the_standard_one(fake_trt, tiny_onnx, tmp_path):
    result = build_engine(tiny_onnx, tmp_path / "out" / "tiny.engine",
                          BuildConfig.from_profile("orin-agx"), device=ORIN)
    assert _is_subsequence([
        "Builder", "Builder.create_network", "OnnxParser", "OnnxParser.parse_from_file",
        "Builder.create_builder_config", "IBuilderConfig.set_memory_pool_limit",
        "IBuilderConfig.builder_optimization_level=", "IBuilderConfig.profiling_verbosity=",
        "IBuilderConfig.create_timing_cache", "IBuilderConfig.set_timing_cache",
        "Builder.build_serialized_network", "IBuilderConfig.get_timing_cache", "ITimingCache.serialize",
        "Runtime.deserialize_cuda_engine", "ICudaEngine.create_engine_inspector",
        "EngineInspector.get_engine_information"], _names(fake_trt))
    assert _args(fake_trt, "IBuilderConfig.set_memory_pool_limit") == [
        (fake_trt.MemoryPoolType.WORKSPACE, 2048 << 20)]
    assert _args(fake_trt, "IBuilderConfig.profiling_verbosity=") == [(fake_trt.ProfilingVerbosity.DETAILED,)]
    assert _args(fake_trt, "IBuilderConfig.builder_optimization_level=") == [(3,)]
    assert _args(fake_trt, "IBuilderConfig.set_flag") == []  # no precision flag, no DLA
    assert _args(fake_trt, "EngineInspector.get_engine_information") == [(fake_trt.LayerInformationFormat.JSON,)]
    assert result.engine.read_bytes().startswith(MAGIC)  # a plain plan: nothing glued on
    assert result.manifest.name == "tiny.engine.json" and result.inspector.name == "tiny.engine.layers.json"
    assert json.loads(result.inspector.read_text())["Layers"]


def test_strongly_typed_flag_used_where_it_exists(fake_trt, tiny_onnx, tmp_path):
    build_engine(tiny_onnx, tmp_path / "t.engine", BuildConfig(), device=ORIN)
    (flags,), = _args(fake_trt, "Builder.create_network")
    if fake_trt._flavour == "10.3":
        assert flags == 1 << int(fake_trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    else:  # TensorRT 11: always strongly typed, the deprecated flag is not passed
        assert flags == 0


def test_fp16_flag_fallback_only_on_10_3_and_only_when_asked(fake_trt, tmp_path):
    onnx = write_tiny_onnx(tmp_path / "fp32.onnx")
    config = BuildConfig(fp16_flag_fallback=True, strongly_typed=False)
    if fake_trt._flavour == "11.4":
        with pytest.raises(HtpEdgeError, match=r"htp-edge quantize --precision fp16"):
            build_engine(onnx, tmp_path / "t.engine", config, device=ORIN)
        assert "Builder" not in _names(fake_trt)
        assert not (tmp_path / "t.engine").exists()
        return
    result = build_engine(onnx, tmp_path, config, device=ORIN)
    assert _args(fake_trt, "IBuilderConfig.set_flag") == [(fake_trt.BuilderFlag.FP16,)]
    assert _args(fake_trt, "Builder.create_network") == [(0,)]  # weakly typed
    assert result.engine.name == "fp32_fp16_sm87.engine"
    precision = result.manifest_data["precision"]
    assert precision["builder_fp16_flag"] is True and precision["recipe"] == "fp32"
    assert result.manifest_data["tensorrt"]["strongly_typed"] is False


def test_fp16_flag_needs_weak_typing_in_the_config():
    with pytest.raises(HtpEdgeError, match="weakly typed"):
        BuildConfig(fp16_flag_fallback=True)
    assert BuildConfig.from_profile("desktop", fp16_flag_fallback=True).strongly_typed is False


def test_every_parser_error_is_reported(fake_trt, tiny_onnx, tmp_path):
    fake_trt._state.parse_errors = [
        {"desc": "No importer registered for op: NonZero", "node": 3, "node_name": "/mask/NonZero",
         "node_operator": "NonZero"},
        {"desc": "Loop is not supported", "node": 7, "node_operator": "Loop"},
    ]
    with pytest.raises(HtpEdgeError) as info:
        build_engine(tiny_onnx, tmp_path / "t.engine", BuildConfig(), device=ORIN)
    message = str(info.value)
    assert "got 2:" in message and "\n" not in message
    assert "/mask/NonZero (NonZero): No importer registered for op: NonZero" in message
    assert "node 7 (Loop): Loop is not supported" in message
    assert _args(fake_trt, "OnnxParser.get_error") == [(0,), (1,)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.onnx"]


def test_build_failure_leaves_no_file(fake_trt, tiny_onnx, tmp_path):
    fake_trt._state.build_returns_none = True
    out = tmp_path / "out" / "t.engine"
    with pytest.raises(HtpEdgeError, match=r"got None\. TensorRT said: fake: could not find"):
        build_engine(tiny_onnx, out, BuildConfig(), device=ORIN)
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_timing_cache_is_reused_per_gpu_and_version(fake_trt, tiny_onnx, tmp_path):
    first = build_engine(tiny_onnx, tmp_path / "a.engine", BuildConfig(), device=ORIN)
    assert first.timing_cache.name == f"timing_orin_sm87_trt{fake_trt.__version__}.cache"
    cached = first.timing_cache.read_bytes()
    fake_trt._calls.clear()
    build_engine(tiny_onnx, tmp_path / "b.engine", BuildConfig(), device=ORIN)
    assert _args(fake_trt, "IBuilderConfig.create_timing_cache") == [(cached,)]
    fake_trt._calls.clear()
    build_engine(tiny_onnx, tmp_path / "c.engine", BuildConfig(timing_cache="none"), device=ORIN)
    assert _args(fake_trt, "IBuilderConfig.create_timing_cache") == []


def test_manifest_describes_the_engine(fake_trt, tiny_onnx, tmp_path, monkeypatch):
    from htp_edge.artifacts import manifest as mf
    from htp_edge.artifacts.files import sha256_file

    release = tmp_path / "nv_tegra_release"
    release.write_text("# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64\n")
    monkeypatch.setattr(mf, "NV_TEGRA_RELEASE", str(release))
    result = build_engine(tiny_onnx, tmp_path / "t.engine", BuildConfig.from_profile("orin-agx"), device=ORIN)
    data = json.loads(result.manifest.read_text())
    assert data == result.manifest_data
    for key in ("format", "engine", "onnx", "precision", "inputs", "outputs", "tensorrt", "device",
                "cuda", "jetson", "dla_core", "builder", "created_utc", "graph"):
        assert key in data, key
    assert data["onnx"]["sha256"] == sha256_file(tiny_onnx)
    assert data["precision"]["recipe"] == "fp16" and data["precision"]["calibration_sha256"] == "ab" * 32
    assert data["inputs"] == [{"name": "keypoints_2d", "shape": [1, 9, 17, 2], "dtype": "float32"}]
    assert data["outputs"][0]["name"] == "poses_3d"
    assert data["tensorrt"]["version"] == fake_trt.__version__
    assert data["device"]["compute_capability"] == "8.7" and data["device"]["name"] == "Orin"
    assert data["cuda"]["runtime"] == "12.6"
    assert data["jetson"]["l4t_release"] == "36.4.3"
    assert data["builder"]["profile"] == "orin-agx" and data["builder"]["profiling_verbosity"] == "DETAILED"
    assert data["engine"]["sha256"] and data["engine"]["device_memory_bytes"] == 1 << 20


def test_engine_named_from_config_when_out_is_a_folder(fake_trt, tmp_path):
    onnx = write_tiny_onnx(tmp_path / "htp_f243_n121_m61_c1_h5_flip_k5.onnx", {"htp_edge.precision": "int8-qdq"})
    result = build_engine(onnx, tmp_path, BuildConfig(), device=ORIN)
    assert result.engine.name == "htp_f243_n121_m61_c1_h5_flip_k5_int8_sm87.engine"


def test_dla_is_opt_in_with_gpu_fallback(fake_trt, tiny_onnx, tmp_path):
    fake_trt._state.num_dla_cores = 2
    build_engine(tiny_onnx, tmp_path / "t.engine", BuildConfig.from_profile("orin-agx", dla_core=1), device=ORIN)
    assert _args(fake_trt, "IBuilderConfig.default_device_type=") == [(fake_trt.DeviceType.DLA,)]
    assert _args(fake_trt, "IBuilderConfig.DLA_core=") == [(1,)]
    assert _args(fake_trt, "IBuilderConfig.set_flag") == [(fake_trt.BuilderFlag.GPU_FALLBACK,)]


def test_dla_core_checked_against_profile_and_device(fake_trt, tiny_onnx, tmp_path):
    with pytest.raises(HtpEdgeError, match="no DLA"):
        BuildConfig.from_profile("orin-nano", dla_core=0)
    fake_trt._state.num_dla_cores = 1  # Orin NX 8 GB
    with pytest.raises(HtpEdgeError, match=r"Expected a core in 0\.\.0, got 1"):
        build_engine(tiny_onnx, tmp_path / "t.engine", BuildConfig.from_profile("orin-nx", dla_core=1), device=ORIN)
    assert not (tmp_path / "t.engine").exists()


def test_profile_for_another_gpu_is_refused(fake_trt, tiny_onnx, tmp_path):
    with pytest.raises(HtpEdgeError, match=r"compute capability 8\.7.*--profile desktop"):
        build_engine(tiny_onnx, tmp_path / "t.engine", BuildConfig.from_profile("orin-agx"), device=RTX)


def test_dynamic_int8_onnx_is_refused_before_tensorrt(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    onnx = write_tiny_onnx(tmp_path / "dyn.onnx", {"htp_edge.precision": "int8-dynamic"})
    with pytest.raises(HtpEdgeError, match="int8-qdq|Q/DQ"):
        build_engine(onnx, tmp_path / "t.engine", BuildConfig(), device=ORIN)


def test_without_tensorrt_a_clear_error(tiny_onnx, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # import tensorrt -> ImportError
    with pytest.raises(HtpEdgeError) as info:
        build_engine(tiny_onnx, tmp_path / "t.engine", BuildConfig(), device=ORIN)
    message = str(info.value)
    assert message.startswith("tensorrt: not installed.")
    assert "pip install htp_edge[trt]" in message and "--backend onnxruntime" in message


def test_missing_onnx_is_a_clear_error(tmp_path):
    with pytest.raises(HtpEdgeError, match="ONNX file not found"):
        build_engine(tmp_path / "nope.onnx", tmp_path / "t.engine", BuildConfig())
