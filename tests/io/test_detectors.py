"""Readers of AlphaPose, MMPose and OpenPose output, on files of their real structure."""
from __future__ import annotations

import json

import numpy as np
import pytest

from htp_edge.errors import HtpEdgeError
from htp_edge.io.detectors import is_detector_input, read_detections
from htp_edge.io.frames import BadLine, DetectorFrames, open_source
from tests.io.detector_files import B_FROM, A, B, two_people, write_alphapose, write_mmpose, write_openpose


def test_alphapose_tracked_halpe26(tmp_path):
    path = write_alphapose(tmp_path / "alphapose-results.json", "halpe26")
    det = read_detections(path)
    a, b = two_people("halpe26")
    assert (det.reader, det.num_joints, det.tracked, len(det.frames)) == ("alphapose", 26, True, len(a))
    assert det.ids() == [A, B] and set(det.frames[0]) == {A} and set(det.frames[B_FROM]) == {A, B}
    assert det.chosen_track() == A  # seen in the most frames
    np.testing.assert_allclose(det.person(), a, atol=1e-6)
    pb = det.person(B)
    np.testing.assert_allclose(pb[B_FROM:], b[B_FROM:], atol=1e-6)
    assert (pb[:B_FROM] == 0).all()  # absent frames: confidence 0, filled by the lifter
    with pytest.raises(HtpEdgeError, match=f"no person with id 99. Expected one of {A}, {B}"):
        det.person(99)


def test_alphapose_untracked_picks_the_most_confident_per_frame(tmp_path):
    path = write_alphapose(tmp_path / "r.json", "coco", tracked=False, b_first=True)
    det = read_detections(path, reader="alphapose")
    a, _ = two_people("coco")
    assert not det.tracked and det.chosen_track() is None
    assert set(det.frames[B_FROM]) == {0, 1}  # indices within the frame
    np.testing.assert_allclose(det.person(), a, atol=1e-6)  # A is listed second but more confident


def test_alphapose_frame_numbers_keep_gaps(tmp_path):
    a, _ = two_people("coco")
    dets = [{"image_id": f"{f}.jpg", "category_id": 1, "keypoints": a[f].reshape(-1).tolist(), "score": 2.0,
             "idx": [1]} for f in (4, 2, 7)]  # idx as a one-element list, as some AlphaPose versions write it
    (tmp_path / "r.json").write_text(json.dumps(dets))
    det = read_detections(tmp_path / "r.json")
    assert len(det.frames) == 6 and [bool(p) for p in det.frames] == [True, False, True, False, False, True]
    assert det.ids() == [1]


@pytest.mark.parametrize("style", ["demo", "inferencer"])
@pytest.mark.parametrize("fmt", ["coco", "wholebody133"])
def test_mmpose_predictions(tmp_path, style, fmt):
    path = write_mmpose(tmp_path / "results.json", fmt, style)
    det = read_detections(path)
    a, b = two_people(fmt)
    assert (det.reader, det.num_joints, det.tracked, len(det.frames)) == ("mmpose", a.shape[1], False, len(a))
    np.testing.assert_allclose(det.person(), a, atol=1e-6)
    np.testing.assert_allclose(det.frames[-1][1], b[-1], atol=1e-6)


def test_mmpose_one_image_and_track_ids(tmp_path):
    det = read_detections(write_mmpose(tmp_path / "img.json", "coco", "image"))
    assert len(det.frames) == 1 and len(det.frames[0]) == 2
    doc = json.loads(write_mmpose(tmp_path / "v.json", "coco", "inferencer").read_text())
    for frame in doc:
        for i, inst in enumerate(frame["instances"]):
            inst["track_id"] = 20 + i
    (tmp_path / "v.json").write_text(json.dumps(doc))
    det = read_detections(tmp_path / "v.json")
    assert det.tracked and det.ids() == [20, 21]


def test_openpose_folder_in_frame_order(tmp_path):
    folder = write_openpose(tmp_path / "json", "body25", empty_frame=9)
    det = read_detections(folder)
    a, _ = two_people("body25")
    assert (det.reader, det.num_joints, det.tracked, len(det.frames)) == ("openpose", 25, False, len(a))
    assert det.frames[9] == {}
    expected = a.copy()
    expected[9] = 0.0
    np.testing.assert_allclose(det.person(), expected, atol=1e-6)
    one = read_detections(folder / "video_000000000003_keypoints.json")  # a single frame file
    assert len(one.frames) == 1 and len(one.frames[0]) == 1


@pytest.mark.parametrize("content, match", [
    ("{not json", "not JSON"),
    ('{"hello": 1}', "cannot tell which detector wrote it"),
    ('[{"image_id": "0.jpg", "keypoints": [1, 2]}]', "bad keypoints. Expected a flat list"),
    ('[{"image_id": "0.jpg", "keypoints": [1, 2, 1]}, {"image_id": "1.jpg", "keypoints": [1, 2, 1, 3, 4, 1]}]',
     "different joint counts"),
    ('[{"image_id": "0.jpg", "keypoints": ["a", 2, 1]}]', "not a list of numbers"),
    ('[{"image_id": "0.jpg", "keypoints": [1, 2, 1], "idx": "x"}]', "bad track id"),
    ('{"instance_info": [{"frame_id": 1, "instances": [{"keypoints": [[1, 2]], "keypoint_scores": [1, 2]}]}]}',
     "bad keypoints. Expected keypoints \\(K, 2\\)"),
    ('{"people": [{"face_keypoints_2d": []}]}', "no \"pose_keypoints_2d\""),
])
def test_bad_files_are_one_clear_error(tmp_path, content, match):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(HtpEdgeError, match=match) as info:
        read_detections(path)
    assert "\n" not in str(info.value) and "bad.json" in str(info.value)


def test_bad_reader_and_folders(tmp_path):
    with pytest.raises(HtpEdgeError, match="no \\*_keypoints.json files"):
        read_detections(tmp_path)
    with pytest.raises(HtpEdgeError, match="unknown reader"):
        read_detections(tmp_path, reader="yolo")
    with pytest.raises(HtpEdgeError, match="is a folder"):
        read_detections(tmp_path, reader="alphapose")
    path = write_openpose(tmp_path / "op", "body25") / "video_000000000000_keypoints.json"
    with pytest.raises(HtpEdgeError, match="alphapose reader: .* holds openpose output, not alphapose"):
        read_detections(path, reader="alphapose")
    (tmp_path / "odd.json").write_text('{"x": 1}')
    with pytest.raises(HtpEdgeError, match="alphapose file odd.json: expected a list of detections"):
        read_detections(tmp_path / "odd.json", reader="alphapose")


def test_stream_sources_tell_detector_files_from_json_lines(tmp_path):
    alpha = write_alphapose(tmp_path / "alphapose.json", "halpe26")
    lines = tmp_path / "frames.json"
    lines.write_text(json.dumps({"t": 0.0, "people": [{"id": 1, "keypoints": [[1, 2, 1]] * 17}]}) + "\n"
                     + json.dumps({"t": 0.1, "people": []}) + "\n")
    one_line = tmp_path / "one.json"
    one_line.write_text(json.dumps({"t": 0.0, "people": []}))
    assert is_detector_input(alpha) and is_detector_input(write_openpose(tmp_path / "op"))
    assert not is_detector_input(lines) and not is_detector_input(one_line)
    frames = list(open_source(str(alpha), fps=10.0))
    a, b = two_people("halpe26")
    assert len(frames) == len(a) and frames[1].t == pytest.approx(0.1) and frames[1].line == 2
    assert set(frames[B_FROM].people) == {A, B}
    np.testing.assert_allclose(frames[B_FROM].people[B], b[B_FROM], atol=1e-6)
    assert [f.t for f in open_source(str(lines))] == [0.0, 0.1]
    assert not any(isinstance(f, BadLine) for f in open_source(str(one_line)))
    source = open_source(str(tmp_path / "op"), reader="openpose")
    assert isinstance(source, DetectorFrames) and source.detections.num_joints == 25


def test_reading_is_refused_before_streaming_starts(tmp_path):
    (tmp_path / "bad.json").write_text('[{"image_id": "0.jpg", "keypoints": [1, 2]}]')
    with pytest.raises(HtpEdgeError, match="bad keypoints"):
        open_source(str(tmp_path / "bad.json"))  # at once, not at the first frame
