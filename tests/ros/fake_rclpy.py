"""A fake ``rclpy`` and the ROS 2 message modules :mod:`htp_edge.ros.node` uses, for tests without ROS.

``install(monkeypatch)`` puts ``rclpy`` (with ``rclpy.node``, ``rclpy.executors``) and the
packages ``hri_msgs``, ``visualization_msgs``, ``geometry_msgs``, ``std_msgs``,
``builtin_interfaces`` and ``rcl_interfaces`` (each with its ``.msg``) into ``sys.modules`` and
returns a :class:`FakeRos`, which records the nodes made, their parameters, subscriptions,
publishers (with every message published), timers and log lines; ``deliver(topic, msg)`` calls
the callbacks of the live subscriptions to a topic, ``fire_timers()`` every live timer's callback.

Like rclpy's generated classes, the messages refuse unknown fields and wrongly typed values
(a float field takes a float, not an int; a fixed array keeps its length); ``Marker`` has
Humble's fields (no texture or mesh_file). Like Humble, a parameter override whose type differs
from the declared default is refused unless the descriptor allows dynamic typing.
"""
from __future__ import annotations

import re
import sys
import types

# -- messages ------------------------------------------------------------------------------------


class Msg:
    """A message: ``FIELDS`` name -> spec (float, int, bool, str, a Msg class, [spec] a sequence,
    (spec, n) a fixed array); ``DEFAULTS`` overrides the zero defaults."""

    FIELDS: dict = {}
    DEFAULTS: dict = {}

    def __init__(self, **values) -> None:
        for name, spec in self.FIELDS.items():
            object.__setattr__(self, name, self.DEFAULTS.get(name, _default(spec)))
        for name, value in values.items():
            setattr(self, name, value)

    def __setattr__(self, name, value) -> None:
        if name not in self.FIELDS:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}")
        object.__setattr__(self, name, _checked(f"{type(self).__name__}.{name}", self.FIELDS[name], value))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={getattr(self, k)!r}' for k in self.FIELDS)})"


def _default(spec):
    if isinstance(spec, list):
        return []
    if isinstance(spec, tuple):
        return [_default(spec[0]) for _ in range(spec[1])]
    return spec()  # float() == 0.0, int() == 0, bool() is False, str() == "", Msg() its defaults


def _checked(where: str, spec, value):
    if isinstance(spec, (list, tuple)):
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise TypeError(f"{where}: expected a sequence, got {type(value).__name__}")
        items = [_checked(f"{where}[]", spec[0], v) for v in value]
        if isinstance(spec, tuple) and len(items) != spec[1]:
            raise AssertionError(f"{where}: expected {spec[1]} elements, got {len(items)}")
        return items
    ok = isinstance(value, spec) and not (spec is int and isinstance(value, bool))
    if not ok:
        raise AssertionError(f"{where}: expected {spec.__name__}, got {type(value).__name__} {value!r}")
    return value


class Time(Msg):
    FIELDS = {"sec": int, "nanosec": int}


class Duration(Msg):
    FIELDS = {"sec": int, "nanosec": int}


class Header(Msg):
    FIELDS = {"stamp": Time, "frame_id": str}


class ColorRGBA(Msg):
    FIELDS = {"r": float, "g": float, "b": float, "a": float}


class Point(Msg):
    FIELDS = {"x": float, "y": float, "z": float}


class Vector3(Msg):
    FIELDS = {"x": float, "y": float, "z": float}


class Quaternion(Msg):
    FIELDS = {"x": float, "y": float, "z": float, "w": float}
    DEFAULTS = {"w": 1.0}


class Pose(Msg):
    FIELDS = {"position": Point, "orientation": Quaternion}


class PoseArray(Msg):
    FIELDS = {"header": Header, "poses": [Pose]}


class Marker(Msg):  # Humble's visualization_msgs/msg/Marker
    ARROW, CUBE, SPHERE, CYLINDER, LINE_STRIP, LINE_LIST = 0, 1, 2, 3, 4, 5
    ADD, MODIFY, DELETE, DELETEALL = 0, 0, 2, 3
    FIELDS = {"header": Header, "ns": str, "id": int, "type": int, "action": int, "pose": Pose, "scale": Vector3,
              "color": ColorRGBA, "lifetime": Duration, "frame_locked": bool, "points": [Point],
              "colors": [ColorRGBA], "text": str, "mesh_resource": str, "mesh_use_embedded_materials": bool}


class MarkerArray(Msg):
    FIELDS = {"markers": [Marker]}


class NormalizedPointOfInterest2D(Msg):
    FIELDS = {"x": float, "y": float, "c": float}


# hri_msgs/msg/Skeleton2D.msg, humble-devel (ros4hri/hri_msgs 2.0.0): the constants, verbatim
SKELETON2D_CONSTANTS = """
uint8 NOSE = 0
uint8 NECK = 1
uint8 RIGHT_SHOULDER = 2
uint8 RIGHT_ELBOW = 3
uint8 RIGHT_WRIST = 4
uint8 LEFT_SHOULDER = 5
uint8 LEFT_ELBOW = 6
uint8 LEFT_WRIST = 7
uint8 RIGHT_HIP = 8
uint8 RIGHT_KNEE = 9
uint8 RIGHT_ANKLE = 10
uint8 LEFT_HIP = 11
uint8 LEFT_KNEE = 12
uint8 LEFT_ANKLE = 13
uint8 LEFT_EYE = 14
uint8 RIGHT_EYE = 15
uint8 LEFT_EAR = 16
uint8 RIGHT_EAR = 17
"""
SKELETON2D_CODES = {m[1]: int(m[2]) for m in re.finditer(r"uint8 (\w+) = (\d+)", SKELETON2D_CONSTANTS)}


class Skeleton2D(Msg):  # header + NormalizedPointOfInterest2D[18] skeleton, and the joint constants
    FIELDS = {"header": Header, "skeleton": (NormalizedPointOfInterest2D, 18)}


for _name, _code in SKELETON2D_CODES.items():
    setattr(Skeleton2D, _name, _code)


class IdsList(Msg):
    FIELDS = {"header": Header, "ids": [str]}


class ParameterDescriptor(Msg):
    FIELDS = {"name": str, "type": int, "description": str, "additional_constraints": str, "read_only": bool,
              "dynamic_typing": bool}


PACKAGES = {
    "builtin_interfaces": (Time, Duration),
    "std_msgs": (Header, ColorRGBA),
    "geometry_msgs": (Point, Vector3, Quaternion, Pose, PoseArray),
    "visualization_msgs": (Marker, MarkerArray),
    "hri_msgs": (NormalizedPointOfInterest2D, Skeleton2D, IdsList),
    "rcl_interfaces": (ParameterDescriptor,),
}

# -- rclpy ---------------------------------------------------------------------------------------
_TOPIC = re.compile(r"^/?[A-Za-z_~][A-Za-z0-9_~]*(/[A-Za-z_][A-Za-z0-9_]*)*$")


class ExternalShutdownException(Exception):
    pass


class InvalidParameterTypeException(Exception):
    pass


class Parameter:
    def __init__(self, name: str, value) -> None:
        self.name, self.value = name, value


class Endpoint:
    """A subscription, publisher or timer; ``destroyed`` once its node destroyed it."""

    def __init__(self, **fields) -> None:
        self.__dict__.update(fields)
        self.destroyed = False


class Publisher(Endpoint):
    def publish(self, msg) -> None:
        if self.destroyed:
            raise RuntimeError(f"publish on a destroyed publisher of {self.topic}")
        if not isinstance(msg, self.msg_type):
            raise TypeError(f"{self.topic}: expected {self.msg_type.__name__}, got {type(msg).__name__}")
        self.messages.append(msg)


class Logger:
    KWARGS = {"throttle_duration_sec", "once", "skip_first"}

    def __init__(self, lines: list) -> None:
        self.lines = lines

    def _log(self, level: str, text, **kwargs) -> bool:
        unknown = set(kwargs) - self.KWARGS
        if unknown:
            raise TypeError(f"unsupported logging arguments {sorted(unknown)}")
        self.lines.append((level, str(text)))
        return True

    def debug(self, text, **kw):
        return self._log("debug", text, **kw)

    def info(self, text, **kw):
        return self._log("info", text, **kw)

    def warning(self, text, **kw):
        return self._log("warning", text, **kw)

    warn = warning

    def error(self, text, **kw):
        return self._log("error", text, **kw)


class Node:
    """rclpy.node.Node, recording what is made on it."""

    def __init__(self, node_name: str, *, ros: FakeRos | None = None, **kwargs) -> None:
        self.ros = ros
        if ros is None or not ros.initialized:
            raise RuntimeError("rclpy.init() has not been called")
        self.name = node_name
        self.parameters: dict[str, Parameter] = {}
        self.subscriptions: list[Endpoint] = []
        self.publishers: list[Publisher] = []
        self.timers: list[Endpoint] = []
        self.logs: list[tuple[str, str]] = []
        self.destroyed = False
        ros.nodes.append(self)

    def declare_parameter(self, name, value=None, descriptor=None, ignore_override=False):
        if name in self.parameters:
            raise RuntimeError(f"parameter {name!r} already declared")
        if descriptor is not None and not isinstance(descriptor, ParameterDescriptor):
            raise TypeError("descriptor must be an rcl_interfaces.msg.ParameterDescriptor")
        if name in self.ros.overrides and not ignore_override:
            override = self.ros.overrides[name]
            dynamic = descriptor is not None and descriptor.dynamic_typing
            if not dynamic and value is not None and type(override) is not type(value):
                raise InvalidParameterTypeException(f"{name}: {type(override).__name__} given, "
                                                    f"{type(value).__name__} declared")
            value = override
        self.parameters[name] = Parameter(name, value)
        return self.parameters[name]

    def get_parameter(self, name):
        return self.parameters[name]

    def create_subscription(self, msg_type, topic, callback, qos_profile, **kwargs):
        self._check(msg_type, topic, qos_profile)
        sub = Endpoint(msg_type=msg_type, topic=topic, callback=callback, qos=qos_profile)
        self.subscriptions.append(sub)
        return sub

    def create_publisher(self, msg_type, topic, qos_profile, **kwargs):
        self._check(msg_type, topic, qos_profile)
        pub = Publisher(msg_type=msg_type, topic=topic, qos=qos_profile, messages=[])
        self.publishers.append(pub)
        return pub

    def create_timer(self, timer_period_sec, callback, **kwargs):
        if not timer_period_sec > 0:
            raise ValueError(f"timer period must be > 0, got {timer_period_sec!r}")
        timer = Endpoint(period=timer_period_sec, callback=callback)
        self.timers.append(timer)
        return timer

    def destroy_subscription(self, sub) -> bool:
        return self._destroy(sub, self.subscriptions)

    def destroy_publisher(self, pub) -> bool:
        return self._destroy(pub, self.publishers)

    def destroy_timer(self, timer) -> bool:
        return self._destroy(timer, self.timers)

    def get_logger(self) -> Logger:
        return Logger(self.logs)

    def destroy_node(self) -> None:
        for item in (*self.subscriptions, *self.publishers, *self.timers):
            item.destroyed = True
        self.destroyed = True

    # -- for the tests
    def live(self, kind: str) -> list[Endpoint]:
        return [e for e in getattr(self, kind) if not e.destroyed]

    def _check(self, msg_type, topic, qos) -> None:
        if self.destroyed:
            raise RuntimeError("node destroyed")
        if not (isinstance(msg_type, type) and issubclass(msg_type, Msg)):
            raise TypeError(f"not a message type: {msg_type!r}")
        if not isinstance(topic, str) or not _TOPIC.match(topic):
            raise ValueError(f"invalid topic name {topic!r}")
        if isinstance(qos, bool) or not isinstance(qos, int) or qos < 1:
            raise TypeError(f"qos_profile: expected a depth >= 1 or a QoSProfile, got {qos!r}")

    @staticmethod
    def _destroy(item, items) -> bool:
        if item not in items or item.destroyed:
            return False
        item.destroyed = True
        return True


class FakeRos:
    """The state behind the fake rclpy module, and the tests' handles on it."""

    def __init__(self) -> None:
        self.initialized = False
        self.init_args = None
        self.shutdowns = 0
        self.nodes: list[Node] = []
        self.overrides: dict = {}  # parameters, as ``--ros-args -p name:=value`` sets them
        self.on_spin = None        # spin(node) calls on_spin(node); None: spin returns at once

    # rclpy's functions
    def init(self, *, args=None, context=None, **kwargs) -> None:
        if self.initialized:
            raise RuntimeError("rclpy.init() called twice")
        self.init_args = list(args) if args is not None else None
        self.overrides.update(_ros_args(self.init_args or []))
        self.initialized = True

    def ok(self, *, context=None) -> bool:
        return self.initialized

    def shutdown(self, *, context=None) -> None:
        if not self.initialized:
            raise RuntimeError("rclpy.shutdown() without init")
        self.initialized = False
        self.shutdowns += 1

    def try_shutdown(self, *, context=None) -> None:
        if self.initialized:
            self.shutdown()

    def create_node(self, node_name: str, **kwargs) -> Node:
        return Node(node_name, ros=self, **kwargs)

    def spin(self, node, executor=None) -> None:
        if self.on_spin is not None:
            self.on_spin(node)

    # the tests' handles
    @property
    def node(self) -> Node:
        return self.nodes[-1]

    def deliver(self, topic: str, msg) -> int:
        """Call every live subscription to ``topic`` with ``msg``; returns how many were called."""
        subs = [s for n in self.nodes for s in n.live("subscriptions") if s.topic == topic]
        for sub in subs:
            if not isinstance(msg, sub.msg_type):
                raise TypeError(f"{topic}: expected {sub.msg_type.__name__}, got {type(msg).__name__}")
            sub.callback(msg)
        return len(subs)

    def fire_timers(self) -> int:
        timers = [t for n in self.nodes for t in n.live("timers")]
        for timer in timers:
            timer.callback()
        return len(timers)

    def published(self, topic: str) -> list:
        return [m for n in self.nodes for p in n.publishers if p.topic == topic for m in p.messages]

    def subscribed(self) -> set[str]:
        return {s.topic for n in self.nodes for s in n.live("subscriptions")}


def _ros_args(args: list[str]) -> dict:
    """``-p name:=value`` pairs after ``--ros-args``, values typed as YAML scalars would be."""
    out, inside = {}, False
    for i, arg in enumerate(args):
        if arg == "--ros-args":
            inside = True
        elif arg == "--":
            inside = False
        elif inside and arg in ("-p", "--param") and i + 1 < len(args) and ":=" in args[i + 1]:
            name, text = args[i + 1].split(":=", 1)
            out[name] = _scalar(text)
    return out


def _scalar(text: str):
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def install(monkeypatch) -> FakeRos:
    """Put the fake rclpy and message packages into ``sys.modules`` (undone by monkeypatch)."""
    ros = FakeRos()
    rclpy = types.ModuleType("rclpy")
    for name in ("init", "ok", "shutdown", "try_shutdown", "create_node", "spin"):
        setattr(rclpy, name, getattr(ros, name))
    node_mod = types.ModuleType("rclpy.node")
    node_mod.Node = Node
    executors = types.ModuleType("rclpy.executors")
    executors.ExternalShutdownException = ExternalShutdownException
    rclpy.node, rclpy.executors = node_mod, executors
    modules = {"rclpy": rclpy, "rclpy.node": node_mod, "rclpy.executors": executors}
    for package, classes in PACKAGES.items():
        top, msg = types.ModuleType(package), types.ModuleType(f"{package}.msg")
        for cls in classes:
            setattr(msg, cls.__name__, cls)
        top.msg = msg
        modules.update({package: top, f"{package}.msg": msg})
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    return ros
