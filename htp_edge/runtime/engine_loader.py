"""Load a TensorRT engine, refusing plans built for another TensorRT version or GPU.

The sidecar manifest (when present) is checked first, so a mismatch fails with the rebuild
command instead of TensorRT's "engine plan file is not compatible". A plan TensorRT cannot
deserialize (truncated, foreign, built elsewhere) fails the same clear way.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from htp_edge.artifacts.files import sha256_bytes
from htp_edge.artifacts.manifest import (
    check_compatible,
    check_plan_hash,
    manifest_from_file,
    rebuild_command,
    require_fields,
)
from htp_edge.artifacts.naming import manifest_path
from htp_edge.artifacts.specs import DeviceInfo, TensorSpec
from htp_edge.errors import HtpEdgeError
from htp_edge.runtime.cuda_mem import try_device_info
from htp_edge.runtime.trt_api import TrtFeatures, detect_features, get_logger, load_tensorrt, tensor_io


@dataclass
class LoadedEngine:
    """A deserialized engine with its runtime (kept alive with it), manifest and I/O specs."""

    path: Path
    trt: object
    runtime: object
    engine: object
    manifest: dict | None
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    features: TrtFeatures

    def create_execution_context(self):
        context = self.engine.create_execution_context()
        if context is None:
            raise HtpEdgeError(f"engine {self.path}: no execution context. Expected TensorRT to "
                               f"allocate one, got None. The GPU may be out of memory.")
        return context


def load_engine(path, *, trt=None, device: DeviceInfo | None = None,
                check_manifest: bool = True) -> LoadedEngine:
    """Deserialize the plan at ``path``. With ``check_manifest`` (the default) the sidecar
    ``<engine>.json`` must exist, carry the engine's sha256, TensorRT version and compute
    capability, name this machine's TensorRT and GPU, and describe these very bytes; without it
    (a plan from elsewhere, e.g. trtexec) only TensorRT's own check applies."""
    path = Path(path)
    if not path.is_file():
        raise HtpEdgeError(f"engine: file not found. Expected a TensorRT plan, got {str(path)!r}. "
                           f"Build one with `htp-edge build --onnx MODEL.onnx --out {path}`.")
    manifest = manifest_from_file(manifest_path(path))
    if check_manifest:
        if manifest is None:
            raise HtpEdgeError(f"engine {path}: no manifest ({manifest_path(path).name}). Expected the manifest "
                               f"`htp-edge build` writes beside the plan; for a plan built elsewhere pass "
                               f"check_manifest=False.")
        require_fields(manifest, path)
    trt = load_tensorrt(trt)
    features = detect_features(trt)
    if check_manifest:
        device = device or try_device_info()
        check_compatible(manifest, path, features.version, device.cc if device else None)
    runtime, engine = _deserialize(trt, path, manifest if check_manifest else None, features)
    inputs, outputs = tensor_io(trt, engine)
    return LoadedEngine(path=path, trt=trt, runtime=runtime, engine=engine, manifest=manifest,
                        inputs=inputs, outputs=outputs, features=features)


def _deserialize(trt, path: Path, manifest: dict | None, features: TrtFeatures):
    data = path.read_bytes()
    if manifest is not None:
        check_plan_hash(manifest, path, sha256_bytes(data))
    logger = get_logger(trt)
    with logger.capture() as records:
        runtime = trt.Runtime(logger)
        engine = runtime.deserialize_cuda_engine(data) if data else None
    if engine is None:
        built = ""
        if manifest:
            built = (f" (manifest: TensorRT {(manifest.get('tensorrt') or {}).get('version')}, "
                     f"compute capability {(manifest.get('device') or {}).get('compute_capability')})")
        said = f" TensorRT said: {' | '.join(records.errors())}." if records.errors() else ""
        raise HtpEdgeError(
            f"engine {path}: TensorRT {features.version} cannot deserialize it. Expected a plan "
            f"built by TensorRT {features.version} on this GPU, got {len(data)} bytes that are "
            f"truncated, not a TensorRT plan, or built with another TensorRT/GPU{built}.{said} "
            f"Rebuild: {rebuild_command(manifest, path)}")
    return runtime, engine
