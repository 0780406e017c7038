"""metadata_props of reduced-precision models and the stable hashes."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import pytest

from htp_edge.artifacts.files import sha256_file
from htp_edge.errors import HtpEdgeError
from htp_edge.precision.metadata import ModelMetadata, read_metadata, sha256_arrays, write_metadata
from tests.fixtures.tiny_onnx import graph_relu


def test_round_trip_keeps_other_keys(tmp_path):
    model = graph_relu()
    onnx.helper.set_model_props(model, {"htp_edge.graph": "{}", "author": "x"})
    write_metadata(model, "int8-qdq", source_onnx_sha256="a" * 64, calibration_sha256="b" * 64,
                   recipe={"per_channel": False, "op_types": ["MatMul"]})
    write_metadata(model, "int8-qdq", source_onnx_sha256="c" * 64, calibration_sha256="b" * 64)
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    meta = read_metadata(path)
    assert meta == ModelMetadata(precision="int8-qdq", source_onnx_sha256="c" * 64,
                                 calibration_sha256="b" * 64, recipe={})
    keys = [p.key for p in onnx.load(str(path)).metadata_props]
    assert keys.count("htp_edge.precision") == 1 and {"htp_edge.graph", "author"} <= set(keys)


def test_absent_keys_read_as_none():
    assert read_metadata(graph_relu()) == ModelMetadata()


def test_unknown_precision_and_bad_recipe():
    with pytest.raises(HtpEdgeError, match="unknown precision"):
        write_metadata(graph_relu(), "int4")
    model = graph_relu()
    onnx.helper.set_model_props(model, {"htp_edge.recipe": "{not json"})
    with pytest.raises(HtpEdgeError, match="not valid JSON"):
        read_metadata(model)


def test_sha256_file(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    assert sha256_file(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_sha256_arrays_is_stable_and_sensitive():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4)).astype(np.float32)
    t = np.array([5, 7], dtype=np.int64)
    base = sha256_arrays([{"x": a, "t": t}, {"x": a * 2, "t": t}])
    assert base == sha256_arrays([{"t": t, "x": np.asfortranarray(a)}, {"x": a * 2, "t": t}])
    assert base == sha256_arrays(iter([{"x": a, "t": t}, {"x": a * 2, "t": t}]))
    assert base != sha256_arrays([{"x": a * 2, "t": t}, {"x": a, "t": t}])       # order
    assert base != sha256_arrays([{"x": a.astype(np.float64), "t": t}, {"x": a * 2, "t": t}])
    assert base != sha256_arrays([{"x": a.reshape(4, 3), "t": t}, {"x": a * 2, "t": t}])
    assert base != sha256_arrays([{"x": a, "u": t}, {"x": a * 2, "t": t}])       # names
    assert len(base) == 64


def test_precision_modules_import_lazily():
    code = ("import sys, htp_edge.precision, htp_edge.precision.fp16, htp_edge.precision.int8, "
            "htp_edge.precision.metadata; print(sorted(m for m in ('torch', 'tensorrt', 'onnx', "
            "'onnxruntime', 'onnxconverter_common', 'modelopt') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
