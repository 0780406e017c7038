"""ROS 2 node: ROS4HRI (REP 155) 2D body skeletons in, lifted 3D skeletons out.

Input (``hri_msgs``): the bodies being tracked are listed on ``/humans/bodies/tracked``
(``hri_msgs/msg/IdsList``, ``ids: string[]``); each body's 2D skeleton comes on
``/humans/bodies/<id>/skeleton2d`` (``hri_msgs/msg/Skeleton2D``: 18 ``NormalizedPointOfInterest2D``,
``x, y`` normalised to the image, ``c`` a confidence, in the order of the message's constants,
:data:`SKELETON2D_JOINTS`). The node subscribes to a body's skeleton when its id appears in the
list and unsubscribes when it leaves. A body id (a string) gets a track id (an int) when first
seen: 0, 1, 2, ... for the life of the node, so a body that comes back keeps its track id.

Each skeleton becomes a Human3.6M-17 frame in pixels (:func:`skeleton2d_to_h36m`, ``width`` x
``height``). The newest frame of every body that sent one since the last push goes to one
:class:`~htp_edge.runtime.multistream.MultiStreamLifter` push (one batched call): ``rate_hz``
times a second (a timer; a body publishing faster only has its newest frame used), or, with
``rate_hz`` = 0, whenever a set is complete (every tracked body sent a frame, or one sent a second
frame before the others did). At most ``max_tracks`` people per push, the lowest track ids first.

Output, once a person's window is full (the model's receptive field: 27 frames for htp-small),
built like :class:`~htp_edge.io.mcap_out.McapPoseWriter` writes it to MCAP: ``/htp_edge/skeleton``
(``visualization_msgs/msg/MarkerArray``, one ``LINE_LIST`` marker per person, id = track id, a
colour per track, a short lifetime) and ``/htp_edge/poses`` (one ``geometry_msgs/msg/PoseArray``
per person, 17 joints in H36M order, in increasing track id). Poses are root-relative metres in the
camera's optical frame, people spaced 1 m apart along x in track-id order. Each person's headers
carry the stamp of the input frame the pose belongs to (the newest input in ``causal`` mode, the
window's middle frame in ``centred`` mode) and the ``frame_id`` parameter, by default that input's
header frame id.

Parameters (read once at start; any type is accepted where it converts, so ``-p width:=1280``
and ``-p width:=1280.0`` both work): ``checkpoint`` (htp-small), ``backend`` ("": onnxruntime,
tensorrt for an engine), ``width``/``height`` (image size in px, 640 x 480; only the aspect
ratio changes the poses), ``frame_id`` (""), ``rate_hz`` (30; 0 = per message set),
``max_tracks`` (8), ``mode`` (causal|centred), ``line_width`` (0.02 m), ``lifetime`` (0.5 s).

``rclpy`` and the message packages are imported inside functions only: importing this module
needs no ROS. ``python -m htp_edge.ros.node --ros-args -p width:=1280 -p height:=720`` runs it.
"""
from __future__ import annotations

import importlib
import math
import sys
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from types import SimpleNamespace

import numpy as np

from htp_edge.artifacts.naming import DEFAULT_CHECKPOINT
from htp_edge.errors import HtpEdgeError
from htp_edge.io.mcap_out import default_roots, pose_array, ros_time, skeleton_marker
from htp_edge.pose.coco import HEAD_EXTRAPOLATION
from htp_edge.pose.skeleton import NUM_JOINTS
from htp_edge.runtime.tracks import MODES

NO_ROS = "htp-edge ros: ROS 2 (rclpy) is not available; source your ROS 2 setup (e.g. /opt/ros/humble/setup.bash)"
NO_MSGS = ("htp-edge ros: ROS 2 message packages missing: {}; install them (e.g. apt install ros-humble-hri-msgs "
           "ros-humble-visualization-msgs) and source your ROS 2 setup")
NODE_NAME = "htp_edge_lifter"
TRACKED_TOPIC = "/humans/bodies/tracked"
SKELETON_TOPIC = "/humans/bodies/{}/skeleton2d"
MARKERS_TOPIC = "/htp_edge/skeleton"
POSES_TOPIC = "/htp_edge/poses"
QUEUE_DEPTH = 10
FALLBACK_FRAME = "camera"  # when neither the parameter nor the input header names a frame
BACKENDS = ("", "onnxruntime", "tensorrt", "torch")
WARN_EVERY_S = 5.0

# hri_msgs/msg/Skeleton2D.msg (ros4hri/hri_msgs, humble-devel and master): uint8 constants 0..17.
SKELETON2D_JOINTS = (
    "NOSE", "NECK", "RIGHT_SHOULDER", "RIGHT_ELBOW", "RIGHT_WRIST", "LEFT_SHOULDER", "LEFT_ELBOW", "LEFT_WRIST",
    "RIGHT_HIP", "RIGHT_KNEE", "RIGHT_ANKLE", "LEFT_HIP", "LEFT_KNEE", "LEFT_ANKLE", "LEFT_EYE", "RIGHT_EYE",
    "LEFT_EAR", "RIGHT_EAR",
)
NUM_SKELETON2D_POINTS = len(SKELETON2D_JOINTS)
_S = {name: i for i, name in enumerate(SKELETON2D_JOINTS)}
# H36M joint <- the Skeleton2D point copied into it (joint names: htp_edge.pose.skeleton.JOINT_NAMES)
_DIRECT = {1: _S["RIGHT_HIP"], 2: _S["RIGHT_KNEE"], 3: _S["RIGHT_ANKLE"], 4: _S["LEFT_HIP"], 5: _S["LEFT_KNEE"],
           6: _S["LEFT_ANKLE"], 9: _S["NOSE"], 11: _S["LEFT_SHOULDER"], 12: _S["LEFT_ELBOW"], 13: _S["LEFT_WRIST"],
           14: _S["RIGHT_SHOULDER"], 15: _S["RIGHT_ELBOW"], 16: _S["RIGHT_WRIST"]}
_FACE = tuple(_S[n] for n in ("LEFT_EYE", "RIGHT_EYE", "LEFT_EAR", "RIGHT_EAR"))
# the COCO-17 order (htp_edge.pose.coco) as Skeleton2D points: every point but NECK
SKELETON2D_TO_COCO = tuple(_S[n] for n in (
    "NOSE", "LEFT_EYE", "RIGHT_EYE", "LEFT_EAR", "RIGHT_EAR", "LEFT_SHOULDER", "RIGHT_SHOULDER", "LEFT_ELBOW",
    "RIGHT_ELBOW", "LEFT_WRIST", "RIGHT_WRIST", "LEFT_HIP", "RIGHT_HIP", "LEFT_KNEE", "RIGHT_KNEE", "LEFT_ANKLE",
    "RIGHT_ANKLE"))


class RosUnavailable(HtpEdgeError):
    """rclpy or a message package cannot be imported (ROS 2 not installed or not sourced)."""


# -- conversion (numpy only) ---------------------------------------------------------------------
def skeleton2d_to_h36m(points, width: float, height: float) -> np.ndarray:
    """REP-155 skeleton points ``(..., 18, 3)`` ``[x, y, c]`` (x, y normalised to the image) ->
    Human3.6M-17 ``(..., 17, 3)`` ``[x_px, y_px, c]`` (``x * width``, ``y * height``).

    The construction of :func:`htp_edge.pose.coco.coco_to_h36m`, with the thorax taken from NECK:
    pelvis = mid-hips; thorax = NECK (mid-shoulders where NECK is missing: confidence <= 0 or
    not finite); spine = midway between pelvis and thorax; neck/nose = NOSE; head = the centre of
    eyes and ears pushed away from the thorax by half their distance; limbs copied. A derived
    point's confidence is the minimum of those it is built from. Where NECK is the mid-shoulder
    point (as ROS4HRI's hri_fullbody publishes it) or missing, this equals ``coco_to_h36m`` of the
    same person in COCO order (:data:`SKELETON2D_TO_COCO`).
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim < 2 or pts.shape[-2:] != (NUM_SKELETON2D_POINTS, 3):
        raise HtpEdgeError(f"Skeleton2D points: bad shape. Expected (..., {NUM_SKELETON2D_POINTS}, 3) [x, y, c] "
                           f"in the REP-155 order, got {pts.shape}.")
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not math.isfinite(value) or value <= 0:
            raise HtpEdgeError(f"Skeleton2D points: bad image {name}. Expected pixels > 0, got {value!r}.")
    xy = pts[..., :2] * np.array([float(width), float(height)])
    c = pts[..., 2]
    out = np.zeros(pts.shape[:-2] + (NUM_JOINTS, 3), dtype=np.float64)
    for h36m, s in _DIRECT.items():
        out[..., h36m, :2], out[..., h36m, 2] = xy[..., s, :], c[..., s]
    hips, shoulders = (_S["LEFT_HIP"], _S["RIGHT_HIP"]), (_S["LEFT_SHOULDER"], _S["RIGHT_SHOULDER"])
    pelvis, pelvis_c = xy[..., hips, :].mean(axis=-2), c[..., hips].min(axis=-1)
    neck, neck_c = xy[..., _S["NECK"], :], c[..., _S["NECK"]]
    has_neck = (neck_c > 0) & np.isfinite(neck).all(axis=-1)
    thorax = np.where(has_neck[..., None], neck, xy[..., shoulders, :].mean(axis=-2))
    thorax_c = np.where(has_neck, neck_c, c[..., shoulders].min(axis=-1))
    face, face_c = xy[..., _FACE, :].mean(axis=-2), c[..., _FACE].min(axis=-1)
    out[..., 0, :2], out[..., 0, 2] = pelvis, pelvis_c
    out[..., 7, :2], out[..., 7, 2] = 0.5 * (pelvis + thorax), np.minimum(pelvis_c, thorax_c)
    out[..., 8, :2], out[..., 8, 2] = thorax, thorax_c
    out[..., 10, :2] = face + HEAD_EXTRAPOLATION * (face - thorax)
    out[..., 10, 2] = np.minimum(face_c, thorax_c)
    return out


def skeleton2d_points(msg) -> np.ndarray:
    """A ``hri_msgs/msg/Skeleton2D`` -> its points ``(18, 3)`` ``[x, y, c]`` (normalised x, y)."""
    points = list(msg.skeleton)
    if len(points) != NUM_SKELETON2D_POINTS:
        raise HtpEdgeError(f"a Skeleton2D with {len(points)} points. Expected {NUM_SKELETON2D_POINTS} "
                           f"(REP 155: one per joint constant).")
    return np.array([[p.x, p.y, p.c] for p in points], dtype=np.float64)


def check_joint_order(skeleton2d_type) -> None:
    """Refuse an hri_msgs whose Skeleton2D constants differ from :data:`SKELETON2D_JOINTS`."""
    wrong = [f"{name}={getattr(skeleton2d_type, name)}" for i, name in enumerate(SKELETON2D_JOINTS)
             if getattr(skeleton2d_type, name, i) != i]
    if wrong:
        raise HtpEdgeError(f"hri_msgs Skeleton2D has another joint order ({', '.join(wrong)}). Expected "
                           f"{', '.join(f'{n}={i}' for i, n in enumerate(SKELETON2D_JOINTS))}.")


def message_dicts(poses: Mapping[int, np.ndarray], headers: Mapping[int, dict], line_width: float = 0.02,
                  lifetime: float = 0.5) -> tuple[dict, list[dict]]:
    """``{track id: (17, 3) m}`` -> (MarkerArray, [PoseArray per person]) as the dicts McapPoseWriter writes.

    ``headers``: track id -> std_msgs/Header dict ``{"stamp": {"sec", "nanosec"}, "frame_id"}``.
    People are offset by :func:`~htp_edge.io.mcap_out.default_roots`, in increasing track id.
    """
    life = ros_time(lifetime, "lifetime")
    roots = default_roots(poses)
    markers, arrays = [], []
    for tid in sorted(poses):
        joints = np.asarray(poses[tid], dtype=np.float64) + roots[tid]
        markers.append(skeleton_marker(headers[tid], tid, joints, float(line_width), life))
        arrays.append(pose_array(headers[tid], joints))
    return {"markers": markers}, arrays


def to_message(msg, values: Mapping, element_types: Mapping[str, type]):
    """Fill a ROS message from a dict of its fields (nested dicts fill sub-messages in place; lists
    become lists of ``element_types[field]()``). Fields this distro's message lacks (Marker's
    texture and mesh_file before Iron) are skipped, and so are empty values (the defaults)."""
    for key, value in values.items():
        if not hasattr(msg, key) or (isinstance(value, (str, bytes, list, tuple, Mapping)) and len(value) == 0):
            continue
        if isinstance(value, Mapping):
            to_message(getattr(msg, key), value, element_types)
        elif isinstance(value, (list, tuple)):
            setattr(msg, key, [to_message(element_types[key](), v, element_types) for v in value])
        else:
            setattr(msg, key, value)
    return msg


# -- configuration -------------------------------------------------------------------------------
PARAMETERS = {  # name: (default, description)
    "checkpoint": (DEFAULT_CHECKPOINT, "bundled name (htp-small, d3dp-small), .pt/.bin, .onnx or .engine"),
    "backend": ("", "onnxruntime, tensorrt or torch (empty: tensorrt for an engine, else onnxruntime)"),
    "width": (640.0, "width in pixels of the images the skeletons come from"),
    "height": (480.0, "height in pixels of the images the skeletons come from"),
    "frame_id": ("", "frame id of the output headers (empty: the input header's frame id)"),
    "rate_hz": (30.0, "pushes per second (0: one push per set of skeleton messages)"),
    "max_tracks": (8, "people lifted together at most (8 uses the shipped 8-clip batched graph)"),
    "mode": ("causal", "causal (newest frame, no added latency) or centred (middle of the window)"),
    "line_width": (0.02, "skeleton marker line width in metres"),
    "lifetime": (0.5, "seconds a person's marker stays without an update"),
}


def _real(name: str, value, minimum: float, strict: bool) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (value <= minimum if strict else value < minimum):
        raise HtpEdgeError(f"bad parameter {name}. Expected a number {'>' if strict else '>='} {minimum:g}, "
                           f"got {value!r}.")
    return float(value)


@dataclass(frozen=True)
class NodeConfig:
    """The node's parameters, checked."""

    checkpoint: str = DEFAULT_CHECKPOINT
    backend: str = ""
    width: float = 640.0
    height: float = 480.0
    frame_id: str = ""
    rate_hz: float = 30.0
    max_tracks: int = 8
    mode: str = "causal"
    line_width: float = 0.02
    lifetime: float = 0.5

    @classmethod
    def from_parameters(cls, values: Mapping) -> NodeConfig:
        v = {name: values.get(name, default) for name, (default, _) in PARAMETERS.items()}
        for name in ("checkpoint", "backend", "frame_id", "mode"):
            if not isinstance(v[name], str):
                raise HtpEdgeError(f"bad parameter {name}. Expected a string, got {v[name]!r}.")
        if not v["checkpoint"]:
            raise HtpEdgeError("bad parameter checkpoint. Expected a bundled name or a file, got ''.")
        if v["backend"] not in BACKENDS:
            raise HtpEdgeError(f"bad parameter backend. Expected one of {', '.join(b for b in BACKENDS if b)} "
                               f"(or empty), got {v['backend']!r}.")
        if v["mode"] not in MODES:
            raise HtpEdgeError(f"bad parameter mode. Expected one of {', '.join(MODES)}, got {v['mode']!r}.")
        tracks = v["max_tracks"]
        if isinstance(tracks, bool) or not isinstance(tracks, int) or tracks < 1:
            raise HtpEdgeError(f"bad parameter max_tracks. Expected an integer >= 1, got {tracks!r}.")
        ros_time(_real("lifetime", v["lifetime"], 0.0, strict=False), "lifetime")
        return cls(checkpoint=v["checkpoint"], backend=v["backend"], width=_real("width", v["width"], 0.0, True),
                   height=_real("height", v["height"], 0.0, True), frame_id=v["frame_id"],
                   rate_hz=_real("rate_hz", v["rate_hz"], 0.0, False), max_tracks=tracks, mode=v["mode"],
                   line_width=_real("line_width", v["line_width"], 0.0, True), lifetime=float(v["lifetime"]))


def open_lifter(checkpoint: str = DEFAULT_CHECKPOINT, max_tracks: int = 8, backend: str = ""):
    """The lifter ``htp-edge stream`` uses (:func:`~htp_edge.runtime.multistream.open_batched`)."""
    from htp_edge.runtime.multistream import open_batched
    return open_batched(checkpoint, backend or None, max_tracks)[0]


# -- ROS -----------------------------------------------------------------------------------------
_MESSAGES = (("hri_msgs.msg", ("IdsList", "Skeleton2D")), ("visualization_msgs.msg", ("Marker", "MarkerArray")),
             ("geometry_msgs.msg", ("Point", "Pose", "PoseArray")), ("std_msgs.msg", ("ColorRGBA",)),
             ("rcl_interfaces.msg", ("ParameterDescriptor",)))


def import_ros() -> SimpleNamespace:
    """rclpy and the message classes the node uses; :class:`RosUnavailable` (one line) without them."""
    try:
        import rclpy
    except ImportError:
        raise RosUnavailable(NO_ROS) from None
    found, missing = {"rclpy": rclpy}, []
    for module, names in _MESSAGES:
        try:
            mod = importlib.import_module(module)
            found.update({name: getattr(mod, name) for name in names})
        except (ImportError, AttributeError):
            missing.append(module.split(".")[0])
    if missing:
        raise RosUnavailable(NO_MSGS.format(", ".join(missing)))
    return SimpleNamespace(**found)


class LifterNode:
    """The node: subscriptions per tracked body, one batched lift per push, markers and pose arrays out.

    ``LifterNode()`` makes an rclpy node named :data:`NODE_NAME` (``rclpy.init`` must have run) and
    reads its parameters; pass ``node`` to use one of yours, ``lifter`` to share an open Lifter.
    ``close()`` destroys what it made. ``flush()`` pushes the pending frames now.
    """

    def __init__(self, node=None, lifter=None, node_name: str = NODE_NAME) -> None:
        ros = import_ros()
        self._ros = ros
        self._owns_node, self._owns_lifter = node is None, lifter is None
        self.node = ros.rclpy.create_node(node_name) if node is None else node
        self.lifter = None
        try:
            self.config = NodeConfig.from_parameters(self._declare_parameters())
            check_joint_order(ros.Skeleton2D)
            cfg = self.config
            self.lifter = open_lifter(cfg.checkpoint, cfg.max_tracks, cfg.backend) if lifter is None else lifter
            from htp_edge.runtime.multistream import MultiStreamLifter
            self.multi = MultiStreamLifter(self.lifter, cfg.width, cfg.height, max_tracks=cfg.max_tracks,
                                           mode=cfg.mode, on_overflow="drop-oldest")
            self._types = {"markers": ros.Marker, "points": ros.Point, "colors": ros.ColorRGBA, "poses": ros.Pose}
            self.track_ids: dict[str, int] = {}       # body id -> track id, for the life of the node
            self.subscriptions: dict[str, object] = {}  # body id -> its skeleton2d subscription
            self._pending: dict[int, tuple[np.ndarray, tuple[int, int], str]] = {}  # track -> (frame, stamp, frame)
            self._sources: dict[int, deque] = {}      # track -> (stamp, frame id) of its last window's frames
            self.marker_pub = self.node.create_publisher(ros.MarkerArray, MARKERS_TOPIC, QUEUE_DEPTH)
            self.poses_pub = self.node.create_publisher(ros.PoseArray, POSES_TOPIC, QUEUE_DEPTH)
            self.tracked_sub = self.node.create_subscription(ros.IdsList, TRACKED_TOPIC, self.on_tracked,
                                                             QUEUE_DEPTH)
            self.timer = (self.node.create_timer(1.0 / cfg.rate_hz, self.on_timer) if cfg.rate_hz > 0 else None)
        except BaseException:
            self.close()
            raise
        pace = f"{cfg.rate_hz:g} Hz" if self.timer is not None else "one push per message set"
        self.node.get_logger().info(
            f"htp-edge ros: {cfg.checkpoint} ({self.lifter.config.clips_per_call} clips per call), window "
            f"{self.multi.window} frames, {cfg.mode}, image {cfg.width:g}x{cfg.height:g} px, {pace}, up to "
            f"{cfg.max_tracks} people; bodies from {TRACKED_TOPIC}, out on {MARKERS_TOPIC} and {POSES_TOPIC}")

    def _declare_parameters(self) -> dict:
        values = {}
        for name, (default, text) in PARAMETERS.items():
            descriptor = self._ros.ParameterDescriptor(description=text, dynamic_typing=True)
            values[name] = self.node.declare_parameter(name, default, descriptor).value
        return values

    # -- callbacks -------------------------------------------------------------------------------
    def on_tracked(self, msg) -> None:
        """``/humans/bodies/tracked``: subscribe to new bodies, unsubscribe from those that left."""
        ids = list(dict.fromkeys(str(i) for i in msg.ids))
        for body in ids:
            if body in self.subscriptions:
                continue
            topic = SKELETON_TOPIC.format(body)
            try:
                sub = self.node.create_subscription(self._ros.Skeleton2D, topic, partial(self.on_skeleton, body),
                                                    QUEUE_DEPTH)
            except Exception as exc:  # noqa: BLE001 - e.g. an id that makes no valid topic name
                self.node.get_logger().warning(f"body {body!r}: cannot subscribe to {topic}: {exc}",
                                               throttle_duration_sec=WARN_EVERY_S)
                continue
            self.subscriptions[body] = sub
            tid = self.track_ids.setdefault(body, len(self.track_ids))
            self.node.get_logger().info(f"body {body} (track {tid}): subscribed to {topic}")
        keep = set(ids)
        for body in [b for b in self.subscriptions if b not in keep]:
            self.node.destroy_subscription(self.subscriptions.pop(body))
            self._pending.pop(self.track_ids[body], None)
            self.node.get_logger().info(f"body {body} (track {self.track_ids[body]}) left: unsubscribed")
        if self.timer is None and self._pending and self._set_complete():
            self.flush()

    def on_skeleton(self, body: str, msg) -> None:
        """``/humans/bodies/<body>/skeleton2d``: convert, keep as the body's pending frame."""
        if body not in self.subscriptions:
            return  # delivered after the body left
        tid = self.track_ids[body]
        try:
            frame = skeleton2d_to_h36m(skeleton2d_points(msg), self.config.width, self.config.height)
        except HtpEdgeError as exc:
            self.node.get_logger().warning(f"body {body}: skeleton skipped: {exc}", throttle_duration_sec=WARN_EVERY_S)
            return
        stamp = (int(msg.header.stamp.sec), int(msg.header.stamp.nanosec))
        if self.timer is None and tid in self._pending:
            self.flush()  # a second frame before the others: the set so far is complete
        self._pending[tid] = (frame, stamp, str(msg.header.frame_id))
        if self.timer is None and self._set_complete():
            self.flush()

    def on_timer(self) -> None:
        self.flush()

    def _set_complete(self) -> bool:
        return all(self.track_ids[b] in self._pending for b in self.subscriptions)

    # -- lifting and publishing ------------------------------------------------------------------
    def flush(self) -> dict[int, np.ndarray]:
        """Push the pending frames (one batched lift) and publish the poses that are due; returns them."""
        if not self._pending:
            return {}
        ids = sorted(self._pending)
        if len(ids) > self.config.max_tracks:
            self.node.get_logger().warning(
                f"{len(ids)} people in one push; lifting the first max_tracks={self.config.max_tracks} "
                f"(tracks {ids[:self.config.max_tracks]})", throttle_duration_sec=WARN_EVERY_S)
            ids = ids[:self.config.max_tracks]
        batch = {tid: self._pending[tid] for tid in ids}
        self._pending.clear()
        try:
            poses = self.multi.push({tid: frame for tid, (frame, _, _) in batch.items()})
        except HtpEdgeError as exc:
            self.node.get_logger().warning(f"frame skipped: {exc}", throttle_duration_sec=WARN_EVERY_S)
            return {}
        for tid, (_, stamp, frame_id) in batch.items():
            self._sources.setdefault(tid, deque(maxlen=self.multi.window)).append((stamp, frame_id))
        for tid in [t for t in self._sources if t not in self.multi.tracks]:
            del self._sources[tid]  # dropped by the lifter (timeout or overflow)
        if poses:
            self.publish(poses)
        return poses

    def publish(self, poses: Mapping[int, np.ndarray]) -> None:
        """One MarkerArray and one PoseArray per person; each person's headers from its output frame's input."""
        back = self.multi.config.output_index(self.multi.window) - self.multi.window  # -1: newest (causal)
        headers = {}
        for tid in poses:
            (sec, nanosec), frame_id = self._sources[tid][back]
            headers[tid] = {"stamp": {"sec": sec, "nanosec": nanosec},
                            "frame_id": self.config.frame_id or frame_id or FALLBACK_FRAME}
        markers, arrays = message_dicts(poses, headers, self.config.line_width, self.config.lifetime)
        self.marker_pub.publish(to_message(self._ros.MarkerArray(), markers, self._types))
        for array in arrays:
            self.poses_pub.publish(to_message(self._ros.PoseArray(), array, self._types))

    def close(self) -> None:
        """Destroy the rclpy node (if made here) and close the lifter (if opened here); idempotent."""
        if self._owns_node and self.node is not None:
            self.node.destroy_node()
        elif self.node is not None:  # someone else's node: remove what this made on it
            for sub in [*getattr(self, "subscriptions", {}).values(), getattr(self, "tracked_sub", None)]:
                if sub is not None:
                    self.node.destroy_subscription(sub)
            for pub in (getattr(self, "marker_pub", None), getattr(self, "poses_pub", None)):
                if pub is not None:
                    self.node.destroy_publisher(pub)
            if getattr(self, "timer", None) is not None:
                self.node.destroy_timer(self.timer)
        self.node = None
        if self._owns_lifter and self.lifter is not None:
            self.lifter.close()
        self.lifter = None


def main(argv=None) -> int:
    """``python -m htp_edge.ros.node [--ros-args -p NAME:=VALUE ...]``; returns the exit status
    (0 after Ctrl-C or a ROS shutdown, 2 without ROS or with a bad parameter or checkpoint)."""
    args = list(sys.argv) if argv is None else [NODE_NAME, *argv]
    try:
        ros = import_ros()
    except RosUnavailable as exc:
        print(exc, file=sys.stderr)
        return 2
    rclpy = ros.rclpy
    try:
        from rclpy.executors import ExternalShutdownException
    except ImportError:
        ExternalShutdownException = KeyboardInterrupt  # rclpy before Humble
    try:
        rclpy.init(args=args)
    except ImportError as exc:  # rclpy's C extension does not match this Python
        print(f"{NO_ROS} ({' '.join(str(exc).split())})", file=sys.stderr)
        return 2
    node, status = None, 0
    try:
        node = LifterNode()
        rclpy.spin(node.node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except HtpEdgeError as exc:
        print(f"htp-edge ros: error: {exc}", file=sys.stderr)
        status = 2
    finally:
        if node is not None:
            node.close()
        if rclpy.ok():
            rclpy.shutdown()
    return status


if __name__ == "__main__":
    sys.exit(main())
