"""MultiStreamLifter: batching never changes a track's poses, one engine call per hop, lifecycle."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from htp_edge import Lifter, MultiStreamLifter, StreamingLifter
from htp_edge.bench.run import walking_keypoints
from htp_edge.errors import HtpEdgeError


class CountingRunner:
    """Wraps a runner and counts its calls."""

    def __init__(self, runner) -> None:
        self.runner, self.calls = runner, 0

    def __getattr__(self, name):
        return getattr(self.runner, name)

    def infer(self, feed):
        self.calls += 1
        return self.runner.infer(feed)


@pytest.fixture(scope="module")
def batched():
    return Lifter.load("htp-small", clips_per_call=8)


@pytest.fixture(scope="module")
def single():
    return Lifter.load("htp-small")


def _people(n: int, frames: int) -> dict[int, np.ndarray]:
    return {10 + i: walking_keypoints(frames, seed=i) + np.float32(40 * i) for i in range(n)}


@pytest.mark.parametrize("mode,hop", [("causal", 1), ("centred", 3)])
def test_batching_does_not_change_a_tracks_poses(batched, single, mode, hop):
    people = _people(4, 45)
    multi = MultiStreamLifter(batched, 1000, 1000, max_tracks=8, mode=mode, hop=hop)
    alone = {tid: StreamingLifter(single, 1000, 1000, mode=mode, hop=hop) for tid in people}
    for f in range(45):
        visible = {tid: kp[f] for tid, kp in people.items() if not (tid == 12 and 20 <= f < 24)}
        got = multi.push(visible)
        for tid, frame in visible.items():
            want = alone[tid].push(frame)
            assert (want is None) == (tid not in got)
            if want is not None:
                np.testing.assert_allclose(got[tid], want, atol=2e-5)
    assert multi.last_batch >= 3


def test_all_due_tracks_share_one_engine_call(batched):
    multi = MultiStreamLifter(batched, 1000, 1000, max_tracks=8)
    counter = CountingRunner(batched.graphs.denoiser)
    batched.graphs.denoiser = counter
    try:
        people = _people(8, 30)
        for f in range(30):
            before = counter.calls
            out = multi.push({tid: kp[f] for tid, kp in people.items()})
            assert counter.calls - before == (1 if out else 0)
        assert len(out) == 8 and multi.calls_per_hop == 1
    finally:
        batched.graphs.denoiser = counter.runner


def test_track_lifecycle_timeout_and_overflow(single):
    kp = walking_keypoints(40)
    multi = MultiStreamLifter(single, 1000, 1000, max_tracks=2, track_timeout=3)
    for f in range(5):
        multi.push({1: kp[f], 2: kp[f]})
    with pytest.raises(HtpEdgeError, match="3 live tracks. Expected at most max_tracks=2"):
        multi.push({1: kp[5], 2: kp[5], 3: kp[5]})
    assert set(multi.tracks) == {1, 2} and multi.tracks[1].frames == 5  # the refused push changed nothing
    for f in range(5, 8):
        multi.push({1: kp[f]})
    assert set(multi.tracks) == {1} and multi.dropped == [2]
    multi.push({1: kp[8], 3: kp[8]})
    assert set(multi.tracks) == {1, 3} and multi.tracks[3].frames == 1
    drop = MultiStreamLifter(single, 1000, 1000, max_tracks=2, on_overflow="drop-oldest")
    drop.push({1: kp[0]})
    drop.push({2: kp[1]})
    drop.push({2: kp[2], 3: kp[2]})
    assert set(drop.tracks) == {2, 3} and drop.dropped == [1]


def test_a_bad_frame_touches_no_track(single):
    kp = walking_keypoints(5)
    multi = MultiStreamLifter(single, 1000, 1000)
    multi.push({1: kp[0], 2: kp[0]})
    for bad, match in (({1: kp[1], 2: np.full((17, 2), np.inf)}, "track 2 frame"),
                       ({1: kp[1], "x": kp[1]}, "track ids must be integers"), ([kp[1]], "takes a mapping")):
        with pytest.raises(HtpEdgeError, match=match):
            multi.push(bad)
    assert multi.tracks[1].frames == 1 and multi.tracks[2].frames == 1
    with pytest.raises(HtpEdgeError, match="max_tracks must be"):
        MultiStreamLifter(single, 1000, 1000, max_tracks=0)


def test_memory_is_bounded_and_a_producer_thread_is_safe(single):
    people = _people(3, 200)
    multi = MultiStreamLifter(single, 1000, 1000, max_tracks=3)
    outputs = []

    def produce(lo, hi):
        for f in range(lo, hi):
            outputs.append(multi.push({tid: kp[f] for tid, kp in people.items()}))
    threads = [threading.Thread(target=produce, args=(0, 100)), threading.Thread(target=produce, args=(100, 200))]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert multi.pushes == 200 and all(len(t.xy) == multi.window for t in multi.tracks.values())
    assert all(np.isfinite(p).all() for out in outputs for p in out.values())


def test_a_small_graph_serves_few_people_with_the_same_poses(batched, single):
    people = _people(8, 40)
    both = MultiStreamLifter(batched, 1000, 1000, max_tracks=8, small=single)
    only = MultiStreamLifter(batched, 1000, 1000, max_tracks=8)
    used = set()
    for f in range(40):
        n = 1 if f < 32 else 8  # one person, then eight
        frame = {tid: kp[f] for tid, kp in list(people.items())[:n]}
        a, b = both.push(frame), only.push(frame)
        assert a.keys() == b.keys()
        for tid in a:
            np.testing.assert_allclose(a[tid], b[tid], atol=2e-5)
        if a:
            used.add((len(a), both.last_lifter.config.clips_per_call))
    assert (1, 1) in used  # one person: the one-clip graph
    with pytest.raises(HtpEdgeError, match="smaller clip batch"):
        MultiStreamLifter(single, 1000, 1000, small=batched)
