import threading

import numpy as np
import pytest

from htp_edge.bench.run import walking_keypoints
from htp_edge.errors import HtpEdgeError
from htp_edge.runtime.lifter import Lifter
from htp_edge.runtime.streaming import StreamingLifter


@pytest.fixture(scope="module")
def lifter(tiny_htp_onnx):
    return Lifter.load(tiny_htp_onnx[0], backend="onnxruntime")


def test_fills_then_emits_the_newest_frame(lifter):
    stream = StreamingLifter(lifter, width=1000, height=1000)
    kp = walking_keypoints(12)
    outs = [stream.push(f) for f in kp]
    assert all(o is None for o in outs[:8]) and all(o.shape == (17, 3) for o in outs[8:])
    np.testing.assert_allclose(outs[-1], lifter.lift(kp[-9:], 1000, 1000)[-1], atol=1e-6)
    assert stream.last_latency_ms > 0 and len(stream.latencies_ms) == 4


def test_centred_mode_and_hop(lifter):
    stream = StreamingLifter(lifter, 1000, 1000, hop=2, mode="centred")
    kp = walking_keypoints(13)
    outs = [stream.push(f) for f in kp]
    emitted = [i for i, o in enumerate(outs) if o is not None]
    assert emitted == [8, 10, 12] and stream.output_delay_frames == 4
    np.testing.assert_allclose(outs[12], lifter.lift(kp[4:13], 1000, 1000)[4], atol=1e-6)


def test_missing_joints_do_not_propagate(lifter):
    stream = StreamingLifter(lifter, 1000, 1000)
    kp = walking_keypoints(10)
    for i, f in enumerate(kp):
        if i in (3, 9):
            f = f.copy()
            f[7] = np.nan  # a dropped joint
        out = stream.push(f)
    assert np.isfinite(out).all()


def test_bounded_memory_and_threads(lifter):
    stream = StreamingLifter(lifter, 1000, 1000)
    kp = walking_keypoints(60)
    results = []

    def producer():
        for f in kp:
            results.append(stream.push(f))

    threads = [threading.Thread(target=producer) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(stream._track.xy) == 9 and stream.frames_pushed == 120
    assert sum(r is not None for r in results) == 120 - 8


@pytest.mark.parametrize("bad, match", [(np.zeros((16, 2)), "wrong shape"), (np.full((17, 2), np.inf), "inf"),
                                        ("frame", "not numeric")])
def test_bad_frames(lifter, bad, match):
    with pytest.raises(HtpEdgeError, match=match):
        StreamingLifter(lifter, 1000, 1000).push(bad)


def test_bad_stream_config(lifter):
    with pytest.raises(HtpEdgeError, match="unknown mode"):
        StreamingLifter(lifter, 1000, 1000, mode="future")
    with pytest.raises(HtpEdgeError, match="width and height"):
        StreamingLifter(lifter, -1, 1000)
