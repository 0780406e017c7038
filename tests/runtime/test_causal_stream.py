"""A causal model end to end: static ONNX export with ``causal`` in its metadata, no future leak
through ONNX Runtime, and the streaming runtimes that stream its newest frame."""
import numpy as np
import onnx
import pytest
import torch

from htp_edge.artifacts.graph_meta import GraphMeta
from htp_edge.artifacts.onnx_meta import read_graph_meta
from htp_edge.bench.run import walking_keypoints
from htp_edge.errors import HtpEdgeError
from htp_edge.export.check import check_onnx
from htp_edge.export.config import ExportConfig
from htp_edge.export.onnx_export import export_onnx
from htp_edge.model.checkpoint import save_checkpoint
from htp_edge.model.config import causal_variant
from htp_edge.model.denoiser import DiffusionPoseModel
from htp_edge.runtime.lifter import Lifter
from htp_edge.runtime.multistream import MultiStreamLifter
from htp_edge.runtime.streaming import StreamingLifter
from tests.conftest import TINY_HTP


@pytest.fixture(scope="module")
def causal_onnx(tmp_path_factory):
    torch.manual_seed(0)
    net = DiffusionPoseModel(causal_variant(TINY_HTP))
    with torch.no_grad():  # break the zero-initialised symmetries so that every path carries signal
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    root = tmp_path_factory.mktemp("causal")
    ckpt = save_checkpoint(root / "tiny_causal.pt", net)
    out = root / "tiny_causal_c1_h1_flip.onnx"
    report = export_onnx(ExportConfig(model="htp", checkpoint=str(ckpt)), out, progress=lambda m: None)
    return out, report


@pytest.fixture(scope="module")
def causal_lifter(causal_onnx):
    with Lifter.load(causal_onnx[0], backend="onnxruntime") as lifter:
        yield lifter


def test_causal_graph_exports_static_and_clean(causal_onnx):
    path, rep = causal_onnx
    assert rep["max_abs_diff_vs_torch"] <= 1e-4 and rep["kept_indices_identical"]
    assert rep["inputs"]["keypoints_2d"] == [2, 9, 17, 2] and rep["outputs"]["kept_frames"] == [2, 3]
    for graph in (path, path.with_suffix(".planner.onnx")):
        assert check_onnx(graph).ok  # TensorRT's ONNX op set, static shapes
        ops = {n.op_type for n in onnx.load(str(graph)).graph.node}
        assert not ops & {"NonZero", "Loop", "If", "CumSum", "RandomNormal", "RandomUniform"}
    assert "TopK" not in {n.op_type for n in onnx.load(str(path)).graph.node}
    meta = read_graph_meta(path)
    assert meta.causal and meta.model["causal"] and meta.tag.endswith("_causal")
    assert read_graph_meta(path.with_suffix(".planner.onnx")).causal


def test_plain_graph_records_not_causal(tiny_htp_onnx):
    assert read_graph_meta(tiny_htp_onnx[0]).causal is False


def _later_frames_changed(kp, frame, seed=3):
    out = kp.copy()
    out[frame + 1:] += np.random.default_rng(seed).normal(scale=25.0, size=out[frame + 1:].shape).astype(np.float32)
    return out


def _early_change(lifter, kp, frame) -> float:
    base = lifter.lift(kp, 1000, 1000)
    moved = lifter.lift(_later_frames_changed(kp, frame), 1000, 1000)
    return float(np.abs(moved[:frame + 1] - base[:frame + 1]).max())


@pytest.mark.parametrize("frame", [0, 3, 6, 7])
def test_onnx_runtime_output_ignores_later_frames(causal_lifter, frame):
    kp = walking_keypoints(9)  # one clip of the model's 9 frames
    assert _early_change(causal_lifter, kp, frame) == 0.0


def test_non_causal_graph_output_moves_with_later_frames(tiny_htp_onnx):
    with Lifter.load(tiny_htp_onnx[0], backend="onnxruntime") as lifter:
        assert _early_change(lifter, walking_keypoints(9), 3) > 1e-4


def test_causal_graph_streams_its_newest_frame(causal_lifter):
    stream = StreamingLifter(causal_lifter, 1000, 1000)
    assert stream.causal and stream.config.mode == "causal" and stream.output_delay_frames == 0
    kp = walking_keypoints(11)
    outs = [stream.push(f) for f in kp]
    np.testing.assert_allclose(outs[-1], causal_lifter.lift(kp[-9:], 1000, 1000)[-1], atol=1e-6)


def test_centred_on_a_causal_graph_is_refused(causal_lifter, tiny_htp_onnx):
    with pytest.raises(HtpEdgeError, match="centred' on a causal model"):
        StreamingLifter(causal_lifter, 1000, 1000, mode="centred")
    with pytest.raises(HtpEdgeError, match="multi-stream: mode 'centred' on a causal model"):
        MultiStreamLifter(causal_lifter, 1000, 1000, mode="centred")
    with Lifter.load(tiny_htp_onnx[0], backend="onnxruntime") as plain:
        assert not StreamingLifter(plain, 1000, 1000, mode="centred").causal


def test_graph_meta_causal_field():
    base = {"kind": "denoiser", "frames": 9, "joints": 17, "clips": 1, "hypotheses": 1, "flip": True}
    assert GraphMeta.from_json(base).causal is False  # graphs exported before the field
    assert GraphMeta.from_json({**base, "model": {"causal": True}}).causal is True
    assert GraphMeta.loads(GraphMeta.from_json({**base, "causal": True}).dumps()).causal is True
    with pytest.raises(HtpEdgeError, match="'causal' must be true or false"):
        GraphMeta.from_json({**base, "causal": "yes"})


def test_the_bundled_causal_model_is_causal_selected_on_held_out_clips_and_streams_better():
    """htp-small-causal: the graph says causal, the model was picked on held-out train clips (never
    the test split), and on the first test sequence seen by a robot's fixed camera as the person
    approaches, streamed causally (no added latency), it is more accurate than the bundled htp-small
    streamed the same way (74.70 vs 90.01 mm when bundled; on the aimed cameras the two are within
    0.3 mm there, since stage 6 trained htp-small with fixed cameras too)."""
    from htp_edge.data.motion import DEFAULT_VAL_CLIPS
    from htp_edge.evaluation.evaluate import EvalConfig
    from htp_edge.evaluation.streaming import evaluate_streaming
    from htp_edge.model.checkpoint import read_checkpoint, resolve_checkpoint
    from htp_edge.runtime.tracks import is_causal
    with Lifter.load("htp-small-causal") as lifter:
        assert is_causal(lifter) and lifter.frames == 27
    meta = read_checkpoint(resolve_checkpoint("htp-small-causal"))["htp_edge"]
    assert meta["config"]["causal"] and meta["selected"]["by"] == "val_mpjpe_mm"
    assert tuple(meta["data"]["val_clips"]) == DEFAULT_VAL_CLIPS
    assert meta["train_config"]["newest_weight"] == 8.0
    first = EvalConfig(max_sequences=1)
    causal = evaluate_streaming("htp-small-causal", first, view="approach")
    plain = evaluate_streaming("htp-small", first, view="approach")
    assert causal["frames"] == plain["frames"] == 526 and causal["causal_model"] and not plain["causal_model"]
    assert causal["causal"]["mpjpe_mm"] == pytest.approx(74.70, abs=0.05)
    assert meta["data"]["static_cameras"]["prob"] == 0.5  # its last two stages saw the fixed cameras
    assert causal["causal"]["mpjpe_mm"] < plain["causal"]["mpjpe_mm"] - 5.0
