"""TensorRT engines: build (ONNX -> plan + manifest), load, and name them.

Importing this package never imports ``tensorrt``: only :mod:`htp_edge.runtime.trt_api` does,
inside :func:`~htp_edge.runtime.trt_api.load_tensorrt`, when a build or load actually runs.

    from htp_edge.engines import BuildConfig, build_engine, load_engine
    config = BuildConfig.from_profile("orin-agx")
    result = build_engine("htp_fp16.onnx", "engines/out/", config)   # plan + <engine>.json
    loaded = load_engine(result.engine)                                # refuses TRT/GPU mismatches
"""
from __future__ import annotations

from htp_edge.artifacts.naming import engine_name, inspector_path, manifest_path
from htp_edge.engines.builder import BuildResult, build_engine
from htp_edge.engines.config import BuildConfig, DeviceProfile, available_profiles, load_profile
from htp_edge.runtime.engine_loader import LoadedEngine, load_engine
from htp_edge.runtime.trt_api import load_tensorrt

__all__ = [
    "BuildConfig", "BuildResult", "DeviceProfile", "LoadedEngine", "available_profiles",
    "build_engine", "engine_name", "inspector_path", "load_engine", "load_profile",
    "load_tensorrt", "manifest_path",
]
