"""The precision policy's node-name patterns pinned to the node names of a real tiny HTP export."""
from __future__ import annotations

import onnx
import pytest
import torch

from htp_edge.export.config import ExportConfig
from htp_edge.export.onnx_export import export_onnx
from htp_edge.model.checkpoint import save_checkpoint
from htp_edge.model.denoiser import Denoiser, DiffusionPoseModel
from htp_edge.precision.apply import RECOVERY_PATTERNS, int8_float_patterns
from htp_edge.precision.fp16 import DEFAULT_KEEP_FP32_NAME_PATTERNS, DEFAULT_KEEP_FP32_OP_TYPES, fp32_node_names
from htp_edge.precision.int8 import DEFAULT_EXCLUDE_NAME_PATTERNS, QUANTIZED_OP_TYPES, excluded_node_names
from tests.conftest import TINY_HTP, TINY_HTP_FEATURES

POLICY_PATTERNS = sorted(set(int8_float_patterns(1)) | set(int8_float_patterns(0))
                         | set(DEFAULT_KEEP_FP32_NAME_PATTERNS) | set(DEFAULT_EXCLUDE_NAME_PATTERNS))
# pattern -> the Denoiser submodule whose nodes it is meant to select in the denoiser graph
MODULE_PATTERNS = {
    "/Spatial_patch_to_embedding/": "Spatial_patch_to_embedding", "/time_mlp/": "time_mlp",
    "/head/": "head", "/tra/": "tra", "/mgptp/": "mgptp",
    "/STEblocks.0/": "STEblocks.0", "/TTEblocks.0/": "TTEblocks.0",
}
# patterns meant for the TCEP scoring and the token planner, which live in the planner graph
PLANNER_PATTERNS = ("/tcep/", "/token_planner/")


@pytest.fixture(scope="module")
def pose2d(tiny_htp_onnx):
    path = tiny_htp_onnx[0]
    return onnx.load(str(path)), onnx.load(str(path.with_suffix(".planner.onnx")))


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    folder = tmp_path_factory.mktemp("features")
    torch.manual_seed(0)
    ckpt = save_checkpoint(folder / "f.pt", DiffusionPoseModel(TINY_HTP_FEATURES))
    export_onnx(ExportConfig(model="htp", checkpoint=str(ckpt)), folder / "f.onnx", progress=lambda m: None)
    return onnx.load(str(folder / "f.onnx"))


def _names(model) -> list[str]:
    return [n.name for n in model.graph.node]


def _owner(name: str) -> str | None:
    """The Denoiser child a denoiser-graph node comes from ('/net/<child>/.../Op'), or None."""
    parts = name.split("/")
    assert parts[:2] == ["", "net"], name
    return parts[2] if len(parts) > 3 else None


def _gemms(model, owners=None) -> set[str]:
    return {n.name for n in model.graph.node if n.op_type in QUANTIZED_OP_TYPES
            and (owners is None or _owner(n.name) in owners)}


def test_every_policy_pattern_is_accounted_for():
    assert set(POLICY_PATTERNS) == set(MODULE_PATTERNS) | set(PLANNER_PATTERNS)


@pytest.mark.parametrize("pattern", sorted(MODULE_PATTERNS))
def test_pattern_selects_exactly_its_module(pose2d, features, pattern):
    module = MODULE_PATTERNS[pattern]
    assert module in dict(Denoiser(TINY_HTP_FEATURES).named_modules())
    for model in (pose2d[0], features):
        names = _names(model)
        selected = {n for n in names if pattern in n}
        assert selected, f"{pattern} matches no node"
        assert selected == {n for n in names if _owner(n) == module}


@pytest.mark.parametrize("pattern", PLANNER_PATTERNS)
def test_planner_patterns_match_planner_nodes(pose2d, pattern):
    denoiser, planner = pose2d
    assert any(pattern in n for n in _names(denoiser) + _names(planner))


def test_denoiser_graph_holds_no_tcep_or_planner_nodes(pose2d, features):
    for model in (pose2d[0], features):
        assert not [n for n in _names(model) if any(p in n for p in PLANNER_PATTERNS)]
    assert "TopK" not in {n.op_type for n in pose2d[0].graph.node}  # the plan is an input
    assert {n.op_type for n in pose2d[1].graph.node} >= {"TopK", "MatMul"}  # it lives in the planner


def test_recovery_pattern_selects_the_recovery_gemms(pose2d):
    cross = "/net/tra/cross_attention"
    expected = {f"{cross}/{layer}/MatMul" for layer in ("linear_q", "linear_k", "linear_v", "proj")}
    expected |= {f"{cross}/MatMul", f"{cross}/MatMul_1"}  # Q K^T and A V
    assert set(excluded_node_names(pose2d[0], RECOVERY_PATTERNS)) == expected
    assert _gemms(pose2d[0], {"tra"}) == expected


@pytest.mark.parametrize("float_pairs", [0, 1])
def test_int8_leaves_exactly_the_later_block_pairs_to_int8(pose2d, float_pairs):
    model = pose2d[0]
    blocks = {f"{kind}.{i}" for i in range(float_pairs, TINY_HTP.depth) for kind in ("STEblocks", "TTEblocks")}
    excluded = set(excluded_node_names(model, int8_float_patterns(float_pairs)))
    assert _gemms(model) - excluded == _gemms(model, blocks)
    assert len(_gemms(model, blocks)) == 6 * len(blocks)  # qkv, Q K^T, A V, proj, fc1, fc2


def test_scoring_pattern_keeps_feature_scored_mgptp_float(features):
    assert set(excluded_node_names(features, DEFAULT_EXCLUDE_NAME_PATTERNS)) == {
        "/net/mgptp/MatMul", "/net/mgptp/mask_head/MatMul"}
    topk = {n.name for n in features.graph.node if n.op_type == "TopK"}
    assert topk and all(_owner(n) == "mgptp" for n in topk)
    kept = set(fp32_node_names(features, DEFAULT_KEEP_FP32_OP_TYPES, DEFAULT_KEEP_FP32_NAME_PATTERNS))
    assert topk <= kept
    assert {n for n in _names(features) if _owner(n) in ("mgptp", "time_mlp")} <= kept
    assert not kept & _gemms(features, {"tra", "head", "STEblocks.1", "TTEblocks.2"})


def test_int8_preprocessing_keeps_the_node_names(pose2d, tmp_path):
    from onnxruntime.quantization import quant_pre_process
    src, out = tmp_path / "in.onnx", tmp_path / "pre.onnx"
    onnx.save(pose2d[0], str(src))
    quant_pre_process(str(src), str(out), skip_optimization=True)
    pre = onnx.load(str(out))
    assert _names(pre) == _names(pose2d[0])
