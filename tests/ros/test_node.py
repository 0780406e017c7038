"""The ROS 2 node on a fake rclpy: REP-155 skeletons in, batched lifting, MarkerArray/PoseArray out."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from htp_edge.bench.run import walking_keypoints
from htp_edge.errors import HtpEdgeError
from htp_edge.io.mcap_out import BONES, MARKER_NS, ROOT_SPACING_M, track_color
from htp_edge.pose.coco import coco_to_h36m
from htp_edge.ros import node as ros_node
from htp_edge.ros.node import (
    MARKERS_TOPIC,
    NO_MSGS,
    NO_ROS,
    POSES_TOPIC,
    SKELETON2D_JOINTS,
    SKELETON2D_TO_COCO,
    SKELETON_TOPIC,
    TRACKED_TOPIC,
    LifterNode,
    NodeConfig,
    check_joint_order,
    message_dicts,
    open_lifter,
    skeleton2d_to_h36m,
)
from htp_edge.runtime.multistream import MultiStreamLifter
from tests.ros import fake_rclpy
from tests.ros.fake_rclpy import Header, IdsList, MarkerArray, NormalizedPointOfInterest2D, PoseArray, Skeleton2D, Time

BLOCKED = str(Path(__file__).resolve().parents[1] / "blocked.py")
W, H = 1280.0, 720.0
J = {name: i for i, name in enumerate(SKELETON2D_JOINTS)}
CAMERA = "head_front_camera_color_optical_frame"
WINDOW = 27  # htp-small's receptive field


@pytest.fixture
def ros(monkeypatch):
    """The fake rclpy and message packages in sys.modules; overrides as `-p width:=1280 -p height:=720`."""
    fake = fake_rclpy.install(monkeypatch)
    fake.overrides.update(width=1280, height=720)  # ints, as ROS parses them: the node must take them
    return fake


@pytest.fixture(scope="module")
def lifter():
    lifter = open_lifter("htp-small", max_tracks=8)
    yield lifter
    lifter.close()


# -- helpers -------------------------------------------------------------------------------------
def h36m_to_rep155(kp: np.ndarray, conf: np.ndarray | None = None) -> np.ndarray:
    """A person's H36M pixels (17, 2) -> REP-155 points (18, 3), normalised; NECK = mid-shoulders with the
    lower shoulder confidence (as hri_fullbody publishes it); eyes and ears around the H36M head."""
    conf = np.ones(17) if conf is None else conf
    pts = np.zeros((18, 3))
    for h36m, name in {1: "RIGHT_HIP", 2: "RIGHT_KNEE", 3: "RIGHT_ANKLE", 4: "LEFT_HIP", 5: "LEFT_KNEE",
                       6: "LEFT_ANKLE", 9: "NOSE", 11: "LEFT_SHOULDER", 12: "LEFT_ELBOW", 13: "LEFT_WRIST",
                       14: "RIGHT_SHOULDER", 15: "RIGHT_ELBOW", 16: "RIGHT_WRIST"}.items():
        pts[J[name]] = [*kp[h36m], conf[h36m]]
    head = kp[10]
    for name, offset in (("LEFT_EYE", (6, 3)), ("RIGHT_EYE", (-6, 3)), ("LEFT_EAR", (12, 8)),
                         ("RIGHT_EAR", (-12, 8))):
        pts[J[name]] = [*(head + offset), conf[10]]
    ls, rs = pts[J["LEFT_SHOULDER"]], pts[J["RIGHT_SHOULDER"]]
    pts[J["NECK"]] = [*(0.5 * (ls[:2] + rs[:2])), min(ls[2], rs[2])]
    pts[:, :2] /= [W, H]
    return pts


def skeleton_msg(points: np.ndarray, stamp: tuple[int, int], frame_id: str = CAMERA) -> Skeleton2D:
    return Skeleton2D(header=Header(stamp=Time(sec=stamp[0], nanosec=stamp[1]), frame_id=frame_id),
                      skeleton=[NormalizedPointOfInterest2D(x=float(x), y=float(y), c=float(c)) for x, y, c in points])


def stamp_of(f: int) -> tuple[int, int]:
    return 1_700_000_000 + f // 30, (f % 30) * 33_333_333


def walkers(frames: int) -> dict[str, np.ndarray]:
    """Two people's H36M pixels (T, 17, 2), side by side in a 1280 x 720 image."""
    return {"bxq3a": walking_keypoints(frames, W, H, seed=0) - np.float32(200),
            "kpw7e": walking_keypoints(frames, W, H, seed=1) + np.float32(200)}


def stamp(msg) -> tuple[int, int]:
    return msg.header.stamp.sec, msg.header.stamp.nanosec


def xyz(points) -> np.ndarray:
    return np.array([[p.x, p.y, p.z] for p in points])


# -- hri_msgs and the conversion -----------------------------------------------------------------
def test_joint_order_is_hri_msgs_skeleton2d():
    # the constants of hri_msgs/msg/Skeleton2D.msg (ros4hri/hri_msgs humble-devel and master), verbatim
    assert SKELETON2D_JOINTS == tuple(sorted(fake_rclpy.SKELETON2D_CODES, key=fake_rclpy.SKELETON2D_CODES.get))
    assert [fake_rclpy.SKELETON2D_CODES[n] for n in SKELETON2D_JOINTS] == list(range(18))
    check_joint_order(Skeleton2D)  # the message's own constants agree

    class Reordered:  # OpenPose's left/right hip order: not what hri_msgs defines
        LEFT_HIP, RIGHT_HIP = 8, 11

    with pytest.raises(HtpEdgeError, match="another joint order.*RIGHT_HIP=11"):
        check_joint_order(Reordered)
    check_joint_order(object)  # an hri_msgs without constants: nothing to check


def test_skeleton2d_to_h36m_agrees_with_coco_to_h36m():
    rng = np.random.default_rng(0)
    kp = walking_keypoints(8, W, H)
    points = np.stack([h36m_to_rep155(k, rng.uniform(0.3, 1.0, 17)) for k in kp])  # (8, 18, 3)
    coco = points[:, SKELETON2D_TO_COCO] * [W, H, 1.0]  # the same people, COCO-17 order, pixels
    got = skeleton2d_to_h36m(points, W, H)
    assert got.shape == (8, 17, 3)
    np.testing.assert_allclose(got, coco_to_h36m(coco), atol=1e-9)
    np.testing.assert_allclose(skeleton2d_to_h36m(points[3], W, H), got[3])  # one frame (18, 3) alike
    limbs = [1, 2, 3, 4, 5, 6, 9, 11, 12, 13, 14, 15, 16]  # copied points: the pixels we started from
    np.testing.assert_allclose(got[:, limbs, :2], kp[:, limbs], atol=1e-3)

    missing = points.copy()
    missing[:, J["NECK"]] = [0.9, 0.1, 0.0]  # NECK not detected: mid-shoulders, as coco_to_h36m
    np.testing.assert_allclose(skeleton2d_to_h36m(missing, W, H), coco_to_h36m(coco), atol=1e-9)

    moved = points.copy()
    moved[:, J["NECK"], :2] += [0.0, -0.02]  # a detector's own NECK: the thorax, and what depends on it
    out, want = skeleton2d_to_h36m(moved, W, H), coco_to_h36m(coco)
    neck = moved[:, J["NECK"], :2] * [W, H]
    np.testing.assert_allclose(out[:, 8, :2], neck)
    np.testing.assert_allclose(out[:, 7, :2], 0.5 * (out[:, 0, :2] + neck))
    np.testing.assert_allclose(out[:, 10, :2], want[:, 10, :2] - 0.5 * (neck - want[:, 8, :2]), atol=1e-9)
    same = [j for j in range(17) if j not in (7, 8, 10)]
    np.testing.assert_allclose(out[:, same], want[:, same], atol=1e-9)


@pytest.mark.parametrize("points,size", [(np.zeros((17, 3)), (W, H)), (np.zeros((18, 2)), (W, H)),
                                         (np.zeros((18, 3)), (0, H)), (np.zeros((18, 3)), (W, float("nan")))])
def test_skeleton2d_to_h36m_refuses_bad_input(points, size):
    with pytest.raises(HtpEdgeError):
        skeleton2d_to_h36m(points, *size)


def test_message_dicts_match_the_mcap_writer(tmp_path):
    pytest.importorskip("mcap_ros2")
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    from htp_edge.io.mcap_out import McapPoseWriter
    rng = np.random.default_rng(1)
    poses = {3: rng.normal(size=(17, 3)) * 0.3, 0: rng.normal(size=(17, 3)) * 0.3}
    with McapPoseWriter(tmp_path / "x.mcap", frame_id=CAMERA) as writer:
        writer.write(12.5, poses)
    header = {"stamp": {"sec": 12, "nanosec": 500_000_000}, "frame_id": CAMERA}
    markers, arrays = message_dicts(poses, {0: header, 3: header})
    with open(tmp_path / "x.mcap", "rb") as f:
        decoded = [(c.topic, m) for _, c, _, m in make_reader(f, decoder_factories=[DecoderFactory()])
                   .iter_decoded_messages()]
    written_markers = [m for t, m in decoded if t == MARKERS_TOPIC][0].markers
    assert [m.id for m in written_markers] == [m["id"] for m in markers["markers"]] == [0, 3]
    for w, d in zip(written_markers, markers["markers"]):
        assert (w.ns, w.type, w.action, w.scale.x) == (d["ns"], d["type"], d["action"], d["scale"]["x"])
        assert (w.lifetime.sec, w.lifetime.nanosec) == (d["lifetime"]["sec"], d["lifetime"]["nanosec"])
        np.testing.assert_allclose(xyz(w.points), [[p["x"], p["y"], p["z"]] for p in d["points"]])
        np.testing.assert_allclose([w.color.r, w.color.g, w.color.b], [d["color"][k] for k in "rgb"],
                                   rtol=1e-6)  # float32 on the wire
    written_arrays = [m for t, m in decoded if t == POSES_TOPIC]
    for w, d in zip(written_arrays, arrays, strict=True):
        np.testing.assert_allclose(xyz(p.position for p in w.poses),
                                   [[p["position"][k] for k in "xyz"] for p in d["poses"]])


# -- the node ------------------------------------------------------------------------------------
def test_two_bodies_are_lifted_together_published_and_unsubscribed(ros, lifter):
    ros.init(args=["htp_edge_lifter"])
    lifted = LifterNode(lifter=lifter)
    node = ros.node
    assert lifted.config.width == W and lifted.config.height == H and lifted.multi.window == WINDOW
    assert {(p.topic, p.msg_type) for p in node.publishers} == {(MARKERS_TOPIC, MarkerArray),
                                                                (POSES_TOPIC, PoseArray)}
    assert ros.subscribed() == {TRACKED_TOPIC}
    assert [t.period for t in node.live("timers")] == [pytest.approx(1 / 30)]

    ros.deliver(TRACKED_TOPIC, IdsList(ids=["bxq3a", "kpw7e"]))
    topics = {b: SKELETON_TOPIC.format(b) for b in ("bxq3a", "kpw7e")}
    assert ros.subscribed() == {TRACKED_TOPIC, *topics.values()}
    assert lifted.track_ids == {"bxq3a": 0, "kpw7e": 1}

    frames = 34
    people = walkers(frames)
    reference = MultiStreamLifter(open_lifter("htp-small", max_tracks=8), W, H, max_tracks=8)
    expected = []
    for f in range(frames):
        msgs = {b: skeleton_msg(h36m_to_rep155(kp[f]), stamp_of(f)) for b, kp in people.items()}
        for body, msg in msgs.items():
            assert ros.deliver(topics[body], msg) == 1
        assert ros.fire_timers() == 1
        ros.fire_timers()  # nothing new: no push, nothing published
        expected.append(reference.push({lifted.track_ids[b]: skeleton2d_to_h36m(
            fake_points(m), W, H) for b, m in msgs.items()}))
    assert lifted.multi.pushes == frames and lifted.multi.last_batch == 2
    reference.lifter.close()

    arrays, poses = ros.published(MARKERS_TOPIC), ros.published(POSES_TOPIC)
    first = WINDOW - 1  # the first frame with a full window
    assert len(arrays) == frames - first and len(poses) == 2 * (frames - first)
    for k, array in enumerate(arrays):
        f = first + k
        assert [m.id for m in array.markers] == [0, 1]
        for m in array.markers:
            assert (m.ns, m.type, m.action) == (MARKER_NS, 5, 0)  # LINE_LIST, ADD
            assert stamp(m) == stamp_of(f) and m.header.frame_id == CAMERA
            assert len(m.points) == 2 * len(BONES) and np.isfinite(xyz(m.points)).all()
            assert (m.color.r, m.color.g, m.color.b) == tuple(track_color(m.id)[c] for c in "rgb")
            assert m.scale.x == 0.02 and (m.lifetime.sec, m.lifetime.nanosec) == (0, 500_000_000)
        for tid in (0, 1):
            pa = poses[2 * k + tid]
            assert stamp(pa) == stamp_of(f) and pa.header.frame_id == CAMERA
            got = xyz(p.position for p in pa.poses)
            assert got.shape == (17, 3) and np.isfinite(got).all()
            assert all((p.orientation.x, p.orientation.w) == (0.0, 1.0) for p in pa.poses)
            root = np.array([tid * ROOT_SPACING_M, 0.0, 0.0])  # people spaced along x in track id order
            np.testing.assert_allclose(got, expected[f][tid] + root, atol=1e-5)
            bones = xyz(array.markers[tid].points)
            np.testing.assert_allclose(bones, got[np.array(BONES).ravel()], atol=1e-6)

    # a body leaving: unsubscribed, its late messages ignored, the other goes on alone
    ros.deliver(TRACKED_TOPIC, IdsList(ids=["kpw7e"]))
    assert ros.subscribed() == {TRACKED_TOPIC, topics["kpw7e"]}
    assert [s.destroyed for s in node.subscriptions if s.topic == topics["bxq3a"]] == [True]
    late = skeleton_msg(h36m_to_rep155(people["bxq3a"][0]), stamp_of(frames))
    assert ros.deliver(topics["bxq3a"], late) == 0
    ros.deliver(topics["kpw7e"], skeleton_msg(h36m_to_rep155(people["kpw7e"][0]), stamp_of(frames)))
    ros.fire_timers()
    assert [m.id for m in ros.published(MARKERS_TOPIC)[-1].markers] == [1]
    assert stamp(ros.published(POSES_TOPIC)[-1]) == stamp_of(frames)

    # ids are stable: a body that comes back keeps its track id, a new one gets the next
    ros.deliver(TRACKED_TOPIC, IdsList(ids=["kpw7e", "bxq3a", "zz9ab"]))
    assert lifted.track_ids == {"bxq3a": 0, "kpw7e": 1, "zz9ab": 2}
    assert len(ros.subscribed()) == 4
    lifted.close()
    assert node.destroyed and lifted.node is None


def fake_points(msg) -> np.ndarray:
    return np.array([[p.x, p.y, p.c] for p in msg.skeleton])


def test_rate_zero_pushes_each_complete_message_set(ros, lifter):
    ros.overrides["rate_hz"] = 0
    ros.init()
    lifted = LifterNode(lifter=lifter)
    assert ros.node.live("timers") == []
    ros.deliver(TRACKED_TOPIC, IdsList(ids=["a", "b"]))
    people = dict(zip("ab", walkers(WINDOW + 2).values()))
    for f in range(WINDOW):
        ros.deliver(SKELETON_TOPIC.format("a"), skeleton_msg(h36m_to_rep155(people["a"][f]), stamp_of(f)))
        assert lifted.multi.pushes == f  # waits for b
        ros.deliver(SKELETON_TOPIC.format("b"), skeleton_msg(h36m_to_rep155(people["b"][f]), stamp_of(f)))
        assert lifted.multi.pushes == f + 1 and lifted.multi.last_batch == (2 if f == WINDOW - 1 else 0)
    assert len(ros.published(MARKERS_TOPIC)) == 1 and len(ros.published(POSES_TOPIC)) == 2
    # a sends twice before b: its first frame goes alone
    for f in (WINDOW, WINDOW + 1):
        ros.deliver(SKELETON_TOPIC.format("a"), skeleton_msg(h36m_to_rep155(people["a"][f]), stamp_of(f)))
    assert lifted.multi.pushes == WINDOW + 1
    assert [m.id for m in ros.published(MARKERS_TOPIC)[-1].markers] == [0]
    # b leaving completes the set of those still tracked
    ros.deliver(TRACKED_TOPIC, IdsList(ids=["a"]))
    assert lifted.multi.pushes == WINDOW + 2 and stamp(ros.published(POSES_TOPIC)[-1]) == stamp_of(WINDOW + 1)
    lifted.close()


def test_centred_mode_stamps_the_window_middle_and_frame_id_parameter(ros, lifter):
    ros.overrides.update(mode="centred", frame_id="camera_optical")
    ros.init()
    lifted = LifterNode(lifter=lifter)
    ros.deliver(TRACKED_TOPIC, IdsList(ids=["solo"]))
    kp = walking_keypoints(WINDOW + 3, W, H)
    for f in range(len(kp)):
        ros.deliver(SKELETON_TOPIC.format("solo"), skeleton_msg(h36m_to_rep155(kp[f]), stamp_of(f)))
        ros.fire_timers()
    out = ros.published(POSES_TOPIC)
    assert len(out) == 4
    newest = range(WINDOW - 1, WINDOW + 3)
    assert [stamp(m) for m in out] == [stamp_of(f - (WINDOW - 1) + WINDOW // 2) for f in newest]
    assert {m.header.frame_id for m in out} == {"camera_optical"}
    lifted.close()


def test_bad_messages_are_skipped_with_a_warning(ros, lifter):
    ros.init()
    lifted = LifterNode(lifter=lifter)
    ros.deliver(TRACKED_TOPIC, IdsList(ids=["a", "bad/ /id"]))
    assert any("cannot subscribe" in text for level, text in ros.node.logs if level == "warning")
    short = Skeleton2D.__new__(Skeleton2D)  # 17 points: rclpy's fixed array would refuse, a bridge might not
    object.__setattr__(short, "header", Header(frame_id=""))
    object.__setattr__(short, "skeleton", [NormalizedPointOfInterest2D()] * 17)
    ros.deliver(SKELETON_TOPIC.format("a"), short)
    assert any("skeleton skipped" in text and "17 points" in text for _, text in ros.node.logs)
    assert ros.fire_timers() == 1 and lifted.multi.pushes == 0
    points = h36m_to_rep155(walking_keypoints(1, W, H)[0])
    points[J["LEFT_WRIST"]] = [np.nan, np.nan, 0.9]  # NaN: a missing joint, not an error
    for f in range(WINDOW):
        ros.deliver(SKELETON_TOPIC.format("a"), skeleton_msg(points, stamp_of(f), frame_id=""))
        ros.fire_timers()
    (array,) = ros.published(MARKERS_TOPIC)
    assert np.isfinite(xyz(array.markers[0].points)).all()
    assert array.markers[0].header.frame_id == "camera"  # neither parameter nor input names a frame
    lifted.close()


@pytest.mark.parametrize("name,value,match", [("mode", "sideways", "mode"), ("rate_hz", -1.0, "rate_hz"),
                                              ("max_tracks", 0, "max_tracks"), ("width", "wide", "width"),
                                              ("backend", "cuda", "backend"), ("lifetime", float("inf"), "lifetime")])
def test_bad_parameters_are_refused_and_the_node_destroyed(ros, lifter, name, value, match):
    ros.overrides[name] = value
    ros.init()
    with pytest.raises(HtpEdgeError, match=f"bad parameter {match}"):
        LifterNode(lifter=lifter)
    assert ros.node.destroyed


def test_node_config_defaults_and_conversions():
    cfg = NodeConfig.from_parameters({"width": 1920, "height": 1080, "rate_hz": 15})
    assert (cfg.width, cfg.height, cfg.rate_hz) == (1920.0, 1080.0, 15.0) and isinstance(cfg.width, float)
    assert NodeConfig.from_parameters({}) == NodeConfig()
    assert NodeConfig().checkpoint == "htp-small" and NodeConfig().max_tracks == 8


# -- main ----------------------------------------------------------------------------------------
def test_main_runs_the_node_until_ctrl_c(ros, capsys):
    def spin(node):
        ros.deliver(TRACKED_TOPIC, IdsList(ids=["a"]))
        kp = walking_keypoints(WINDOW, W, H)
        for f in range(WINDOW):
            ros.deliver(SKELETON_TOPIC.format("a"), skeleton_msg(h36m_to_rep155(kp[f]), stamp_of(f)))
            ros.fire_timers()
        raise KeyboardInterrupt

    ros.overrides.clear()
    ros.on_spin = spin
    assert ros_node.main(["--ros-args", "-p", "width:=1280", "-p", "height:=720", "-p", "max_tracks:=4"]) == 0
    node = ros.node
    assert node.name == ros_node.NODE_NAME and node.parameters["max_tracks"].value == 4
    assert node.parameters["width"].value == 1280 and len(ros.published(POSES_TOPIC)) == 1
    assert node.destroyed and not ros.initialized and ros.shutdowns == 1
    assert capsys.readouterr().err == ""


def test_main_reports_a_bad_parameter_in_one_line(ros, capsys):
    assert ros_node.main(["--ros-args", "-p", "mode:=sideways"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("htp-edge ros: error: bad parameter mode") and err.count("\n") == 1
    assert ros.node.destroyed and not ros.initialized


def test_main_without_rclpy_prints_one_line_and_exits_2(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "rclpy", None)  # import rclpy -> ImportError, as without ROS
    assert ros_node.main([]) == 2
    out = capsys.readouterr()
    assert out.err == NO_ROS + "\n" and out.out == ""


def test_main_without_hri_msgs_names_the_package(ros, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "hri_msgs.msg", None)
    assert ros_node.main([]) == 2
    assert capsys.readouterr().err == NO_MSGS.format("hri_msgs") + "\n" and not ros.initialized


def test_module_without_ros_exits_2_with_one_line(tmp_path):
    """``python -m htp_edge.ros.node`` with rclpy unimportable (even where ROS is sourced); neither torch
    nor mcap is imported on the way."""
    run = subprocess.run([sys.executable, BLOCKED, "rclpy,torch,mcap", "-m", "htp_edge.ros.node"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    assert run.stderr == NO_ROS + "\n" and run.stdout == ""
    code = "import sys, htp_edge.ros.node; sys.exit('rclpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=tmp_path).returncode == 0
