"""Static-camera training views: a fixed camera, a path through its view, camera frame rates."""
from __future__ import annotations

import numpy as np
import pytest

from htp_edge.data import load_motion
from htp_edge.data.sampler import SamplerConfig, TrainSampler
from htp_edge.data.static_train import StaticCameraConfig, resample_time, source_frames, static_view
from htp_edge.data.static_views import frames_in_view
from htp_edge.errors import HtpEdgeError


@pytest.fixture(scope="module")
def clips():
    return load_motion()


def _train_chunk(clips, frames=27):
    clip = next(c for c in clips if c.split == "train" and c.num_frames >= frames)
    return clip.positions[:frames].astype(np.float64)


def test_resample_time_keeps_the_span_and_interpolates():
    x = np.arange(5, dtype=np.float64)[:, None, None] * np.ones((1, 2, 3))  # frame i holds i
    y = resample_time(x, 9)
    assert y.shape == (9, 2, 3) and y[0, 0, 0] == 0 and y[-1, 0, 0] == 4 and y[1, 0, 0] == pytest.approx(0.5)
    assert source_frames(27, 15.0, 30.0) == 53 and source_frames(27, 60.0, 30.0) == 14
    assert source_frames(27, 30.0, 30.0) == 27


def test_a_static_view_keeps_the_camera_fixed_and_the_person_in_view(clips):
    chunk = _train_chunk(clips)
    cfg = StaticCameraConfig(prob=1.0, speed_mps=(2.0, 3.0))
    rng = np.random.default_rng(0)
    depth_changes, lateral = [], []
    for _ in range(20):
        view = static_view(chunk, rng, cfg, fps=30.0)
        assert view is not None
        camera, world = view
        assert frames_in_view(camera, world).all()
        cam = camera.world_to_camera(world)  # (F, 17, 3) in the one fixed camera
        root = cam[:, 0]
        step = np.diff(world[:, 0, :2], axis=0)  # the root walks a straight path at constant speed
        assert np.allclose(step, step[0], atol=1e-9)
        assert 2.0 / 30 - 1e-9 <= np.linalg.norm(step[0]) <= 3.0 / 30 + 1e-9  # speed_mps at 30 fps
        depth_changes.append(abs(root[-1, 2] - root[0, 2]))
        lateral.append(abs(root[-1, 0] - root[0, 0]))
        assert 0.8 <= -camera.R.T @ camera.t @ np.array([0, 0, 1.0]) <= 3.0  # camera height
    assert max(depth_changes) > 0.5 and max(lateral) > 0.5  # toward/away and across both occur


def test_the_sampler_mixes_static_views_in(clips):
    aimed = TrainSampler(clips, SamplerConfig(frames=27, batch_size=64), seed=1).sample()
    static = TrainSampler(clips, SamplerConfig(frames=27, batch_size=64, static=StaticCameraConfig(prob=1.0)),
                          seed=1).sample()
    assert static.kp2d.shape == (64, 27, 17, 2) and static.pose3d.shape == (64, 27, 17, 3)
    assert np.isfinite(static.kp2d).all() and np.allclose(static.pose3d[:, :, 0], 0.0)  # root-relative target

    def size_change(kp):  # |log| of the person's image size, last 3 frames over first 3
        size = np.linalg.norm(kp - kp[:, :, :1], axis=-1).mean(-1)  # (B, F, 17) -> (B, F)
        return np.abs(np.log(size[:, -3:].mean(1) / size[:, :3].mean(1)))

    # a third bigger or smaller within the window: rare for the aimed camera, common here
    assert (size_change(static.kp2d) > 0.3).mean() > 2 * (size_change(aimed.kp2d) > 0.3).mean()
    assert (size_change(static.kp2d) > 0.3).mean() >= 0.15


def test_bad_static_settings_are_refused(clips):
    with pytest.raises(HtpEdgeError, match="prob"):
        StaticCameraConfig(prob=1.5)
    with pytest.raises(HtpEdgeError, match="fps"):
        StaticCameraConfig(fps=(0.0, 30.0))


def test_train_flag_errors(capsys, tmp_path):
    from htp_edge.cli.main import main
    out = tmp_path / "x.pt"
    assert main(["train", "--static-cameras", "1.5", "--out", str(out)]) == 2
    assert "bad prob" in capsys.readouterr().err
    assert main(["train", "--static-cameras", "0.5", "--dataset", "h36m", "--data-dir", str(tmp_path),
                 "--out", str(out)]) == 2
    assert "Expected --dataset motion" in capsys.readouterr().err and not out.exists()
