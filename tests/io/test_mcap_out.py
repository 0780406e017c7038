"""McapPoseWriter: real ROS 2 CDR messages in an MCAP file, read back and checked message by message."""
from __future__ import annotations

import re
import sys

import numpy as np
import pytest

from htp_edge.errors import HtpEdgeError
from htp_edge.io import ros2_msgs
from htp_edge.io.mcap_out import BONES, MISSING_PACKAGES, McapPoseWriter, ros_time
from htp_edge.pose.skeleton import NUM_JOINTS, PARENTS


@pytest.fixture
def needs_mcap():
    """Skips without mcap-ros2-support (the missing-package test runs either way)."""
    pytest.importorskip("mcap_ros2")


# A T-pose in the camera frame (x right, y down, z forward), metres, pelvis at the origin.
T_POSE = np.array([
    [0.0, 0.0, 0.0], [-0.12, 0.0, 0.0], [-0.12, 0.45, 0.0], [-0.12, 0.88, 0.02], [0.12, 0.0, 0.0],
    [0.12, 0.45, 0.0], [0.12, 0.88, 0.02], [0.0, -0.23, 0.0], [0.0, -0.48, 0.0], [0.0, -0.58, -0.06],
    [0.0, -0.70, 0.0], [0.16, -0.46, 0.0], [0.44, -0.46, 0.0], [0.70, -0.46, 0.0], [-0.16, -0.46, 0.0],
    [-0.44, -0.46, 0.0], [-0.70, -0.46, 0.0]])

# (time in s, track ids): 1-3 people, a frame with nobody, sub-second and nanosecond stamps
FRAMES = [(0.0, [7]), (0.04, [7, 2]), (1.5, [2, 7, 11]), (2.123456789, [11]), (2.2, []), (3.0, [11, 2])]


def posed(track_id: int, t: float) -> np.ndarray:
    """The T-pose turned about the vertical axis and with arms swinging: bone lengths stay those of T_POSE."""
    pose = T_POSE.copy()
    for shoulder, hand in ((11, 13), (14, 16)):  # swing the arm about the shoulder (rigid rotation about z)
        a = 0.6 * np.sin(3.0 * t + track_id)
        rot = np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])
        pose[shoulder + 1:hand + 1] = (pose[shoulder + 1:hand + 1] - pose[shoulder]) @ rot.T + pose[shoulder]
    yaw = 0.4 * track_id + t
    rot = np.array([[np.cos(yaw), 0.0, np.sin(yaw)], [0.0, 1.0, 0.0], [-np.sin(yaw), 0.0, np.cos(yaw)]])
    return pose @ rot.T


def bone_lengths(pose: np.ndarray) -> np.ndarray:
    return np.array([np.linalg.norm(pose[j] - pose[p]) for j, p in BONES])


def write_frames(path, roots=None, **kwargs) -> list[tuple[float, dict[int, np.ndarray]]]:
    frames = [(t, {tid: posed(tid, t) for tid in ids}) for t, ids in FRAMES]
    with McapPoseWriter(path, **kwargs) as writer:
        for t, poses in frames:
            writer.write(t, poses, roots=roots)
    assert writer.closed
    return frames


def read_all(path):
    """[(topic, schema name, log_time, publish_time, sequence, decoded)] in file order, the summary and header."""
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory
    with open(path, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        summary = reader.get_summary()
        header = reader.get_header()
        out = [(c.topic, s.name, m.log_time, m.publish_time, m.sequence, d)
               for s, c, m, d in reader.iter_decoded_messages(log_time_order=False)]
    return out, summary, header


def stamp_of(t: float) -> tuple[int, int]:
    ns = round(t * 1e9)
    return ns // 10**9, ns % 10**9


def as_xyz(points) -> np.ndarray:
    return np.array([[p.x, p.y, p.z] for p in points])


def check_frames(path, frames, roots_of, frame_id="camera", skeleton="/htp_edge/skeleton",
                 poses_topic="/htp_edge/poses", line_width=0.02):
    messages, summary, header = read_all(path)
    assert header.profile == "ros2"
    expected_count = sum(1 + len(p) for _, p in frames)
    assert len(messages) == expected_count
    it = iter(messages)
    colours = {}
    for index, (t, poses) in enumerate(frames):
        sec, nanosec = stamp_of(t)
        roots = roots_of(poses)
        # one MarkerArray per frame, first
        topic, schema, log_time, publish_time, seq, msg = next(it)
        assert (topic, schema) == (skeleton, "visualization_msgs/msg/MarkerArray")
        assert log_time == publish_time == sec * 10**9 + nanosec and seq == index
        assert [m.id for m in msg.markers] == sorted(poses)
        for marker in msg.markers:
            joints = poses[marker.id] + roots[marker.id]
            assert (marker.header.stamp.sec, marker.header.stamp.nanosec) == (sec, nanosec)
            assert marker.header.frame_id == frame_id
            assert marker.ns == "htp_edge" and marker.type == ros2_msgs.MARKER_LINE_LIST == 5
            assert marker.action == ros2_msgs.MARKER_ADD == 0 and not marker.frame_locked
            assert marker.scale.x == pytest.approx(line_width)
            assert 0 < marker.lifetime.sec * 10**9 + marker.lifetime.nanosec <= 10**9
            q = marker.pose.orientation
            assert (q.x, q.y, q.z, q.w) == (0, 0, 0, 1) and as_xyz([marker.pose.position]).tolist() == [[0, 0, 0]]
            assert len(marker.points) == 2 * len(BONES) == 2 * (NUM_JOINTS - 1) and marker.colors == []
            points = as_xyz(marker.points)
            for b, (j, p) in enumerate(BONES):
                assert PARENTS[j] == p
                np.testing.assert_array_equal(points[2 * b], joints[j])
                np.testing.assert_array_equal(points[2 * b + 1], joints[p])
            np.testing.assert_allclose(np.linalg.norm(points[0::2] - points[1::2], axis=1), bone_lengths(T_POSE),
                                       atol=1e-12)
            colour = (marker.color.r, marker.color.g, marker.color.b, marker.color.a)
            assert colour[3] == 1.0 and all(0 <= c <= 1 for c in colour)
            assert colours.setdefault(marker.id, colour) == colour  # stable per track
        # then one PoseArray per person, in increasing track id
        for tid in sorted(poses):
            topic, schema, log_time, publish_time, _, msg = next(it)
            assert (topic, schema) == (poses_topic, "geometry_msgs/msg/PoseArray")
            assert log_time == publish_time == sec * 10**9 + nanosec
            assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (sec, nanosec)
            assert msg.header.frame_id == frame_id
            assert len(msg.poses) == NUM_JOINTS
            np.testing.assert_array_equal(as_xyz([p.position for p in msg.poses]), poses[tid] + roots[tid])
            assert all((p.orientation.x, p.orientation.y, p.orientation.z, p.orientation.w) == (0, 0, 0, 1)
                       for p in msg.poses)
    assert next(it, None) is None
    assert len(set(colours.values())) == len(colours)  # a distinct colour per track id

    # the summary and its indexes
    assert summary is not None and summary.statistics is not None
    by_topic = {ch.topic: ch for ch in summary.channels.values()}
    assert set(by_topic) == {skeleton, poses_topic}
    counts = summary.statistics.channel_message_counts
    assert counts[by_topic[skeleton].id] == len(frames)
    assert counts[by_topic[poses_topic].id] == sum(len(p) for _, p in frames)
    assert summary.statistics.message_count == expected_count
    assert summary.statistics.message_start_time == 0
    assert summary.statistics.message_end_time == round(frames[-1][0] * 1e9)
    for topic, name, definition in ((skeleton, ros2_msgs.MARKER_ARRAY, ros2_msgs.MARKER_ARRAY_DEFINITION),
                                    (poses_topic, ros2_msgs.POSE_ARRAY, ros2_msgs.POSE_ARRAY_DEFINITION)):
        channel = by_topic[topic]
        schema = summary.schemas[channel.schema_id]
        assert channel.message_encoding == "cdr" and schema.encoding == "ros2msg"
        assert schema.name == name and schema.data.decode() == definition
    assert summary.chunk_indexes and all(ci.message_index_offsets for ci in summary.chunk_indexes)
    # the indexed (seeking) path gives the same messages per topic
    from mcap.reader import NonSeekingReader, make_reader
    from mcap_ros2.decoder import DecoderFactory
    with open(path, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        assert sum(1 for _ in reader.iter_messages(topics=[poses_topic])) == counts[by_topic[poses_topic].id]
    # and a full sequential read with CRC checks passes (data section, chunks, footer)
    with open(path, "rb") as f:
        assert sum(1 for _ in NonSeekingReader(f, validate_crcs=True).iter_messages()) == expected_count


def test_test_poses_are_bone_consistent():
    for tid in (2, 7, 11):
        for t in (0.0, 1.5, 3.0):
            pose = posed(tid, t)
            np.testing.assert_allclose(bone_lengths(pose), bone_lengths(T_POSE), atol=1e-12)
            assert not pose[0].any()


def test_every_message_round_trips_with_default_roots(tmp_path, needs_mcap):
    path = tmp_path / "poses.mcap"
    frames = write_frames(path)

    def default(poses):  # 1 m apart along x in increasing track id
        return {tid: np.array([float(k), 0.0, 0.0]) for k, tid in enumerate(sorted(poses))}

    check_frames(path, frames, default)


def test_explicit_roots_frame_and_topics(tmp_path, needs_mcap):
    path = tmp_path / "custom.mcap"
    roots = {2: np.array([-1.0, 0.2, 3.5]), 7: np.array([0.5, 0.0, 4.0]), 11: np.array([2.0, -0.1, 6.0])}
    frames = write_frames(path, roots=roots, frame_id="head_camera_optical_frame", skeleton_topic="/a/markers",
                          poses_topic="/a/poses", line_width=0.05)
    check_frames(path, frames, lambda poses: roots, frame_id="head_camera_optical_frame", skeleton="/a/markers",
                 poses_topic="/a/poses", line_width=0.05)


def test_definitions_are_humble_in_rosbag2_form():
    assert ros2_msgs.DISTRO == "humble"
    for definition, root, deps in (
            (ros2_msgs.MARKER_ARRAY_DEFINITION, "Marker[] markers\n",
             ["visualization_msgs/Marker", "builtin_interfaces/Duration", "geometry_msgs/Point", "geometry_msgs/Pose",
              "geometry_msgs/Quaternion", "geometry_msgs/Vector3", "sensor_msgs/CompressedImage", "std_msgs/Header",
              "builtin_interfaces/Time", "std_msgs/ColorRGBA", "visualization_msgs/MeshFile",
              "visualization_msgs/UVCoordinate"]),
            (ros2_msgs.POSE_ARRAY_DEFINITION, None,
             ["geometry_msgs/Pose", "geometry_msgs/Point", "geometry_msgs/Quaternion", "std_msgs/Header",
              "builtin_interfaces/Time"])):
        sections = definition.split("\n" + "=" * 80 + "\n")
        if root is not None:
            assert sections[0] == root
        assert [s.splitlines()[0] for s in sections[1:]] == [f"MSG: {d}" for d in deps]
        for dep, section in zip(deps, sections[1:]):
            assert section == f"MSG: {dep}\n" + ros2_msgs.msg_text(dep)
    fields = [line.split()[:2] for line in ros2_msgs.msg_text("visualization_msgs/msg/Marker").splitlines()
              if line and not line.startswith("#") and "=" not in line]
    assert fields == [
        ["std_msgs/Header", "header"], ["string", "ns"], ["int32", "id"], ["int32", "type"], ["int32", "action"],
        ["geometry_msgs/Pose", "pose"], ["geometry_msgs/Vector3", "scale"], ["std_msgs/ColorRGBA", "color"],
        ["builtin_interfaces/Duration", "lifetime"], ["bool", "frame_locked"], ["geometry_msgs/Point[]", "points"],
        ["std_msgs/ColorRGBA[]", "colors"], ["string", "texture_resource"], ["sensor_msgs/CompressedImage", "texture"],
        ["UVCoordinate[]", "uv_coordinates"], ["string", "text"], ["string", "mesh_resource"],
        ["MeshFile", "mesh_file"], ["bool", "mesh_use_embedded_materials"]]
    assert re.search(r"^int32 LINE_LIST=5$", ros2_msgs.msg_text("visualization_msgs/Marker"), re.M)


@pytest.mark.parametrize("module", ["mcap", "mcap_ros2"])
def test_missing_packages_give_one_line(tmp_path, monkeypatch, module):
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(HtpEdgeError) as info:
        McapPoseWriter(tmp_path / "x.mcap")
    assert str(info.value) == MISSING_PACKAGES
    assert "\n" not in str(info.value) and "pip install htp_edge[ros]" in str(info.value)
    assert not (tmp_path / "x.mcap").exists()


def test_stamps():
    assert ros_time(0.0) == {"sec": 0, "nanosec": 0}
    assert ros_time(1.1) == {"sec": 1, "nanosec": 100_000_000}
    assert ros_time(2.123456789) == {"sec": 2, "nanosec": 123_456_789}
    assert ros_time(0.99999999999) == {"sec": 1, "nanosec": 0}
    assert ros_time(1_700_000_000.25) == {"sec": 1_700_000_000, "nanosec": 250_000_000}
    for bad in (-0.1, float("nan"), float("inf"), 2.0**31, "1"):
        with pytest.raises(HtpEdgeError):
            ros_time(bad)


def test_bad_input_and_close(tmp_path, needs_mcap):
    path = tmp_path / "bad.mcap"
    writer = McapPoseWriter(path)
    for poses, roots in (({1: np.zeros((17, 2))}, None), ({1: np.full((17, 3), np.nan)}, None),
                         ({-1: T_POSE}, None), ({"a": T_POSE}, None), ({1: T_POSE, 2: T_POSE}, {1: np.zeros(3)}),
                         ({1: T_POSE}, {1: np.zeros(2)})):
        with pytest.raises(HtpEdgeError):
            writer.write(0.0, poses, roots=roots)
    with pytest.raises(HtpEdgeError):
        writer.write(-1.0, {1: T_POSE})
    writer.write(0.5, {np.int64(4): T_POSE})
    writer.close()
    writer.close()  # idempotent
    with pytest.raises(HtpEdgeError, match="closed"):
        writer.write(1.0, {1: T_POSE})
    messages, summary, _ = read_all(path)
    assert [(m[0], m[5].markers[0].id if m[0].endswith("skeleton") else None) for m in messages] == [
        ("/htp_edge/skeleton", 4), ("/htp_edge/poses", None)]
    assert summary.statistics.message_count == 2
    with pytest.raises(HtpEdgeError):
        McapPoseWriter(tmp_path / "y.mcap", skeleton_topic="/t", poses_topic="/t")
    with pytest.raises(HtpEdgeError):
        McapPoseWriter(tmp_path / "y.mcap", line_width=0)
    with pytest.raises(HtpEdgeError, match="cannot create"):
        McapPoseWriter(tmp_path / "no" / "such" / "dir.mcap")


def test_file_is_valid_after_an_error_inside_the_with_block(tmp_path, needs_mcap):
    path = tmp_path / "partial.mcap"
    with pytest.raises(RuntimeError):
        with McapPoseWriter(path) as writer:
            writer.write(0.1, {3: T_POSE})
            raise RuntimeError("stop")
    messages, summary, _ = read_all(path)
    assert len(messages) == 2 and summary.statistics.message_count == 2
