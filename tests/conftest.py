"""Shared test fixtures: tiny seeded model configs."""
from __future__ import annotations

import dataclasses

import pytest

from htp_edge.model.config import ModelConfig, PruningConfig

TINY = ModelConfig(name="d3dp-tiny", frames=9, joints=17, embed_dim=16, depth=3, num_heads=2)
TINY_HTP = dataclasses.replace(
    TINY, name="htp-tiny", pruning=PruningConfig(tcep_layer=1, n1=6, mgptp_layer=2, f=3))


@pytest.fixture
def tiny_cfg() -> ModelConfig:
    return TINY


@pytest.fixture
def tiny_htp_cfg() -> ModelConfig:
    return TINY_HTP
