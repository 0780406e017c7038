"""Lifted 3D poses as ROS 2 messages (CDR) in an MCAP file, written without ROS installed.

Each :meth:`McapPoseWriter.write` call is one frame, stamped with its time ``t`` (header stamps and
MCAP log/publish times):

- on ``skeleton_topic`` (``/htp_edge/skeleton``) one ``visualization_msgs/msg/MarkerArray``: a
  ``LINE_LIST`` marker per person (ns ``htp_edge``, id = track id, action ADD), two points per bone
  of the Human3.6M skeleton (joint ``j`` then ``PARENTS[j]``, in joint order), a colour of its own
  per track id and a short ``lifetime`` so that people no longer tracked vanish from the view;
- on ``poses_topic`` (``/htp_edge/poses``) one ``geometry_msgs/msg/PoseArray`` per person, in
  increasing track id: 17 poses, the joints in joint order (``htp_edge.pose.skeleton.JOINT_NAMES``)
  with the identity orientation. A PoseArray has no id field: the track id is not carried.

Coordinates: the lifters give root-relative poses in metres in the camera frame (x right, y down,
z forward: a ROS "optical" frame, REP 103), so every person's root (pelvis) is at the origin. Both
topics add a per-person offset: ``roots[track_id]`` (3,) metres when given, else people are
spaced 1 m apart along x in increasing track id (the first at the origin), so several people are
drawn side by side. ``frame_id`` (default ``camera``) names that frame in every header; to place
the people in a robot's TF tree, give the name of the camera's optical frame and real roots.

Needs the ``mcap`` and ``mcap-ros2-support`` packages (``pip install htp_edge[ros]``), imported
only when a writer is made. The file is valid (summary, indexes, statistics) once :meth:`close`
has run; the writer is a context manager that closes it.
"""
from __future__ import annotations

import colorsys
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from htp_edge.errors import HtpEdgeError
from htp_edge.io import ros2_msgs
from htp_edge.pose.skeleton import NUM_JOINTS, PARENTS

MISSING_PACKAGES = "mcap output needs the mcap and mcap-ros2-support packages: pip install htp_edge[ros]"
MARKER_NS = "htp_edge"
BONES = tuple((j, p) for j, p in enumerate(PARENTS) if p >= 0)  # (child, parent), in joint order
ROOT_SPACING_M = 1.0
IDENTITY = {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0}  # geometry_msgs/Quaternion
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
_INT32_MAX = 2**31 - 1


def track_color(track_id: int) -> dict[str, float]:
    """An opaque std_msgs/ColorRGBA for a track: hues a golden-ratio step apart, so every id differs."""
    r, g, b = colorsys.hsv_to_rgb((0.05 + int(track_id) * _GOLDEN) % 1.0, 0.85, 0.95)
    return {"r": r, "g": g, "b": b, "a": 1.0}


def ros_time(seconds: float, what: str = "time") -> dict[str, int]:
    """Seconds -> builtin_interfaces Time/Duration ``{"sec", "nanosec"}`` (nanosec in [0, 1e9))."""
    bad = HtpEdgeError(f"mcap output: bad {what}. Expected seconds in [0, 2^31), got {seconds!r}.")
    if not (isinstance(seconds, (int, float, np.integer, np.floating)) and math.isfinite(seconds) and seconds >= 0):
        raise bad
    sec = math.floor(seconds)  # then the fraction, exact in float64 (seconds * 1e9 is not, at epoch times)
    nanosec = round((float(seconds) - sec) * 1e9)
    if nanosec == 1_000_000_000:
        sec, nanosec = sec + 1, 0
    if sec > _INT32_MAX:
        raise bad
    return {"sec": int(sec), "nanosec": int(nanosec)}


def default_roots(track_ids) -> dict[int, np.ndarray]:
    """People spaced 1 m apart along x in increasing track id, the first at the origin."""
    return {tid: np.array([k * ROOT_SPACING_M, 0.0, 0.0]) for k, tid in enumerate(sorted(track_ids))}


def point(xyz) -> dict[str, float]:
    """A geometry_msgs/Point dict."""
    return {"x": float(xyz[0]), "y": float(xyz[1]), "z": float(xyz[2])}


def skeleton_marker(header: dict, track_id: int, joints: np.ndarray, line_width: float, lifetime: dict) -> dict:
    """One person as a visualization_msgs/Marker dict: a LINE_LIST of the Human3.6M bones, id = track id."""
    return {
        "header": header, "ns": MARKER_NS, "id": track_id, "type": ros2_msgs.MARKER_LINE_LIST,
        "action": ros2_msgs.MARKER_ADD,
        "pose": {"position": point((0.0, 0.0, 0.0)), "orientation": dict(IDENTITY)},
        "scale": {"x": line_width, "y": 0.0, "z": 0.0},  # LINE_LIST: scale.x is the line width
        "color": track_color(track_id), "lifetime": lifetime, "frame_locked": False,
        "points": [point(joints[k]) for bone in BONES for k in bone], "colors": [],
        "texture_resource": "", "texture": {}, "uv_coordinates": [], "text": "",
        "mesh_resource": "", "mesh_file": {"filename": "", "data": b""}, "mesh_use_embedded_materials": False,
    }


def pose_array(header: dict, joints: np.ndarray) -> dict:
    """One person as a geometry_msgs/PoseArray dict: the joints in order, identity orientations."""
    return {"header": header, "poses": [{"position": point(p), "orientation": dict(IDENTITY)} for p in joints]}


class McapPoseWriter:
    """Writes skeleton markers and pose arrays of tracked people, frame by frame, to an MCAP file.

    ``McapPoseWriter(path, frame_id="camera")``, then ``write(t_seconds, {track_id: (17, 3) m})``
    per frame and ``close()`` (or use it as a context manager). ``line_width`` is the markers'
    line width in metres, ``lifetime`` how long (s) a person's marker stays without an update.
    """

    def __init__(self, path: str | Path, frame_id: str = "camera", skeleton_topic: str = "/htp_edge/skeleton",
                 poses_topic: str = "/htp_edge/poses", line_width: float = 0.02, lifetime: float = 0.5):
        try:
            import mcap  # noqa: F401  (the packages themselves first: submodules may be cached without them)
            import mcap_ros2  # noqa: F401
            from mcap_ros2.writer import Writer
        except ImportError:
            raise HtpEdgeError(MISSING_PACKAGES) from None
        if skeleton_topic == poses_topic:
            raise HtpEdgeError(f"mcap output: one topic for two message types. Expected different skeleton and "
                               f"poses topics, got {skeleton_topic!r} twice.")
        if not (isinstance(line_width, (int, float)) and math.isfinite(line_width) and line_width > 0):
            raise HtpEdgeError(f"mcap output: bad line_width. Expected metres > 0, got {line_width!r}.")
        self.path = Path(path)
        self.frame_id = str(frame_id)
        self.skeleton_topic = skeleton_topic
        self.poses_topic = poses_topic
        self.line_width = float(line_width)
        self._lifetime = ros_time(lifetime, "lifetime")
        self._sequence = {skeleton_topic: 0, poses_topic: 0}
        try:
            self._file = open(self.path, "wb")
        except OSError as e:
            raise HtpEdgeError(f"mcap output: cannot create {self.path}: {e.strerror or e}.") from None
        try:
            self._writer = Writer(self._file)
            self._marker_schema = self._writer.register_msgdef(ros2_msgs.MARKER_ARRAY,
                                                               ros2_msgs.MARKER_ARRAY_DEFINITION)
            self._pose_schema = self._writer.register_msgdef(ros2_msgs.POSE_ARRAY, ros2_msgs.POSE_ARRAY_DEFINITION)
        except BaseException:
            self._file.close()
            raise
        self._closed = False

    def __enter__(self) -> McapPoseWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def write(self, t_seconds: float, poses: Mapping[int, np.ndarray],
              roots: Mapping[int, np.ndarray] | None = None) -> None:
        """One frame at time ``t_seconds`` (>= 0): a MarkerArray and one PoseArray per person.

        ``poses``: track id -> (17, 3) root-relative camera-frame metres; ``roots``: track id -> (3,)
        metres added to that person's joints (default: 1 m apart along x in increasing track id).
        """
        if self._closed:
            raise HtpEdgeError(f"mcap output: {self.path} is closed. Expected write() before close().")
        stamp = ros_time(t_seconds)
        log_time = stamp["sec"] * 1_000_000_000 + stamp["nanosec"]
        header = {"stamp": stamp, "frame_id": self.frame_id}
        people = self._people(poses, roots)
        markers = [self._marker(header, tid, joints) for tid, joints in people]
        self._emit(self.skeleton_topic, self._marker_schema, {"markers": markers}, log_time)
        for _, joints in people:
            self._emit(self.poses_topic, self._pose_schema, pose_array(header, joints), log_time)

    def close(self) -> None:
        """Writes the summary (indexes, statistics) and the footer, and closes the file; idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self._writer.finish()
        finally:
            self._file.close()

    def _people(self, poses: Mapping[int, np.ndarray], roots: Mapping[int, np.ndarray] | None):
        """[(track id, (17, 3) joints + root)] in increasing track id, checked."""
        ids = []
        for tid in poses:
            if isinstance(tid, bool) or not isinstance(tid, (int, np.integer)) or not 0 <= tid <= _INT32_MAX:
                raise HtpEdgeError(f"mcap output: bad track id. Expected an int in [0, 2^31), got {tid!r}.")
            ids.append(int(tid))
        offsets = default_roots(ids) if roots is None else roots
        people = []
        for tid in sorted(ids):
            joints = np.asarray(poses[tid], dtype=np.float64)
            if joints.shape != (NUM_JOINTS, 3) or not np.isfinite(joints).all():
                raise HtpEdgeError(f"mcap output: bad pose for track {tid}. Expected finite ({NUM_JOINTS}, 3) "
                                   f"metres, got shape {joints.shape}.")
            if tid not in offsets:
                raise HtpEdgeError(f"mcap output: no root for track {tid}. Expected roots for every track id, "
                                   f"got {sorted(offsets)}.")
            root = np.asarray(offsets[tid], dtype=np.float64)
            if root.shape != (3,) or not np.isfinite(root).all():
                raise HtpEdgeError(f"mcap output: bad root for track {tid}. Expected finite (3,) metres, "
                                   f"got shape {root.shape}.")
            people.append((tid, joints + root))
        return people

    def _marker(self, header: dict, track_id: int, joints: np.ndarray) -> dict:
        return skeleton_marker(header, track_id, joints, self.line_width, self._lifetime)

    def _emit(self, topic: str, schema, message: dict, log_time: int) -> None:
        self._writer.write_message(topic, schema, message, log_time=log_time, publish_time=log_time,
                                   sequence=self._sequence[topic])
        self._sequence[topic] += 1
