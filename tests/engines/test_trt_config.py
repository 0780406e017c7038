"""Device profiles, BuildConfig validation and artifact names."""
from __future__ import annotations

import json

import pytest

from htp_edge.artifacts.naming import manifest_path, planner_engine, planner_onnx, sm_tag, timing_cache_name
from htp_edge.engines import BuildConfig, available_profiles, engine_name, load_profile
from htp_edge.engines.config import MIB
from htp_edge.errors import HtpEdgeError


def test_the_four_profiles_load():
    assert {"desktop", "orin-agx", "orin-nx", "orin-nano"} <= set(available_profiles())
    agx, nano = load_profile("orin-agx"), load_profile("orin-nano")
    assert agx.compute_capability == "8.7" and agx.dla_cores == 2 and nano.dla_cores == 0
    assert load_profile("desktop").compute_capability is None


def test_from_profile_with_overrides():
    config = BuildConfig.from_profile("orin-nx", workspace_mib=512, builder_optimization_level=5, dla_core=0)
    assert config.workspace_bytes == 512 * MIB and config.builder_optimization_level == 5
    assert config.dla_core == 0 and config.profile == "orin-nx" and config.dla_cores == 2
    assert BuildConfig.from_profile("orin-nx", timing_cache="none").timing_cache is None
    assert BuildConfig.from_profile("desktop", builder_optimization_level=None).builder_optimization_level == 3


def test_profile_from_a_json_path(tmp_path):
    path = tmp_path / "thor.json"
    path.write_text(json.dumps({"name": "thor", "workspace_mib": 8192, "compute_capability": "11.0"}))
    config = BuildConfig.from_profile(str(path))
    assert config.profile == "thor" and config.workspace_mib == 8192


@pytest.mark.parametrize("kwargs, match", [
    ({"workspace_bytes": 0}, "workspace must be positive"),
    ({"builder_optimization_level": 6}, r"Expected 0\.\.5"),
    ({"dla_core": -1}, "DLA core must be >= 0"),
])
def test_bad_configs(kwargs, match):
    with pytest.raises(HtpEdgeError, match=match):
        BuildConfig(**kwargs)


def test_unknown_profile_and_setting():
    with pytest.raises(HtpEdgeError, match="unknown profile.*orin-agx"):
        BuildConfig.from_profile("jetson-tx2")
    with pytest.raises(HtpEdgeError, match="unknown setting"):
        BuildConfig.from_profile("desktop", workspace_gb=2)


def test_names():
    assert (engine_name("htp_f243_n121_m61_c1_h5_flip_k5", "fp16", (8, 7))
            == "htp_f243_n121_m61_c1_h5_flip_k5_fp16_sm87.engine")
    assert engine_name("htp_fp16.onnx", "fp16", "8.7") == "htp_fp16_sm87.engine"
    assert sm_tag("sm_90") == "90" and sm_tag("12.0") == "120"
    with pytest.raises(HtpEdgeError):
        engine_name("x", "fp64", "8.7")
    assert manifest_path("a/x.engine").name == "x.engine.json"
    assert planner_onnx("a/x.onnx").name == "x.planner.onnx" and planner_engine("x.engine").name == "x.planner.engine"
    assert timing_cache_name("NVIDIA GeForce RTX 4090", "8.9", "11.4.0.106") == \
        "timing_nvidia-geforce-rtx-4090_sm89_trt11.4.0.106.cache"
