"""Tiny ONNX files and device descriptions for the TensorRT-layer tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from htp_edge.artifacts.specs import DeviceInfo

SHAPE_IN = (1, 9, 17, 2)
SHAPE_OUT = (1, 9, 17, 3)
ORIN = DeviceInfo(name="Orin", compute_capability=(8, 7), cuda_runtime="12.6", cuda_driver="12.6",
                  integrated=True, binding="fake")
RTX = DeviceInfo(name="NVIDIA GeForce RTX 4090", compute_capability=(8, 9), cuda_runtime="12.8",
                 binding="fake")


def tiny_forward(x: np.ndarray) -> np.ndarray:
    """numpy mirror of :func:`write_tiny_onnx`: (1, 9, 17, 2) -> (1, 9, 17, 3), z = 0."""
    return np.pad(x * np.float32(0.001), [(0, 0), (0, 0), (0, 0), (0, 1)]).astype(np.float32)


def write_tiny_onnx(path: Path, metadata: dict[str, str] | None = None) -> Path:
    """keypoints_2d (1, 9, 17, 2) -> poses_3d (1, 9, 17, 3): scale by 1e-3, pad z with 0."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    scale = numpy_helper.from_array(np.array(0.001, dtype=np.float32), "scale")
    pads = numpy_helper.from_array(np.array([0, 0, 0, 0, 0, 0, 0, 1], dtype=np.int64), "pads")
    nodes = [helper.make_node("Mul", ["keypoints_2d", "scale"], ["scaled"]),
             helper.make_node("Pad", ["scaled", "pads"], ["poses_3d"])]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("keypoints_2d", TensorProto.FLOAT, SHAPE_IN)],
        [helper.make_tensor_value_info("poses_3d", TensorProto.FLOAT, SHAPE_OUT)], [scale, pads])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in (metadata or {}).items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
    return path
