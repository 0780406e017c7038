"""Human3.6M (VideoPose3D layout, built-in cameras) and MPI-INF-3DHP (D3DP layout) on files made
from real motion; the dataset config and the training sampler."""
from __future__ import annotations

import numpy as np
import pytest

from htp_edge.data import h36m
from htp_edge.data.datasets import DatasetConfig, open_recordings
from htp_edge.data.h36m_export import centred
from htp_edge.data.recording_sampler import RecordingSampler
from htp_edge.data.sampler import SamplerConfig
from htp_edge.data.videopose3d import H36M_32_TO_17, load_dict
from htp_edge.errors import HtpEdgeError
from htp_edge.pose.normalize import normalize_screen
from tests.data.dataset_files import motion_clips, write_3dhp, write_h36m

TEST_CLIPS = ("deepmimic/spinkick", "deepmimic/walker/turn_right1", "deepmimic/dance_b")


@pytest.fixture(scope="module")
def h36m_dir(tmp_path_factory):
    return write_h36m(tmp_path_factory.mktemp("h36m"), TEST_CLIPS + ("deepmimic/walk",))


def test_built_in_cameras_are_human36m():
    assert h36m.subjects() == ("S1", "S5", "S6", "S7", "S8", "S9", "S11")
    cam = h36m.camera("S9", 0)
    assert (cam.width, cam.height) == (1000, 1002) and abs(cam.f[0] - 1145.05) < 0.01
    np.testing.assert_allclose(cam.centre_world, [2.04446, 4.93512, 1.48123], atol=1e-4)  # mm -> m
    assert [h36m.camera("S11", k).height for k in range(4)] == [1002, 1000, 1000, 1002]


def test_h36m_loader_world_to_camera_and_32_to_17(h36m_dir):
    recs = open_recordings(DatasetConfig("h36m", str(h36m_dir), keypoints="gt"), "test")
    assert sorted({(r.subject, r.action) for r in recs}) == [
        ("S11", "deepmimic_dance_b"), ("S9", "deepmimic_spinkick"), ("S9", "deepmimic_walker_turn_right1")]
    assert len(recs) == 12 and [r.camera for r in recs[:4]] == [0, 1, 2, 3]
    world32 = load_dict(h36m_dir / h36m.FILE_3D, "positions_3d")["S9"]["deepmimic_spinkick"]
    clip = motion_clips(["deepmimic/spinkick"])[0]
    np.testing.assert_allclose(world32[:, list(H36M_32_TO_17)], centred(clip.positions.astype(np.float64)),
                               atol=1e-6)
    for rec in recs[:4]:
        seq, cam = rec.sequence, h36m.camera("S9", rec.camera)
        expected = cam.world_to_camera(centred(clip.positions.astype(np.float64)))
        np.testing.assert_allclose(seq.pose3d + seq.root_cam[:, None], expected, atol=1e-5)
        np.testing.assert_array_equal(seq.pose3d[:, 0], 0.0)
        np.testing.assert_allclose(seq.kp2d_px, cam.project(expected), atol=1e-3)
        assert (seq.width, seq.height) == (cam.width, cam.height)  # each camera's own resolution
    assert {r.sequence.height for r in recs} == {1000, 1002}


def test_3dhp_loader_reorders_to_h36m_metres(tmp_path):
    truth = write_3dhp(tmp_path)
    cfg = DatasetConfig("3dhp", str(tmp_path))
    test = open_recordings(cfg, "test")
    assert [r.subject for r in test] == ["TS1", "TS5"]
    for rec in test:
        cam_truth, valid = truth[rec.subject]
        seq = rec.sequence
        np.testing.assert_allclose(seq.pose3d, cam_truth - cam_truth[:, :1], atol=1e-5)
        np.testing.assert_allclose(seq.root_cam, cam_truth[:, 0], atol=1e-5)
        np.testing.assert_array_equal(rec.valid, valid)
        np.testing.assert_allclose(seq.camera.project(seq.pose3d + seq.root_cam[:, None]), seq.kp2d_px, atol=1e-2)
    assert (test[1].sequence.width, test[1].sequence.height) == (1920, 1080)
    train = open_recordings(cfg, "train")
    assert [(r.subject, r.action, r.camera) for r in train] == [("S1", "Seq1", 0), ("S1", "Seq1", 2),
                                                                 ("S2", "Seq1", 1)]
    assert all(r.sequence.width == 2048 and r.valid is None for r in train)
    assert len(open_recordings(DatasetConfig("3dhp", str(tmp_path), subjects_train="S2"), "train")) == 1


def test_recording_sampler_batches_d3dp_examples(h36m_dir):
    recs = open_recordings(DatasetConfig("h36m", str(h36m_dir), keypoints="gt", subjects_train="S1"), "train")
    assert {r.action for r in recs} == {"deepmimic_walk"}
    sampler = RecordingSampler(recs, SamplerConfig(frames=9, batch_size=6, mirror_prob=0.0), seed=3)
    batch = sampler.sample()
    assert batch.kp2d.shape == (6, 9, 17, 2) and batch.pose3d.shape == (6, 9, 17, 3)
    np.testing.assert_array_equal(batch.pose3d[..., 0, :], 0.0)
    seq = recs[0].sequence  # every window of a recording is its own normalised 2D
    windows = [normalize_screen(r.sequence.kp2d_px, r.sequence.width, r.sequence.height) for r in recs]
    assert all(any(np.allclose(w[s:s + 9], x, atol=1e-6) for w in windows for s in range(len(w) - 8))
               for x in batch.kp2d)
    assert seq.num_frames > 9
    again = RecordingSampler(recs, SamplerConfig(frames=9, batch_size=6, mirror_prob=0.0), seed=3).sample()
    np.testing.assert_array_equal(again.kp2d, batch.kp2d)


@pytest.mark.parametrize("kwargs, match", [
    (dict(name="kitti"), "unknown name"),
    (dict(name="h36m"), "needs --data-dir"),
    (dict(name="motion", data_dir="x"), "need --dataset h36m or 3dhp"),
    (dict(name="h36m", data_dir="x", keypoints="../gt"), "bad --keypoints"),
    (dict(name="h36m", data_dir="x", subjects_test="S9,"), "bad --subjects-test"),
])
def test_dataset_config_refuses_bad_settings(kwargs, match):
    with pytest.raises(HtpEdgeError, match=match):
        DatasetConfig(**kwargs)


def test_defaults_follow_d3dp():
    cfg = DatasetConfig("h36m", "x")
    assert cfg.subjects("train") == ("S1", "S5", "S6", "S7", "S8") and cfg.subjects("test") == ("S9", "S11")
    assert cfg.keypoints == "cpn_ft_h36m_dbb"
    assert DatasetConfig("3dhp", "x").subjects("test") is None  # every test sequence of the file
