"""Shared test fixtures: tiny seeded model configs."""
from __future__ import annotations

import dataclasses

import pytest

from htp_edge.model.config import ModelConfig, PruningConfig

TINY = ModelConfig(name="d3dp-tiny", frames=9, joints=17, embed_dim=16, depth=3, num_heads=2)
TINY_HTP = dataclasses.replace(
    TINY, name="htp-tiny", pruning=PruningConfig(tcep_layer=1, n1=6, mgptp_layer=2, f=3, mgptp_mode="pose2d"))
TINY_HTP_FEATURES = dataclasses.replace(
    TINY, name="htp-tiny-features", pruning=PruningConfig(tcep_layer=1, n1=6, mgptp_layer=2, f=3))


@pytest.fixture
def tiny_cfg() -> ModelConfig:
    return TINY


@pytest.fixture
def tiny_htp_cfg() -> ModelConfig:
    return TINY_HTP


@pytest.fixture(scope="session")
def tiny_htp_ckpt(tmp_path_factory):
    """A seeded tiny HTP checkpoint in D3DP's layout."""
    import torch

    from htp_edge.model.checkpoint import save_checkpoint
    from htp_edge.model.denoiser import DiffusionPoseModel
    torch.manual_seed(0)
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny_htp.pt", DiffusionPoseModel(TINY_HTP))


@pytest.fixture(scope="session")
def tiny_htp_onnx(tiny_htp_ckpt, tmp_path_factory):
    """The tiny HTP exported with H=2 and flip (batch 4), plus its export report."""
    from htp_edge.export.config import ExportConfig
    from htp_edge.export.onnx_export import export_onnx
    out = tmp_path_factory.mktemp("onnx") / "tiny_htp.onnx"
    report = export_onnx(ExportConfig(model="htp", checkpoint=str(tiny_htp_ckpt), hypotheses=2), out,
                         progress=lambda m: None)
    return out, report
