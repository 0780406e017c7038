"""plan_space="body": TCEP and MGPTP score articulation, not a person's translation or size."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from htp_edge.errors import HtpEdgeError
from htp_edge.model.config import PruningConfig
from htp_edge.model.denoiser import Denoiser
from htp_edge.model.pruning import body_space
from htp_edge.pose.skeleton import flip_pose
from tests.conftest import TINY_HTP

BODY = dataclasses.replace(TINY_HTP, pruning=dataclasses.replace(TINY_HTP.pruning, plan_space="body"))


def _walker(frames: int, seed: int = 0) -> torch.Tensor:
    """A moving 2D skeleton (1, F, 17, 2) in normalised image coordinates."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0, 0.15, (17, 2))
    t = np.arange(frames)[:, None, None]
    pose = base + 0.05 * np.sin(0.7 * t + rng.uniform(0, 6, (1, 17, 1)))
    return torch.from_numpy(pose[None].astype(np.float32))


def _approach(x2d: torch.Tensor) -> torch.Tensor:
    """The same articulation seen by a fixed camera while the person walks toward it and
    across: per-frame growth in size and a drift of the whole body."""
    f = x2d.shape[1]
    scale = torch.linspace(0.4, 1.6, f)[None, :, None, None]
    shift = torch.stack((torch.linspace(-0.5, 0.4, f), torch.linspace(0.1, -0.2, f)), -1)[None, :, None, :]
    root = x2d[:, :, :1]
    return (x2d - root) * scale + root + shift


def _plan(cfg, x2d):
    torch.manual_seed(0)
    with torch.no_grad():
        return Denoiser(cfg).eval().plan(x2d)


def test_body_space_removes_translation_and_size():
    x = _walker(TINY_HTP.frames)
    assert torch.allclose(body_space(x), body_space(_approach(x)), atol=1e-5)
    size = body_space(x).pow(2).sum(-1).mean(-1).sqrt()  # RMS radius per frame is 1
    assert torch.allclose(size, torch.ones_like(size), atol=1e-4)


def test_the_body_plan_ignores_the_approach_and_the_image_plan_does_not():
    x = _walker(TINY_HTP.frames, seed=3)
    body, moved = _plan(BODY, x), _plan(BODY, _approach(x))
    assert all(torch.equal(body[k], moved[k]) for k in body)
    image, image_moved = _plan(TINY_HTP, x), _plan(TINY_HTP, _approach(x))
    assert not all(torch.equal(image[k], image_moved[k]) for k in image)  # what "body" fixes


def test_the_body_plan_is_flip_invariant():
    x = _walker(TINY_HTP.frames, seed=5)
    flipped = torch.from_numpy(flip_pose(x.numpy()))
    a, b = _plan(BODY, x), _plan(BODY, flipped)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_causal_body_plan_keeps_the_newest_frame():
    cfg = dataclasses.replace(BODY, causal=True)
    plan = _plan(cfg, _approach(_walker(cfg.frames, seed=7)))
    assert int(plan["keep_frames"][0, -1]) == cfg.frames - 1


def test_an_unknown_plan_space_is_refused():
    with pytest.raises(HtpEdgeError, match="plan_space"):
        PruningConfig(plan_space="pixels")


def test_the_body_plan_exports_with_torch_parity(tmp_path):
    from htp_edge.artifacts.onnx_meta import read_graph_meta
    from htp_edge.export.config import ExportConfig
    from htp_edge.export.onnx_export import export_onnx
    from htp_edge.model.checkpoint import save_checkpoint
    from htp_edge.model.denoiser import DiffusionPoseModel
    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "body.pt", DiffusionPoseModel(BODY))
    report = export_onnx(ExportConfig(model="htp", checkpoint=str(ckpt)), tmp_path / "body.onnx",
                         progress=lambda m: None)
    assert report["kept_indices_identical"] and report["max_abs_diff_vs_torch"] < 1e-4  # else export refuses
    assert read_graph_meta(tmp_path / "body.onnx").model["pruning"]["plan_space"] == "body"
