"""load_engine: manifest checks, clear errors for foreign/truncated plans, name-based I/O."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from htp_edge.engines import BuildConfig, build_engine, load_engine, manifest_path
from htp_edge.errors import HtpEdgeError
from tests.engines.fake_tensorrt import make_fake_tensorrt
from tests.engines.helpers import ORIN, RTX


@pytest.fixture
def built(fake_trt, tiny_onnx, tmp_path):
    return build_engine(tiny_onnx, tmp_path / "tiny.engine", BuildConfig.from_profile("orin-agx"), device=ORIN)


def test_load_introspects_io_by_name(fake_trt, built):
    loaded = load_engine(built.engine, device=ORIN)
    assert [(s.name, s.shape, s.dtype) for s in loaded.inputs] == [("keypoints_2d", (1, 9, 17, 2), np.float32)]
    assert [(s.name, s.shape) for s in loaded.outputs] == [("poses_3d", (1, 9, 17, 3))]
    assert loaded.manifest["tensorrt"]["version"] == fake_trt.__version__
    assert loaded.create_execution_context() is not None


def _other(flavour: str) -> str:
    return "11.4" if flavour == "10.3" else "10.3"


def test_other_tensorrt_version_is_refused_with_rebuild_command(flavour, built, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", make_fake_tensorrt(_other(flavour)))
    with pytest.raises(HtpEdgeError) as info:
        load_engine(built.engine, device=ORIN)
    message = str(info.value)
    assert "built with another TensorRT" in message
    onnx_path = built.manifest_data["onnx"]["path"]
    assert f"htp-edge build --onnx {onnx_path} --out {built.engine} --profile orin-agx" in message


def test_other_tensorrt_without_manifest_fails_in_deserialize(flavour, built, monkeypatch):
    manifest_path(built.engine).unlink()
    monkeypatch.setitem(sys.modules, "tensorrt", make_fake_tensorrt(_other(flavour)))
    with pytest.raises(HtpEdgeError, match=r"no manifest \(tiny.engine.json\).*check_manifest=False"):
        load_engine(built.engine, device=ORIN)  # fail closed: a plan without its manifest is refused
    with pytest.raises(HtpEdgeError,
                       match=r"cannot deserialize.*TensorRT said: fake: plan built with.*Rebuild: htp-edge build"):
        load_engine(built.engine, device=ORIN, check_manifest=False)


def test_other_gpu_is_refused(fake_trt, built):
    with pytest.raises(HtpEdgeError, match=r"another GPU\. Expected compute capability 8\.9 .* got 8\.7 \(Orin\)"):
        load_engine(built.engine, device=RTX)
    assert load_engine(built.engine, device=RTX, check_manifest=False).engine is not None


@pytest.mark.parametrize("damage", ["truncate", "empty", "foreign"])
def test_damaged_plan_is_a_clear_error(fake_trt, built, tiny_onnx, damage):
    data = built.engine.read_bytes()
    new = {"truncate": data[: len(data) // 2], "empty": b"", "foreign": tiny_onnx.read_bytes()}[damage]
    built.engine.write_bytes(new)
    with pytest.raises(HtpEdgeError, match=r"its bytes do not match the manifest .* replaced or truncated"):
        load_engine(built.engine, device=ORIN)
    with pytest.raises(HtpEdgeError, match=rf"cannot deserialize it\. .* got {len(new)} bytes that are truncated"):
        load_engine(built.engine, device=ORIN, check_manifest=False)


@pytest.mark.parametrize("field", ["engine", "tensorrt", "device"])
def test_manifest_without_its_checks_is_refused(fake_trt, built, field):
    import json
    path = manifest_path(built.engine)
    data = json.loads(path.read_text())
    del data[field]
    path.write_text(json.dumps(data))
    with pytest.raises(HtpEdgeError, match=rf"lacks {field}\."):
        load_engine(built.engine, device=ORIN)


def test_missing_engine_and_bad_manifest(fake_trt, built, tmp_path):
    with pytest.raises(HtpEdgeError, match="file not found"):
        load_engine(tmp_path / "nope.engine")
    manifest_path(built.engine).write_text("{not json")
    with pytest.raises(HtpEdgeError, match="cannot read"):
        load_engine(built.engine, device=ORIN)
    manifest_path(built.engine).write_text(json.dumps({"format": "something else"}))
    with pytest.raises(HtpEdgeError, match="not an htp-edge engine manifest"):
        load_engine(built.engine, device=ORIN)


def test_loader_without_tensorrt(built, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(HtpEdgeError, match="tensorrt: not installed"):
        load_engine(built.engine, device=ORIN)
