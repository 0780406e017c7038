"""Every keypoint layout -> H36M-17, on detector keypoints made from projected real motion."""
from __future__ import annotations

import numpy as np
import pytest

from htp_edge.errors import HtpEdgeError
from htp_edge.pose.coco import HEAD_EXTRAPOLATION, coco_to_h36m
from htp_edge.pose.coco_mhformer import coco_to_h36m_mhformer
from htp_edge.pose.inputs import as_keypoints, fill_missing, to_h36m
from htp_edge.pose.layouts import FORMATS, get_layout, guess_format, layout_to_h36m
from tests.pose.people import OFFICIAL, real_people

DETECTOR_LAYOUTS = ("coco", "halpe26", "wholebody133", "blazepose33", "body25")
OWN = {"halpe26": {"pelvis": "pelvis", "thorax": "neck", "head": "head_top"},
       "body25": {"pelvis": "pelvis", "thorax": "neck"}}
LIMBS = ("right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle", "left_shoulder",
         "left_elbow", "left_wrist", "right_shoulder", "right_elbow", "right_wrist")
H36M = {"right_hip": 1, "right_knee": 2, "right_ankle": 3, "left_hip": 4, "left_knee": 5, "left_ankle": 6,
        "left_shoulder": 11, "left_elbow": 12, "left_wrist": 13, "right_shoulder": 14, "right_elbow": 15,
        "right_wrist": 16}
SHIFT = np.array([4.0, -6.0])  # moves a layout's own point away from where it would be built


@pytest.fixture(scope="module")
def people():
    return real_people()


def test_registry_sizes_and_names():
    assert set(DETECTOR_LAYOUTS) | {"h36m", "coco-mhformer"} == set(FORMATS)
    for fmt in FORMATS:
        if fmt != "h36m":
            assert get_layout(fmt).num_joints == len(OFFICIAL[fmt]), fmt
    assert get_layout("h36m").num_joints == 17
    assert [guess_format(k) for k in (17, 26, 133, 33, 25)] == ["coco", "halpe26", "wholebody133", "blazepose33",
                                                                 "body25"]


@pytest.mark.parametrize("fmt", DETECTOR_LAYOUTS)
def test_each_joint_lands_where_the_official_order_puts_it(fmt, people):
    kp = people.layout(fmt)
    own = OWN.get(fmt, {})
    names = OFFICIAL[fmt]
    for name in own.values():  # the layout's own point, moved off the built one
        kp[:, names.index(name), :2] += SHIFT
    h = layout_to_h36m(kp, fmt)
    assert h.shape == (len(kp), 17, 3)
    pt = people.points
    for name in LIMBS:
        np.testing.assert_allclose(h[:, H36M[name], :2], pt[name], atol=1e-9, err_msg=f"{fmt} {name}")
    np.testing.assert_allclose(h[:, 9, :2], pt["nose"], atol=1e-9)
    pelvis = pt["pelvis"] + SHIFT if "pelvis" in own else 0.5 * (pt["left_hip"] + pt["right_hip"])
    thorax = pt["neck"] + SHIFT if "thorax" in own else 0.5 * (pt["left_shoulder"] + pt["right_shoulder"])
    face = np.mean([pt[n] for n in ("left_eye", "right_eye", "left_ear", "right_ear")], axis=0)
    head = pt["head_top"] + SHIFT if "head" in own else face + HEAD_EXTRAPOLATION * (face - thorax)
    np.testing.assert_allclose(h[:, 0, :2], pelvis, atol=1e-9)
    np.testing.assert_allclose(h[:, 8, :2], thorax, atol=1e-9)
    np.testing.assert_allclose(h[:, 7, :2], 0.5 * (pelvis + thorax), atol=1e-9)
    np.testing.assert_allclose(h[:, 10, :2], head, atol=1e-9)
    np.testing.assert_array_equal(h[..., 2], 1.0)


@pytest.mark.parametrize("fmt", ["halpe26", "wholebody133", "blazepose33", "body25"])
def test_without_own_points_every_layout_is_the_coco_mapping(fmt, people):
    conf = np.ones((len(people.h36m_px), get_layout(fmt).num_joints))
    for name in OWN.get(fmt, {}).values():  # the layout's own points unseen: built as COCO builds them
        conf[:, OFFICIAL[fmt].index(name)] = 0.0
    np.testing.assert_allclose(layout_to_h36m(people.layout(fmt, conf), fmt),
                               coco_to_h36m(people.layout("coco")), atol=1e-9)


@pytest.mark.parametrize("fmt", DETECTOR_LAYOUTS)
def test_confidences_are_carried_and_derived_by_min(fmt, people):
    names = OFFICIAL[fmt]
    conf = np.random.default_rng(3).uniform(0.1, 1.0, (len(people.h36m_px), len(names)))
    c = layout_to_h36m(people.layout(fmt, conf), fmt)[..., 2]
    of = {n: conf[:, names.index(n)] for n in names}
    for name in LIMBS:
        np.testing.assert_allclose(c[:, H36M[name]], of[name], err_msg=f"{fmt} {name}")
    np.testing.assert_allclose(c[:, 9], of["nose"])
    own = OWN.get(fmt, {})
    pelvis = of["pelvis"] if "pelvis" in own else np.minimum(of["left_hip"], of["right_hip"])
    thorax = of["neck"] if "thorax" in own else np.minimum(of["left_shoulder"], of["right_shoulder"])
    face = np.min([of[n] for n in ("left_eye", "right_eye", "left_ear", "right_ear")], axis=0)
    np.testing.assert_allclose(c[:, 0], pelvis)
    np.testing.assert_allclose(c[:, 8], thorax)
    np.testing.assert_allclose(c[:, 7], np.minimum(pelvis, thorax))
    np.testing.assert_allclose(c[:, 10], of["head_top"] if "head" in own else np.minimum(face, thorax))


@pytest.mark.parametrize("fmt", DETECTOR_LAYOUTS)
def test_missing_joints_are_filled_over_time(fmt, people):
    names = OFFICIAL[fmt]
    kp = people.layout(fmt)
    gap = slice(10, 14)
    kp[gap, names.index("left_wrist"), :] = 0.0   # missing: (0, 0) with confidence 0
    kp[gap, names.index("left_hip"), :] = 0.0
    xy, conf = to_h36m(*as_keypoints(kp), fmt)
    assert (conf[gap, 13] == 0).all() and (conf[gap, 4] == 0).all()
    if "pelvis" not in OWN.get(fmt, {}):
        assert (conf[gap, 0] == 0).all() and (conf[gap, 7] == 0).all()  # built from the missing hip
    filled = fill_missing(xy, conf)
    t = np.arange(len(kp))
    ok = np.ones(len(kp), bool)
    ok[gap] = False
    for j in (13, 4):
        for axis in range(2):
            np.testing.assert_allclose(filled[gap, j, axis], np.interp(t[gap], t[ok], xy[ok, j, axis]), atol=1e-3)
    assert np.abs(filled[gap, 13] - people.points["left_wrist"][gap]).max() < 40  # near where the wrist was


def test_mhformer_mapping_matches_the_reference_outputs():
    from pathlib import Path
    golden = np.load(Path(__file__).with_name("fixtures") / "mhformer_coco_h36m.npz")
    kp = np.concatenate([golden["coco_keypoints"], golden["coco_scores"][..., None]], axis=-1)
    out = coco_to_h36m_mhformer(kp)
    np.testing.assert_allclose(out[..., :2], golden["h36m_keypoints"], atol=1e-3)
    np.testing.assert_allclose(out[..., 2], golden["h36m_scores"], atol=1e-6)
    np.testing.assert_allclose(layout_to_h36m(kp, "coco-mhformer"), out)
    plain = coco_to_h36m(kp)  # the fixture tells the two mappings apart
    assert np.abs(plain[..., 10, :2] - golden["h36m_keypoints"][..., 10, :]).max() > 5.0
    assert np.abs(plain[..., 7, :2] - golden["h36m_keypoints"][..., 7, :]).max() > 2.0


def test_mhformer_derived_points_of_a_missing_joint_are_missing():
    golden = np.load(__file__.rsplit("/", 1)[0] + "/fixtures/mhformer_coco_h36m.npz")
    kp = np.concatenate([golden["coco_keypoints"], golden["coco_scores"][..., None]], axis=-1)[:4].astype(np.float64)
    kp[1, 11] = 0.0  # l_hip missing in frame 1: pelvis and spine are missing there
    kp[2, 3] = 0.0   # l_ear missing in frame 2: head is missing there
    c = coco_to_h36m_mhformer(kp)[..., 2]
    assert c[1, 0] == 0 and c[1, 7] == 0 and c[1, 4] == 0 and c[1, 8] > 0
    assert c[2, 10] == 0 and c[2, 8] > 0
    assert (c[[0, 3]] > 0).all()


def test_mhformer_and_plain_agree_on_limbs(people):
    kp = people.layout("coco")
    a, b = coco_to_h36m_mhformer(kp), coco_to_h36m(kp)
    limbs = [H36M[n] for n in LIMBS]
    np.testing.assert_allclose(a[:, limbs], b[:, limbs])


def test_wrong_joint_count_and_unknown_format_are_one_clear_error():
    with pytest.raises(HtpEdgeError, match=r"format body25: wrong joint count. Expected \(\.\.\., 25, 2\|3\).*"
                                           r"Formats with 17 joints: h36m, coco, coco-mhformer"):
        layout_to_h36m(np.zeros((5, 17, 3)), "body25")
    with pytest.raises(HtpEdgeError, match="unknown keypoint format.*blazepose33.*got 'openpose'"):
        get_layout("openpose")
    with pytest.raises(HtpEdgeError, match="no supported layout has 18 joints"):
        guess_format(18)
    with pytest.raises(HtpEdgeError, match="wrong joint count"):
        as_keypoints(np.zeros((4, 18, 2)))
    xy, conf = as_keypoints(np.zeros((4, 26, 3)))  # any supported layout's joint count passes here
    assert xy.shape == (4, 26, 2) and conf.shape == (4, 26)
