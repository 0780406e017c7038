"""Comparison, inspector summary and synthetic inputs of htp_edge.engines.validation."""
from __future__ import annotations

import json

import numpy as np
import pytest

from htp_edge.artifacts.specs import TensorSpec
from htp_edge.engines.validation import device_precision, make_inputs, summarize_inspector
from htp_edge.errors import HtpEdgeError
from htp_edge.runtime.compare import compare_outputs
from htp_edge.tolerances import device_tolerances


def _device(ref, got, precision):
    return compare_outputs(ref, got, device_tolerances(device_precision(precision))).to_json()


def test_compare_pose_and_index_outputs():
    ref = {"pose_3d": np.zeros((2, 9, 17, 3), np.float32), "kept_frames": np.arange(6).reshape(2, 3)}
    got = {"pose_3d": ref["pose_3d"] + np.float32(0.004), "kept_frames": ref["kept_frames"].copy()}
    fp16 = _device(ref, got, "fp16")
    assert fp16["passed"] and fp16["outputs"]["pose_3d"]["atol"] == 5e-2
    assert fp16["outputs"]["pose_3d"]["mpjpe_delta_mm"] == pytest.approx(np.sqrt(3) * 4, rel=1e-4)
    assert fp16["outputs"]["kept_frames"]["agreement"] == 1.0
    assert not _device(ref, got, "fp32")["passed"]
    got["kept_frames"][0, 0] = 99
    assert not _device(ref, got, "int8-qdq")["outputs"]["kept_frames"]["passed"]
    with pytest.raises(HtpEdgeError, match="missing"):
        _device(ref, {"pose_3d": got["pose_3d"]}, "fp16")
    with pytest.raises(HtpEdgeError, match="unknown precision"):
        device_precision("fp64")


def test_non_finite_and_shape_mismatch_fail():
    ref = {"y": np.zeros((2, 3), np.float32)}
    nan = _device(ref, {"y": np.full((2, 3), np.nan, np.float32)}, "int8")
    assert not nan["passed"] and not nan["outputs"]["y"]["finite"]
    with pytest.raises(HtpEdgeError, match="shape differs"):
        _device(ref, {"y": np.zeros((3, 2), np.float32)}, "int8")


def test_inspector_summary():
    layers = {"Layers": [
        {"Name": "{ForeignNode[/blocks.0/attn/MatMul...]}", "LayerType": "Myelin", "TacticName": "_gemm_mha_v2",
         "Outputs": [{"Format/Datatype": "Row major linear FP16 format"}]},
        {"Name": "/mgptp/TopK", "LayerType": "TopK", "Outputs": [{"Format/Datatype": "Row major linear FP32 format"}]},
        {"Name": "q", "LayerType": "Reformat", "Outputs": [{"Format/Datatype": "Row major linear Int8 format"}]},
    ]}
    summary = summarize_inspector(json.dumps(layers))
    assert summary["layers"] == 3 and summary["per_precision"] == {"fp16": 1, "fp32": 1, "int8": 1}
    assert summary["attention_fused"] and summary["myelin_layers"] == 1
    names_only = summarize_inspector({"Layers": ["a", "b"]})
    assert names_only["layers"] == 2 and not names_only["attention_fused"]


def test_synthetic_inputs_follow_the_graph_conventions():
    specs = [TensorSpec("keypoints_2d", (2, 9, 17, 2), np.dtype(np.float32)),
             TensorSpec("timestep", (2,), np.dtype(np.float32)),
             TensorSpec("keep_frames", (2, 4), np.dtype(np.int64))]
    feed = make_inputs(specs, seed=1, frames=9)
    assert np.abs(feed["keypoints_2d"]).max() <= 1.0 and feed["keep_frames"].dtype == np.int64
    assert all(len(set(row)) == 4 and list(row) == sorted(row) and row.max() < 9 for row in feed["keep_frames"])
    assert feed["timestep"].min() >= 0 and feed["timestep"].max() < 1000
