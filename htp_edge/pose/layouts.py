"""The 2D keypoint layouts the lifters accept, and their mapping to the H36M-17 input (numpy).

Every layout maps to the 17 Human3.6M joints of :mod:`htp_edge.pose.skeleton`. Limbs are copied;
pelvis, spine, thorax, neck/nose and head are built as the COCO mapping builds them
(:mod:`htp_edge.pose.coco`), or taken from the layout's own joints where it has them (used
wherever their confidence is > 0, the built point elsewhere). Confidences are carried through:
a copied joint keeps its own, a built one the minimum of those it is built from, so a missing
joint (confidence 0) is filled over time like any other.

Joint orders, from each layout's own definition:

* ``coco``: COCO-17 keypoints (cocodataset.org keypoint task; the ``keypoint_info`` of MMPose's
  ``coco.py`` dataset meta). The plain mapping of :mod:`htp_edge.pose.coco`.
* ``coco-mhformer``: COCO-17, mapped as MHFormer's demo does (:mod:`htp_edge.pose.coco_mhformer`).
* ``halpe26``: Halpe full-body, the 26 body keypoints (AlphaPose's ``halpe26`` models), order of
  the Halpe-FullBody README (github.com/Fang-Haoshu/Halpe-FullBody): COCO-17, then 17 Head,
  18 Neck, 19 Hip, 20-25 feet. Pelvis = Hip, thorax = Neck, head = Head.
* ``wholebody133``: COCO-WholeBody (github.com/jin-s13/COCO-WholeBody, ``data_format.md``; the
  ``keypoint_info`` of MMPose's ``coco_wholebody.py``): 0-16 COCO body, 17-22 feet (left big toe,
  left small toe, left heel, right ...), 23-90 face, 91-111 left hand, 112-132 right hand (named
  by index here). The
  body part is used, as COCO.
* ``blazepose33``: MediaPipe Pose Landmarker / BlazePose, 33 landmarks (ai.google.dev MediaPipe
  pose landmarker model card and ``PoseLandmark``): 0 nose, 1-6 eyes (inner, centre, outer),
  7-8 ears, 9-10 mouth, 11-22 arms and hands, 23-28 legs, 29-32 heels and foot tips. MediaPipe
  gives x, y normalised to the image: multiply by the image width and height first; use its
  ``visibility`` as the confidence.
* ``body25``: OpenPose BODY_25 (OpenPose ``doc/02_output.md``, ``POSE_BODY_25_BODY_PARTS``):
  0 Nose, 1 Neck, 2-4 right arm, 5-7 left arm, 8 MidHip, 9-11 right leg, 12-14 left leg,
  15-18 eyes and ears, 19-24 feet. Pelvis = MidHip, thorax = Neck.
* ``h36m``: already the lifters' order.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from htp_edge.errors import HtpEdgeError
from htp_edge.pose.coco import body_to_h36m, coco_to_h36m
from htp_edge.pose.coco_mhformer import coco_to_h36m_mhformer
from htp_edge.pose.skeleton import JOINT_NAMES

COCO17 = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
          "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
          "right_knee", "left_ankle", "right_ankle")
HALPE26 = ("Nose", "LEye", "REye", "LEar", "REar", "LShoulder", "RShoulder", "LElbow", "RElbow", "LWrist",
           "RWrist", "LHip", "RHip", "LKnee", "RKnee", "LAnkle", "RAnkle", "Head", "Neck", "Hip", "LBigToe",
           "RBigToe", "LSmallToe", "RSmallToe", "LHeel", "RHeel")
WHOLEBODY133 = COCO17 + (
    "left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel") + tuple(
    f"face-{i}" for i in range(68)) + tuple(f"left_hand_{i}" for i in range(21)) + tuple(
    f"right_hand_{i}" for i in range(21))
BLAZEPOSE33 = ("nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
               "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
               "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
               "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
               "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel",
               "left_foot_index", "right_foot_index")
BODY25 = ("Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip", "RHip",
          "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar", "LBigToe", "LSmallToe",
          "LHeel", "RBigToe", "RSmallToe", "RHeel")
# each layout's name for the COCO-17 joints, in COCO order
_HALPE_COCO = HALPE26[:17]
_BODY25_COCO = ("Nose", "LEye", "REye", "LEar", "REar", "LShoulder", "RShoulder", "LElbow", "RElbow", "LWrist",
                "RWrist", "LHip", "RHip", "LKnee", "RKnee", "LAnkle", "RAnkle")


def _indices(names: tuple[str, ...], wanted: tuple[str, ...]) -> list[int]:
    return [names.index(n) for n in wanted]


def _coco_view(names: tuple[str, ...], coco_names: tuple[str, ...] = COCO17) -> Callable:
    idx = _indices(names, coco_names)
    return lambda kp: coco_to_h36m(kp[..., idx, :])


def _with_own(names: tuple[str, ...], coco_names: tuple[str, ...], pelvis: str, thorax: str,
              head: str | None) -> Callable:
    idx = _indices(names, coco_names)
    p, t = names.index(pelvis), names.index(thorax)
    h = names.index(head) if head else None
    return lambda kp: body_to_h36m(kp[..., idx, :], pelvis=kp[..., p, :], thorax=kp[..., t, :],
                                   head=None if h is None else kp[..., h, :])


@dataclass(frozen=True)
class Layout:
    """One 2D keypoint layout: its joint names in order and its mapping to H36M-17."""

    name: str
    joints: tuple[str, ...]
    title: str
    to_h36m: Callable[[np.ndarray], np.ndarray]  # (..., K, 2|3) -> (..., 17, 2|3)

    def __post_init__(self) -> None:
        if len(set(self.joints)) != len(self.joints):
            raise HtpEdgeError(f"layout {self.name}: joint names repeat. Expected unique names, got {self.joints}.")

    @property
    def num_joints(self) -> int:
        return len(self.joints)


LAYOUTS = {layout.name: layout for layout in (
    Layout("h36m", JOINT_NAMES, "Human3.6M-17 (the lifters' order)", lambda kp: kp),
    Layout("coco", COCO17, "COCO-17 (YOLO-pose, RTMPose, HRNet, ViTPose)", coco_to_h36m),
    Layout("coco-mhformer", COCO17, "COCO-17, MHFormer demo mapping", coco_to_h36m_mhformer),
    Layout("halpe26", HALPE26, "Halpe-26 (AlphaPose)", _with_own(HALPE26, _HALPE_COCO, "Hip", "Neck", "Head")),
    Layout("wholebody133", WHOLEBODY133, "COCO-WholeBody-133 (RTMW, DWPose), body part", _coco_view(WHOLEBODY133)),
    Layout("blazepose33", BLAZEPOSE33, "MediaPipe BlazePose-33", _coco_view(BLAZEPOSE33)),
    Layout("body25", BODY25, "OpenPose BODY_25", _with_own(BODY25, _BODY25_COCO, "MidHip", "Neck", None)),
)}
FORMATS = tuple(LAYOUTS)


def get_layout(fmt: str) -> Layout:
    """The layout named ``fmt`` (one of :data:`FORMATS`)."""
    layout = LAYOUTS.get(fmt) if isinstance(fmt, str) else None
    if layout is None:
        raise HtpEdgeError(f"format: unknown keypoint format. Expected one of {', '.join(FORMATS)}, got {fmt!r}.")
    return layout


def formats_with(num_joints: int) -> tuple[str, ...]:
    """The formats whose layout has ``num_joints`` joints."""
    return tuple(name for name, layout in LAYOUTS.items() if layout.num_joints == num_joints)


def guess_format(num_joints: int) -> str:
    """The format a detector file with ``num_joints`` keypoints per person is read as by default:
    17 -> ``coco`` (not ``h36m``: detectors write COCO order), else the one layout of that size."""
    if num_joints == 17:
        return "coco"
    found = formats_with(num_joints)
    if not found:
        raise HtpEdgeError(f"format: no supported layout has {num_joints} joints. Expected one of "
                           f"{', '.join(f'{n} ({lay.num_joints})' for n, lay in LAYOUTS.items())}. Export the "
                           f"detector's output in one of these layouts.")
    return found[0]


def layout_to_h36m(kp: np.ndarray, fmt: str) -> np.ndarray:
    """Keypoints (..., K, 2|3) in layout ``fmt`` -> H36M-17 (..., 17, 2|3)."""
    layout = get_layout(fmt)
    kp = np.asarray(kp)
    if kp.ndim < 2 or kp.shape[-2] != layout.num_joints or kp.shape[-1] not in (2, 3):
        others = formats_with(kp.shape[-2]) if kp.ndim >= 2 else ()
        hint = f" Formats with {kp.shape[-2]} joints: {', '.join(others)}." if others else ""
        raise HtpEdgeError(f"format {fmt}: wrong joint count. Expected (..., {layout.num_joints}, 2|3) keypoints "
                           f"in the {layout.title} order, got {tuple(kp.shape)}.{hint}")
    return layout.to_h36m(kp)
