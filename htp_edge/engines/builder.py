"""ONNX -> TensorRT engine, with a sidecar manifest, the engine-inspector JSON and a timing cache.

The build follows TensorRT's standard sequence: ``Builder(logger)``, ``create_network(flags)``,
``OnnxParser.parse_from_file`` (every parser error is reported), ``create_builder_config``,
workspace limit, optimisation level, ``profiling_verbosity = DETAILED``, timing cache,
``build_serialized_network``. Precision lives in the ONNX (FP16 ONNX or Q/DQ INT8) and the
network is strongly typed; TensorRT 10's weakly typed ``BuilderFlag.FP16`` is used only when asked
for (``fp16_flag_fallback``) and is refused on TensorRT 11, where it no longer exists.

Nothing is written until the plan exists, and every file is written atomically.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import time
from dataclasses import dataclass
from pathlib import Path

from htp_edge.artifacts import manifest as mf
from htp_edge.artifacts.files import ArtifactSet, atomic_write_bytes, sha256_bytes, sha256_file
from htp_edge.artifacts.naming import engine_name, inspector_path, manifest_path, timing_cache_name
from htp_edge.artifacts.specs import DeviceInfo
from htp_edge.engines.config import BuildConfig
from htp_edge.engines.onnx_info import onnx_info
from htp_edge.errors import HtpEdgeError
from htp_edge.runtime.cuda_mem import try_device_info
from htp_edge.runtime.trt_api import (
    TrtFeatures,
    detect_features,
    device_memory_bytes,
    get_logger,
    load_tensorrt,
    spec_to_json,
    tensor_io,
)

FP16_ONNX_HINT = "Make an FP16 ONNX with `htp-edge quantize --precision fp16` and build that (strongly typed)"


@dataclass(frozen=True)
class BuildResult:
    """Paths of what :func:`build_engine` wrote, and the manifest it wrote."""

    engine: Path
    manifest: Path
    inspector: Path | None
    timing_cache: Path | None
    manifest_data: dict
    build_seconds: float


def build_engine(onnx_path, out_path, config: BuildConfig | None = None, *, trt=None,
                 device: DeviceInfo | None = None) -> BuildResult:
    """Build ``onnx_path`` into a TensorRT engine at ``out_path`` (a file, or a folder to name the
    engine from the config). ``trt`` and ``device`` are looked up when not given."""
    config = config or BuildConfig()
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise HtpEdgeError(f"build: ONNX file not found. Expected an existing .onnx file, got "
                           f"{str(onnx_path)!r}. Export one with `htp-edge export --out FILE.onnx`.")
    info = onnx_info(onnx_path)
    precision = _precision(info["precision"], config)
    trt = load_tensorrt(trt)
    features = detect_features(trt)
    check_features(config, features)
    device = device or try_device_info()
    _check_device(config, device)
    out_path = _resolve_out(Path(out_path), onnx_path, precision["name"], device)
    started = time.perf_counter()
    plan, cache_path, cache_bytes = _build_plan(trt, features, onnx_path, out_path, config, device)
    seconds = time.perf_counter() - started
    return _write_artifacts(trt, features, plan, onnx_path, out_path, config, device,
                            {**info, "precision": precision}, cache_path, cache_bytes, seconds)


def planner_config(config: BuildConfig) -> BuildConfig:
    """The config for a TCEP planner graph: its token-scoring path stays as exported (no weakly
    typed FP16 flag) and on the GPU (no DLA)."""
    return dataclasses.replace(config, fp16_flag_fallback=False, strongly_typed=True, dla_core=None)


def check_features(config: BuildConfig, features: TrtFeatures) -> None:
    """Refuse settings the loaded TensorRT cannot honour (never downgrade silently)."""
    if config.fp16_flag_fallback and not features.weak_typing:
        raise HtpEdgeError(
            f"build: --fp16-flag asks for the weakly typed BuilderFlag.FP16. Expected TensorRT 10.x, "
            f"got TensorRT {features.version}, where every network is strongly typed and the flag "
            f"no longer exists. {FP16_ONNX_HINT}.")
    if config.strongly_typed and features.weak_typing and not features.strongly_typed_flag:
        raise HtpEdgeError(
            f"build: strongly typed networks need NetworkDefinitionCreationFlag.STRONGLY_TYPED. "
            f"Expected TensorRT >= 10.0, got TensorRT {features.version}. Upgrade TensorRT.")


def network_flags(trt, config: BuildConfig, features: TrtFeatures) -> int:
    """Creation flags: STRONGLY_TYPED on TensorRT 10; none on 11 (always strongly typed there,
    the flag is deprecated and ignored)."""
    if features.weak_typing and config.strongly_typed:
        return 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    return 0


def _check_device(config: BuildConfig, device: DeviceInfo | None) -> None:
    expected = config.expected_compute_capability
    if expected and device is not None and device.cc != str(expected):
        raise HtpEdgeError(
            f"build: profile {config.profile} targets compute capability {expected}. Expected a "
            f"GPU with compute capability {expected}, got {device.name} ({device.cc}). Build on the "
            f"target device, or use --profile desktop for this GPU.")


def _precision(info: dict, config: BuildConfig) -> dict:
    if info["recipe"] == "int8-dynamic":
        raise HtpEdgeError(
            "build: this ONNX is dynamically quantised (int8-dynamic), the CPU format. Expected an "
            "FP32, FP16 or static Q/DQ INT8 ONNX, got int8-dynamic. Make the TensorRT format with "
            "`htp-edge quantize --precision int8 --calibration SRC` (Q/DQ) or build the FP32 ONNX.")
    name = mf.base_precision(info["recipe"])
    if config.fp16_flag_fallback:
        name = "fp16" if name in ("fp32", "unknown") else name
    return {**info, "name": name, "builder_fp16_flag": config.fp16_flag_fallback}


def _resolve_out(out_path: Path, onnx_path: Path, precision: str, device: DeviceInfo | None) -> Path:
    if not (out_path.is_dir() or str(out_path).endswith(("/", "\\"))):
        return out_path
    if device is None:
        raise HtpEdgeError(
            f"build: cannot name the engine. Expected a file name for --out or a visible GPU to "
            f"name it from, got the folder {str(out_path)!r} and no CUDA device information. "
            f"Pass --out FILE.engine.")
    return out_path / engine_name(onnx_path.stem, precision, device.compute_capability)


def _build_plan(trt, features, onnx_path, out_path, config, device):
    logger = get_logger(trt)
    with logger.capture() as records:
        builder = trt.Builder(logger)
        network = builder.create_network(network_flags(trt, config, features))
        parser = trt.OnnxParser(network, logger)
        if not parser.parse_from_file(str(onnx_path)):
            raise HtpEdgeError(_parser_message(trt, parser, onnx_path, records.errors()))
        builder_config = _builder_config(trt, builder, config)
        cache_path = _timing_cache_path(config, out_path, device, features.version)
        _attach_timing_cache(builder_config, cache_path)
        plan = builder.build_serialized_network(network, builder_config)
        if plan is None:
            raise HtpEdgeError(_build_failed_message(features, config, onnx_path, records.errors()))
        cache_bytes = None
        if cache_path is not None:
            cache_bytes = bytes(memoryview(builder_config.get_timing_cache().serialize()))
    return plan, cache_path, cache_bytes


def _parser_message(trt, parser, onnx_path, logged: list[str]) -> str:
    errors = [_format_parser_error(parser.get_error(i)) for i in range(parser.num_errors)]
    errors = errors or logged or ["parse_from_file returned False without an error"]
    return (f"ONNX parser: TensorRT could not parse {onnx_path}. Expected 0 parser errors, got "
            f"{len(errors)}: " + " | ".join(errors) + ". Check the export (opset 17, static "
            f"shapes, no NonZero/Loop) with `polygraphy inspect model {onnx_path}`.")


def _format_parser_error(error) -> str:
    name = error.node_name() or (f"node {error.node()}" if error.node() >= 0 else "graph")
    op = error.node_operator()
    return f"{name}{f' ({op})' if op else ''}: {error.desc()}"


def _build_failed_message(features, config, onnx_path, logged: list[str]) -> str:
    said = f" TensorRT said: {' | '.join(logged)}." if logged else ""
    dla = (" DLA builds need FP16/INT8 layers and keep GPU fallback on; retry without --dla-core."
           if config.dla_core is not None else "")
    return (f"build: TensorRT {features.version} failed to build {onnx_path}. Expected a serialized "
            f"engine, got None.{said}{dla} Try a larger --workspace (now {config.workspace_mib} MiB) "
            f"or run with --debug for TensorRT's log.")


def _builder_config(trt, builder, config: BuildConfig):
    bc = builder.create_builder_config()
    bc.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, config.workspace_bytes)
    bc.builder_optimization_level = config.builder_optimization_level
    bc.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    if config.fp16_flag_fallback:
        bc.set_flag(trt.BuilderFlag.FP16)
    if config.dla_core is not None:
        _use_dla(trt, builder, bc, config)
    return bc


def _use_dla(trt, builder, bc, config: BuildConfig) -> None:
    available = int(builder.num_DLA_cores)
    if config.dla_core >= available:
        raise HtpEdgeError(
            f"build: DLA core {config.dla_core} requested. Expected a core in 0..{available - 1}, "
            f"got {config.dla_core} on a device with {available} DLA core(s). Drop --dla-core to "
            f"build for the GPU.")
    bc.default_device_type = trt.DeviceType.DLA
    bc.DLA_core = config.dla_core
    if config.dla_gpu_fallback:
        bc.set_flag(trt.BuilderFlag.GPU_FALLBACK)


def _timing_cache_path(config: BuildConfig, out_path: Path, device, trt_version: str) -> Path | None:
    if config.timing_cache is None:
        return None
    if config.timing_cache == "auto":
        name = device.name if device else None
        sm = device.compute_capability if device else None
        return out_path.parent / timing_cache_name(name, sm, trt_version)
    return Path(config.timing_cache)


def _attach_timing_cache(bc, cache_path: Path | None) -> None:
    if cache_path is None:
        return
    data = cache_path.read_bytes() if cache_path.is_file() else b""
    cache = bc.create_timing_cache(data)
    bc.set_timing_cache(cache, False)


def _write_artifacts(trt, features, plan, onnx_path, out_path, config, device, info,
                     cache_path, cache_bytes, seconds) -> BuildResult:
    _runtime, engine, inspector_json = _inspect(trt, plan)
    inputs, outputs = tensor_io(trt, engine)
    layers_path = inspector_path(out_path) if inspector_json is not None else None
    if cache_path is not None and cache_bytes:
        atomic_write_bytes(cache_path, cache_bytes)
    data = {
        "format": mf.FORMAT,
        "engine": {"file": out_path.name, "sha256": sha256_bytes(plan), "bytes": memoryview(plan).nbytes,
                   "device_memory_bytes": device_memory_bytes(engine, features),
                   "inspector": layers_path.name if layers_path else None},
        "onnx": {"path": str(onnx_path), "file": onnx_path.name, "sha256": sha256_file(onnx_path)},
        "precision": info["precision"],
        "graph": info["graph"],
        "inputs": [spec_to_json(s) for s in inputs],
        "outputs": [spec_to_json(s) for s in outputs],
        "tensorrt": {"version": features.version,
                     "strongly_typed": config.strongly_typed or not features.weak_typing},
        "device": device.to_json() if device else {"name": None, "compute_capability": None},
        "cuda": {"runtime": device.cuda_runtime if device else None,
                 "driver": device.cuda_driver if device else None},
        "jetson": mf.l4t_release(),
        "dla_core": config.dla_core,
        "builder": {**config.to_json(), "profiling_verbosity": "DETAILED",
                    "timing_cache_file": str(cache_path) if cache_path else None,
                    "build_seconds": round(seconds, 3)},
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "htp_edge_version": _version(),
    }
    man_path = manifest_path(out_path)
    # one set: the plan, its inspector JSON and the manifest (which marks it complete) go in last
    with ArtifactSet([man_path, out_path, layers_path], inputs=[onnx_path], what="build") as staged:
        staged[out_path].write_bytes(memoryview(plan))
        if layers_path is not None:
            staged[layers_path].write_text(inspector_json)
        staged[man_path].write_text(json.dumps(data, indent=2) + "\n")
    return BuildResult(engine=out_path, manifest=man_path, inspector=layers_path,
                       timing_cache=cache_path if cache_bytes else None, manifest_data=data,
                       build_seconds=seconds)


def _inspect(trt, plan):
    """Deserialize the fresh plan for its I/O and the engine-inspector JSON."""
    logger = get_logger(trt)
    with logger.capture() as records:
        runtime = trt.Runtime(logger)
        engine = runtime.deserialize_cuda_engine(plan)
    if engine is None:
        raise HtpEdgeError(f"build: the new plan does not deserialize. Expected an engine, got None. "
                           f"TensorRT said: {' | '.join(records.errors()) or 'nothing'}.")
    inspector = engine.create_engine_inspector()
    info = inspector.get_engine_information(trt.LayerInformationFormat.JSON)
    return runtime, engine, (str(info) if info else None)


def _version() -> str:
    from htp_edge import __version__
    return __version__
