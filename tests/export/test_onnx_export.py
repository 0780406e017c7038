import json

import numpy as np
import onnx
import pytest
import torch

from htp_edge.artifacts.onnx_meta import read_graph_meta
from htp_edge.errors import HtpEdgeError
from htp_edge.export.check import check_onnx
from htp_edge.export.config import ExportConfig
from htp_edge.export.onnx_export import export_onnx
from htp_edge.model.checkpoint import PREFIX
from htp_edge.model.denoiser import DiffusionPoseModel
from tests.conftest import TINY


def test_tiny_htp_export_passes_every_check(tiny_htp_onnx):
    path, rep = tiny_htp_onnx
    assert rep["opset"] == 17 and rep["max_abs_diff_vs_torch"] <= 1e-4 and rep["kept_indices_identical"]
    assert rep["inputs"] == {"keypoints_2d": [4, 9, 17, 2], "noisy_pose": [4, 9, 17, 3], "timestep": [4],
                             "keep_frames": [4, 6], "keep_tokens": [4, 3]}
    assert rep["outputs"] == {"pose_3d": [4, 9, 17, 3], "kept_frames": [4, 3]}
    assert abs(rep["graph_vs_analytic"] - 1) < 0.01
    assert check_onnx(path).ok and check_onnx(path.with_suffix(".planner.onnx")).ok
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert not ops & {"NonZero", "Loop", "If", "RandomNormal", "RandomUniform", "RandomNormalLike"}
    assert "TopK" not in ops  # every choice is made once per clip in the FP32 planner graph
    planner_outputs = [o.name for o in onnx.load(str(path.with_suffix(".planner.onnx"))).graph.output]
    assert planner_outputs == ["keep_frames", "keep_tokens"]
    meta = read_graph_meta(path)
    assert meta.batch == 4 and meta.hypotheses == 2 and meta.flip and meta.n1 == 6 and meta.macs_per_pass > 0
    assert json.loads(path.with_suffix(".json").read_text())["onnx"] == str(path)


def test_unrolled_sampler_export(tiny_htp_ckpt, tmp_path):
    rep = export_onnx(ExportConfig(model="htp", checkpoint=str(tiny_htp_ckpt), unrolled_steps=2, flip=False),
                      tmp_path / "s.onnx", progress=lambda m: None)
    assert rep["inputs"]["noise"] == [2, 1, 1, 9, 17, 3] and rep["max_abs_diff_vs_torch"] <= 1e-4
    assert (tmp_path / "s.planner.onnx").is_file()
    assert read_graph_meta(tmp_path / "s.onnx").kind == "sampler"


def test_d3dp_checkpoint_missing_key_is_refused_and_nothing_written(tmp_path):
    state = DiffusionPoseModel(TINY).state_dict()
    del state["pose_estimator.Spatial_norm.weight"]
    ckpt = tmp_path / "d3dp.bin"
    torch.save({"epoch": 1, "lr": 0.0, "random_state": None, "optimizer": {},
                "model_pos": {PREFIX + k: v for k, v in state.items()}}, ckpt)
    with pytest.raises(HtpEdgeError, match=r"missing keys: pose_estimator\.Spatial_norm\.weight"):
        export_onnx(ExportConfig(model="d3dp", checkpoint=str(ckpt)), tmp_path / "x.onnx", progress=lambda m: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d3dp.bin"]


def test_d3dp_layout_checkpoint_exports_its_weights(tmp_path):
    torch.manual_seed(1)
    net = DiffusionPoseModel(TINY)
    ckpt = tmp_path / "d3dp.bin"
    torch.save({"epoch": 1, "lr": 0.0, "random_state": None, "optimizer": {},
                "model_pos": {PREFIX + k: v for k, v in net.state_dict().items()}}, ckpt)
    rep = export_onnx(ExportConfig(model="d3dp", checkpoint=str(ckpt), flip=False), tmp_path / "d.onnx",
                      progress=lambda m: None)
    model = onnx.load(str(tmp_path / "d.onnx"))
    weights = [np.frombuffer(t.raw_data, np.float32)
               for t in model.graph.initializer if t.data_type == 1 and t.raw_data]
    head = net.pose_estimator.head[1].weight.detach().numpy().ravel()
    assert any(w.size == head.size and np.allclose(w, head) for w in weights) or any(
        w.size == head.size and np.allclose(w, head.reshape(3, -1).T.ravel()) for w in weights)
    assert rep["planner_onnx"] is None


def test_bad_export_config():
    with pytest.raises(HtpEdgeError, match="opset"):
        ExportConfig(opset=18)
    with pytest.raises(HtpEdgeError, match="hypotheses"):
        ExportConfig(hypotheses=0)


def test_feature_scored_mgptp_exports_with_identical_choices(tmp_path):
    from htp_edge.model.checkpoint import save_checkpoint
    from tests.conftest import TINY_HTP_FEATURES
    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "f.pt", DiffusionPoseModel(TINY_HTP_FEATURES))
    rep = export_onnx(ExportConfig(model="htp", checkpoint=str(ckpt)), tmp_path / "f.onnx", progress=lambda m: None)
    assert rep["kept_indices_identical"] and rep["op_counts"].get("TopK", 0) >= 2
