import numpy as np
import pytest

from htp_edge.bench.run import walking_keypoints
from htp_edge.errors import HtpEdgeError
from htp_edge.runtime.lifter import Lifter


@pytest.fixture(scope="module")
def lifters(tiny_htp_onnx, tiny_htp_ckpt):
    path, _ = tiny_htp_onnx
    ort = Lifter.load(path, backend="onnxruntime", steps=2)
    ref = Lifter.load(str(tiny_htp_ckpt), backend="torch", steps=2, hypotheses=2)
    return ort, ref


def test_onnxruntime_matches_torch_through_the_whole_pipeline(lifters):
    ort, ref = lifters
    kp = walking_keypoints(23)  # not a multiple of F=9: three clips, the last overlapping
    a, b = ort.lift(kp, 1000, 1000), ref.lift(kp, 1000, 1000)
    assert a.shape == (23, 17, 3) and np.all(a[:, 0] == 0)
    np.testing.assert_allclose(a, b, atol=1e-4)
    assert set(ort.last_timings) >= {"preprocess", "plan", "denoise", "sampler", "aggregate", "total"}
    assert ort.config.hypotheses == 2 and ort.config.method == "jpma"


def test_same_seed_same_output_and_short_input(lifters):
    ort, _ = lifters
    kp = walking_keypoints(5)  # shorter than F: edge-padded
    np.testing.assert_array_equal(ort.lift(kp, 640, 480), ort.lift(kp, 640, 480))
    assert ort.lift(kp, 640, 480).shape == (5, 17, 3)


def test_coco_input_and_confidence(lifters):
    ort, _ = lifters
    kp = np.concatenate([walking_keypoints(9), np.ones((9, 17, 1), np.float32)], -1)
    kp[3, 5, 2] = 0.0  # a missing joint is interpolated, not propagated
    out = ort.lift(kp, 1000, 1000, format="coco")
    assert np.isfinite(out).all()


@pytest.mark.parametrize("bad, match", [
    (np.zeros((0, 17, 2)), "empty"),
    (np.zeros((4, 16, 2)), "joint count"),
    (np.zeros((4, 17)), "wrong shape"),
    (np.full((4, 17, 2), np.nan), "NaN"),
    (np.full((4, 17, 2), np.inf), "NaN or inf"),
    ([["a", "b"]], "not numeric"),
])
def test_bad_input_is_one_clear_error(lifters, bad, match):
    with pytest.raises(HtpEdgeError, match=match):
        lifters[0].lift(bad, 1000, 1000)


def test_bad_image_size_and_layout_mismatch(lifters, tiny_htp_onnx):
    with pytest.raises(HtpEdgeError, match="width and height"):
        lifters[0].lift(walking_keypoints(9), 0, 1000)
    with pytest.raises(HtpEdgeError, match="exported for"):
        Lifter.load(tiny_htp_onnx[0], backend="onnxruntime", hypotheses=3)


def test_foreign_and_truncated_files(tmp_path, tiny_htp_onnx):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00garbage")
    with pytest.raises(HtpEdgeError, match="not a readable ONNX model"):
        Lifter.load(junk)
    trunc = tmp_path / "trunc.onnx"
    trunc.write_bytes(tiny_htp_onnx[0].read_bytes()[:5000])
    with pytest.raises(HtpEdgeError):
        Lifter.load(trunc)
    with pytest.raises(HtpEdgeError, match="not found"):
        Lifter.load(tmp_path / "missing.onnx")
    with pytest.raises(HtpEdgeError, match="unknown file type"):
        (tmp_path / "x.txt").write_text("hi")
        Lifter.load(tmp_path / "x.txt")
    with pytest.raises(HtpEdgeError, match="tensorrt backend"):
        (tmp_path / "x.engine").write_bytes(b"plan")
        Lifter.load(tmp_path / "x.engine", backend="onnxruntime")


@pytest.mark.parametrize("name", ["d3dp-small", "htp-small", "htp-small-causal"])
def test_shipped_onnx_matches_the_bundled_checkpoint(name):
    kp = walking_keypoints(30)
    ort = Lifter.load(name, backend="onnxruntime").lift(kp, 1000, 1000)
    ref = Lifter.load(name, backend="torch").lift(kp, 1000, 1000)
    np.testing.assert_allclose(ort, ref, atol=1e-4)
