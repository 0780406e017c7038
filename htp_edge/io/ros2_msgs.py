"""ROS 2 message definitions as text, in the form ROS 2 bags carry them (``ros2msg`` schema encoding).

The definitions are those of ROS 2 **Humble** (the ``humble`` branches of ros2/common_interfaces
and ros2/rcl_interfaces, Apache-2.0), kept verbatim, comments included. Jazzy's differ only in
comments and in one added constant (``Marker.ARROW_STRIP=12``): the wire format is the same, so
Jazzy (and Iron) tools decode these messages too. Humble's Marker already has the embedded texture
and mesh fields (``texture_resource``, ``sensor_msgs/CompressedImage texture``,
``UVCoordinate[] uv_coordinates``, ``MeshFile mesh_file``, ``mesh_use_embedded_materials``).
Foxglove decodes by the schema stored in the file, but ``ros2 bag play`` republishes the raw CDR
bytes to subscribers that decode by their own (real) definition: the fields must match it exactly.

:func:`full_definition` concatenates a type's .msg text and its dependencies the way rosbag2's
MCAP storage plugin does (``message_definition_cache.cpp``): the root's text, then, depth first in
sorted order and each type once, a newline, a line of 80 ``=``, ``MSG: pkg/Name`` (the type as it
is spelled in the field, without ``/msg/``; a type without a package gets the referring message's
package) and that type's text. With the humble branches' .msg files this is the schema text
``ros2 bag record -s mcap`` on Humble stores for a topic of that type.
"""
from __future__ import annotations

import re
from functools import lru_cache

DISTRO = "humble"
MARKER_ARRAY = "visualization_msgs/msg/MarkerArray"
POSE_ARRAY = "geometry_msgs/msg/PoseArray"

# visualization_msgs/msg/Marker constants (type and action)
MARKER_LINE_LIST = 5
MARKER_ADD = 0
MARKER_DELETE = 2
MARKER_DELETEALL = 3

SEPARATOR = "=" * 80
PRIMITIVE_TYPES = frozenset({"bool", "byte", "char", "float32", "float64", "int8", "uint8", "int16", "uint16",
                             "int32", "uint32", "int64", "uint64", "string", "wstring"})
# the first word of a line (with an array suffix dropped), as rosbag2 finds a field's type
_FIELD_TYPE = re.compile(r"(?:^|\n)\s*([a-zA-Z0-9_/]+)(?:\[[^\]]*\])?\s+")
_TYPE_NAME = re.compile(r"^([a-zA-Z][a-zA-Z0-9_]*)/(?:msg/)?([a-zA-Z][a-zA-Z0-9_]*)$")

# The .msg files, keyed "pkg/Name", exactly as installed by ROS 2 Humble (share/<pkg>/msg/<Name>.msg).
_MSG_FILES: dict[str, str] = {
    "builtin_interfaces/Duration": """\
# Duration defines a period between two time points.
# Messages of this datatype are of ROS Time following this design:
# https://design.ros2.org/articles/clock_and_time.html

# Seconds component, range is valid over any possible int32 value.
int32 sec

# Nanoseconds component in the range of [0, 10e9).
uint32 nanosec
""",
    "builtin_interfaces/Time": """\
# This message communicates ROS Time defined here:
# https://design.ros2.org/articles/clock_and_time.html

# The seconds component, valid over all int32 values.
int32 sec

# The nanoseconds component, valid in the range [0, 10e9).
uint32 nanosec
""",
    "geometry_msgs/Point": """\
# This contains the position of a point in free space
float64 x
float64 y
float64 z
""",
    "geometry_msgs/Pose": """\
# A representation of pose in free space, composed of position and orientation.

Point position
Quaternion orientation
""",
    "geometry_msgs/PoseArray": """\
# An array of poses with a header for global reference.

std_msgs/Header header

Pose[] poses
""",
    "geometry_msgs/Quaternion": """\
# This represents an orientation in free space in quaternion form.

float64 x 0
float64 y 0
float64 z 0
float64 w 1
""",
    "geometry_msgs/Vector3": """\
# This represents a vector in free space.

# This is semantically different than a point.
# A vector is always anchored at the origin.
# When a transform is applied to a vector, only the rotational component is applied.

float64 x
float64 y
float64 z
""",
    "sensor_msgs/CompressedImage": """\
# This message contains a compressed image.

std_msgs/Header header # Header timestamp should be acquisition time of image
                             # Header frame_id should be optical frame of camera
                             # origin of frame should be optical center of cameara
                             # +x should point to the right in the image
                             # +y should point down in the image
                             # +z should point into to plane of the image

string format                # Specifies the format of the data
                             #   Acceptable values:
                             #     jpeg, png, tiff

uint8[] data                 # Compressed image buffer
""",
    "std_msgs/ColorRGBA": """\
float32 r
float32 g
float32 b
float32 a
""",
    "std_msgs/Header": """\
# Standard metadata for higher-level stamped data types.
# This is generally used to communicate timestamped data
# in a particular coordinate frame.

# Two-integer timestamp that is expressed as seconds and nanoseconds.
builtin_interfaces/Time stamp

# Transform frame with which this data is associated.
string frame_id
""",
    "visualization_msgs/Marker": """\
# See:
#  - http://www.ros.org/wiki/rviz/DisplayTypes/Marker
#  - http://www.ros.org/wiki/rviz/Tutorials/Markers%3A%20Basic%20Shapes
#
# for more information on using this message with rviz.

int32 ARROW=0
int32 CUBE=1
int32 SPHERE=2
int32 CYLINDER=3
int32 LINE_STRIP=4
int32 LINE_LIST=5
int32 CUBE_LIST=6
int32 SPHERE_LIST=7
int32 POINTS=8
int32 TEXT_VIEW_FACING=9
int32 MESH_RESOURCE=10
int32 TRIANGLE_LIST=11

int32 ADD=0
int32 MODIFY=0
int32 DELETE=2
int32 DELETEALL=3

# Header for timestamp and frame id.
std_msgs/Header header
# Namespace in which to place the object.
# Used in conjunction with id to create a unique name for the object.
string ns
# Object ID used in conjunction with the namespace for manipulating and deleting the object later.
int32 id
# Type of object.
int32 type
# Action to take; one of:
#  - 0 add/modify an object
#  - 1 (deprecated)
#  - 2 deletes an object (with the given ns and id)
#  - 3 deletes all objects (or those with the given ns if any)
int32 action
# Pose of the object with respect the frame_id specified in the header.
geometry_msgs/Pose pose
# Scale of the object; 1,1,1 means default (usually 1 meter square).
geometry_msgs/Vector3 scale
# Color of the object; in the range: [0.0-1.0]
std_msgs/ColorRGBA color
# How long the object should last before being automatically deleted.
# 0 indicates forever.
builtin_interfaces/Duration lifetime
# If this marker should be frame-locked, i.e. retransformed into its frame every timestep.
bool frame_locked

# Only used if the type specified has some use for them (eg. POINTS, LINE_STRIP, etc.)
geometry_msgs/Point[] points
# Only used if the type specified has some use for them (eg. POINTS, LINE_STRIP, etc.)
# The number of colors provided must either be 0 or equal to the number of points provided.
# NOTE: alpha is not yet used
std_msgs/ColorRGBA[] colors

# Texture resource is a special URI that can either reference a texture file in
# a format acceptable to (resource retriever)[https://index.ros.org/p/resource_retriever/]
# or an embedded texture via a string matching the format:
#   "embedded://texture_name"
string texture_resource
# An image to be loaded into the rendering engine as the texture for this marker.
# This will be used iff texture_resource is set to embedded.
sensor_msgs/CompressedImage texture
# Location of each vertex within the texture; in the range: [0.0-1.0]
UVCoordinate[] uv_coordinates

# Only used for text markers
string text

# Only used for MESH_RESOURCE markers.
# Similar to texture_resource, mesh_resource uses resource retriever to load a mesh.
# Optionally, a mesh file can be sent in-message via the mesh_file field. If doing so,
# use the following format for mesh_resource:
#   "embedded://mesh_name"
string mesh_resource
MeshFile mesh_file
bool mesh_use_embedded_materials
""",
    "visualization_msgs/MarkerArray": """\
Marker[] markers
""",
    "visualization_msgs/MeshFile": """\
# Used to send raw mesh files.

# The filename is used for both debug purposes and to provide a file extension
# for whatever parser is used.
string filename

# This stores the raw text of the mesh file.
uint8[] data
""",
    "visualization_msgs/UVCoordinate": """\
# Location of the pixel as a ratio of the width of a 2D texture.
# Values should be in range: [0.0-1.0].
float32 u
float32 v
""",
}


def _short_name(type_name: str) -> str:
    """"pkg/msg/Name" or "pkg/Name" -> "pkg/Name"."""
    match = _TYPE_NAME.match(type_name)
    if match is None:
        raise KeyError(f"not a ROS 2 message type name: {type_name!r}")
    return f"{match.group(1)}/{match.group(2)}"


def msg_text(type_name: str) -> str:
    """The .msg file of one type ("pkg/msg/Name" or "pkg/Name"), without its dependencies."""
    name = _short_name(type_name)
    if name not in _MSG_FILES:
        raise KeyError(f"no Humble definition kept for {type_name!r}; known: {sorted(_MSG_FILES)}")
    return _MSG_FILES[name]


def dependencies(type_name: str) -> list[str]:
    """The message types a type's fields use directly, as "pkg/Name", sorted (as rosbag2 sorts them)."""
    package = _short_name(type_name).split("/")[0]
    found = set()
    for match in _FIELD_TYPE.finditer(msg_text(type_name)):
        field_type = match.group(1)
        if field_type in PRIMITIVE_TYPES:
            continue
        found.add(field_type if "/" in field_type else f"{package}/{field_type}")
    return sorted(found)


@lru_cache(maxsize=None)
def full_definition(type_name: str) -> str:
    """The ``ros2msg`` schema text of ``type_name`` ("pkg/msg/Name"): its .msg text and all dependencies."""
    seen: set[str] = set()

    def append(name: str) -> str:
        text = msg_text(name)
        for dep in dependencies(name):
            if dep not in seen:
                seen.add(dep)
                text += f"\n{SEPARATOR}\nMSG: {dep}\n{append(dep)}"
        return text

    return append(type_name)


MARKER_ARRAY_DEFINITION = full_definition(MARKER_ARRAY)
POSE_ARRAY_DEFINITION = full_definition(POSE_ARRAY)
