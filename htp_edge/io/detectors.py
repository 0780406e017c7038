"""Readers for the files 2D pose detectors write: AlphaPose, MMPose / RTMPose, OpenPose (stdlib + numpy).

Each reader turns a file into :class:`Detections`: per frame, the people seen, as
``{track id (or index): (K, 3) [x, y, confidence] pixels}`` in the detector's own layout (pick the
``--format`` that matches it; :func:`htp_edge.pose.layouts.guess_format` guesses it from K).

* ``alphapose``: the results JSON of AlphaPose (``alphapose-results.json``): one list of
  detections ``{"image_id", "category_id", "keypoints": [x, y, score] * K, "score", "box",
  "idx"}``. ``idx`` is the track id with ``--pose_track`` / ``--pose_flow`` (an int, or a list
  holding one). Frames are the distinct ``image_id`` s, in numeric order when every id is a number
  (``"12.jpg"``, AlphaPose's names for video frames; missing numbers are empty frames), else in
  order of appearance.
* ``mmpose``: the predictions JSON of MMPose 1.x: ``demo/topdown_demo_with_mmdet.py
  --save-predictions`` (``{"meta_info", "instance_info": [{"frame_id", "instances": [...]}]}``, or
  ``instance_info`` a list of instances for one image) and ``MMPoseInferencer(...,
  pred_out_dir=...)`` (a list of ``{"frame_id", "instances"}`` for a video, a list of instances
  for an image). An instance is ``{"keypoints": [[x, y], ...], "keypoint_scores": [...], "bbox",
  "bbox_score"}``; a ``track_id``, where present, is the track id.
* ``openpose``: a folder of OpenPose ``--write_json`` files (``<name>_<frame:012d>_keypoints.json``,
  ordered by frame number) or one such file: ``{"people": [{"person_id": [-1],
  "pose_keypoints_2d": [x, y, c] * K}]}``; ``person_id`` >= 0 (with tracking) is the track id.

Without track ids, a person's id is its index in the frame, which need not stay with the same
person from frame to frame (see :meth:`Detections.person`). Any malformed file raises one
:class:`~htp_edge.errors.HtpEdgeError` naming the file and the entry.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from htp_edge.errors import HtpEdgeError

READERS = ("alphapose", "mmpose", "openpose")
EXPECTED = ("an AlphaPose results JSON (a list of {image_id, keypoints, score, idx}), MMPose predictions "
            "(instance_info / a list of {frame_id, instances}) or an OpenPose --write_json folder of "
            "*_keypoints.json files")
_FRAME_NUMBER = re.compile(r"(\d+)(?:\.[A-Za-z0-9]+)?$")
_OPENPOSE_NUMBER = re.compile(r"_(\d+)_keypoints\.json$")


@dataclass(frozen=True)
class Detections:
    """What one detector file holds.

    Attributes:
        reader: one of :data:`READERS`.
        source: the file or folder name (for messages).
        frames: per frame, ``{id: (K, 3) float64 [x, y, confidence]}`` (possibly empty).
        num_joints: K, the same for every person.
        tracked: whether the ids are the detector's track ids (else indices within each frame).
    """

    reader: str
    source: str
    frames: tuple
    num_joints: int
    tracked: bool

    def ids(self) -> list[int]:
        return sorted({tid for people in self.frames for tid in people})

    def chosen_track(self, track: int | None = None) -> int | None:
        """The id :meth:`person` lifts: ``track`` if given; else, with track ids, the id seen in the
        most frames (the lowest on a tie); else None (the most confident person of each frame)."""
        if track is not None or not self.tracked:
            return track
        counts = {}
        for people in self.frames:
            for tid in people:
                counts[tid] = counts.get(tid, 0) + 1
        return min(counts, key=lambda tid: (-counts[tid], tid)) if counts else None

    def person(self, track: int | None = None) -> np.ndarray:
        """One person as a (T, K, 3) float32 array (T = all frames); frames without them have
        confidence 0 everywhere (filled over time by the lifter, like missing joints).

        ``track``: that id. Default: with track ids, the id seen in the most frames (the lowest
        such id on a tie); without, the most confident person of each frame (highest mean keypoint
        confidence; the first on a tie).
        """
        if not any(self.frames):
            raise HtpEdgeError(f"{self.reader} file {self.source}: no person in any of its {len(self.frames)} "
                               f"frame(s). Expected at least one detection.")
        out = np.zeros((len(self.frames), self.num_joints, 3), np.float32)
        if track is None and not self.tracked:
            for f, people in enumerate(self.frames):
                if people:
                    out[f] = max(people.values(), key=lambda kp: float(kp[:, 2].mean()))
            return out
        track = self.chosen_track(track)
        if isinstance(track, bool) or not isinstance(track, (int, np.integer)):
            raise HtpEdgeError(f"{self.reader} file {self.source}: bad person id. Expected an integer, got {track!r}.")
        found = False
        for f, people in enumerate(self.frames):
            if int(track) in people:
                out[f], found = people[int(track)], True
        if not found:
            ids = self.ids()
            shown = ", ".join(map(str, ids[:20])) + (" ..." if len(ids) > 20 else "")
            note = "" if self.tracked else " (indices within a frame: the file has no track ids)"
            raise HtpEdgeError(f"{self.reader} file {self.source}: no person with id {track}. Expected one of "
                               f"{shown}{note}.")
        return out


# -- entry points ----------------------------------------------------------------------------------
def read_detections(path, reader: str | None = None) -> Detections:
    """Read a detector's file or folder; ``reader`` None detects it from the content."""
    path = Path(path)
    if reader is not None and reader not in READERS:
        raise HtpEdgeError(f"detector reader: unknown reader. Expected one of {', '.join(READERS)}, got {reader!r}.")
    if path.is_dir():
        if reader not in (None, "openpose"):
            raise HtpEdgeError(f"{reader} reader: {path.name} is a folder. Expected a JSON file; only OpenPose "
                               f"writes a folder of *_keypoints.json files.")
        return _openpose_folder(path)
    if not path.is_file():
        raise HtpEdgeError(f"detector file: not found: {str(path)!r}. Expected {EXPECTED}.")
    doc = load_json(path)
    found = sniff(doc)
    if reader is None:
        if found is None:
            raise HtpEdgeError(f"detector file {path.name}: cannot tell which detector wrote it. Expected {EXPECTED}, "
                               f"got {_describe(doc)}. Pass --reader if it is one of {', '.join(READERS)}.")
        reader = found
    elif found not in (None, reader):
        raise HtpEdgeError(f"{reader} reader: {path.name} holds {found} output, not {reader}. Expected --reader "
                           f"{found}, or no --reader to tell it from the file.")
    return _PARSERS[reader](doc, path.name)


def load_json(path: Path):
    """The JSON document in ``path``, or one error line."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except UnicodeDecodeError:
        raise HtpEdgeError(f"detector file {path.name}: not UTF-8 text. Expected {EXPECTED}.") from None
    except json.JSONDecodeError as exc:
        raise HtpEdgeError(f"detector file {path.name}: not JSON ({exc.msg} at line {exc.lineno}). "
                           f"Expected {EXPECTED}.") from None


def sniff(doc) -> str | None:
    """Which reader a parsed JSON document is for, or None."""
    if isinstance(doc, dict):
        if "instance_info" in doc:
            return "mmpose"
        if isinstance(doc.get("people"), list) and "t" not in doc:
            return "openpose"
        return None
    if isinstance(doc, list) and doc and isinstance(doc[0], dict):
        first = doc[0]
        if "image_id" in first and "keypoints" in first:
            return "alphapose"
        if ("frame_id" in first and "instances" in first) or ("keypoints" in first and "keypoint_scores" in first):
            return "mmpose"
    return None


def is_detector_input(path) -> bool:
    """Whether ``path`` is a detector folder or file (for a source registry): an OpenPose folder,
    or a .json whose content one reader takes. JSON-lines files are not."""
    path = Path(path)
    if path.is_dir():
        return True
    if path.suffix != ".json" or not path.is_file():
        return False
    with open(path, "rb") as handle:
        head = handle.read(1 << 16).lstrip()
    if head.startswith(b"["):
        return True
    try:
        return sniff(json.loads(path.read_text(encoding="utf-8"))) is not None
    except (ValueError, UnicodeDecodeError):
        return False  # several JSON documents (JSON lines) or not JSON: not a detector file


# -- parsers ---------------------------------------------------------------------------------------
def _keypoints(values, what: str, source: str, reader: str) -> np.ndarray:
    """A flat [x, y, c] * K list -> (K, 3) float64."""
    try:
        flat = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise HtpEdgeError(f"{reader} file {source}: {what}: keypoints are not a list of numbers. Expected "
                           f"[x, y, score] * K.") from None
    if flat.ndim != 1 or flat.size == 0 or flat.size % 3:
        raise HtpEdgeError(f"{reader} file {source}: {what}: bad keypoints. Expected a flat list [x, y, score] * K, "
                           f"got shape {flat.shape}.")
    return flat.reshape(-1, 3)  # (3K,) -> (K, 3)


def _track_id(value, what: str, source: str, reader: str) -> int | None:
    """A track id (int, or a list holding one); None where there is none (-1 / absent)."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise HtpEdgeError(f"{reader} file {source}: {what}: bad track id {value!r}. Expected an integer.")
    return value if value >= 0 else None


def _assemble(raw: list[list[tuple[int | None, np.ndarray]]], reader: str, source: str) -> Detections:
    """Per frame [(track id or None, (K, 3))] -> Detections (ids: track ids when every person has one)."""
    sizes = {kp.shape[0] for people in raw for _, kp in people}
    if len(sizes) > 1:
        raise HtpEdgeError(f"{reader} file {source}: people have different joint counts {sorted(sizes)}. Expected "
                           f"one layout for the whole file.")
    if not raw:
        raise HtpEdgeError(f"{reader} file {source}: no frames. Expected at least one.")
    tracked = bool(sizes) and all(tid is not None for people in raw for tid, _ in people)
    frames = []
    for f, people in enumerate(raw):
        if tracked:
            ids = [tid for tid, _ in people]
            if len(set(ids)) != len(ids):
                raise HtpEdgeError(f"{reader} file {source}: frame {f}: track id repeated ({sorted(ids)}). Expected "
                                   f"one detection per track and frame.")
            frames.append({tid: kp for tid, kp in people})
        else:
            frames.append({i: kp for i, (_, kp) in enumerate(people)})
    return Detections(reader, source, tuple(frames), sizes.pop() if sizes else 0, tracked)


def _parse_alphapose(doc, source: str) -> Detections:
    if not isinstance(doc, list):
        raise HtpEdgeError(f"alphapose file {source}: expected a list of detections, got {_describe(doc)}.")
    order, people = [], {}
    for i, det in enumerate(doc):
        if not isinstance(det, dict) or "image_id" not in det or "keypoints" not in det:
            raise HtpEdgeError(f"alphapose file {source}: detection {i}: expected an object with \"image_id\" and "
                               f"\"keypoints\", got {_describe(det)}.")
        image = str(det["image_id"])
        if image not in people:
            order.append(image)
            people[image] = []
        kp = _keypoints(det["keypoints"], f"detection {i}", source, "alphapose")
        people[image].append((_track_id(det.get("idx"), f"detection {i}", source, "alphapose"), kp))
    numbers = [_FRAME_NUMBER.fullmatch(image) for image in order]
    if order and all(numbers):
        index = {image: int(m.group(1)) for image, m in zip(order, numbers)}
        first, last = min(index.values()), max(index.values())
        raw = [[] for _ in range(last - first + 1)]
        for image, number in index.items():
            raw[number - first] = people[image]
    else:
        raw = [people[image] for image in order]
    return _assemble(raw, "alphapose", source)


def _mmpose_instances(instances, what: str, source: str) -> list[tuple[int | None, np.ndarray]]:
    if not isinstance(instances, list):
        raise HtpEdgeError(f"mmpose file {source}: {what}: expected a list of instances, got {_describe(instances)}.")
    out = []
    for j, inst in enumerate(instances):
        where = f"{what}, instance {j}"
        if not isinstance(inst, dict) or "keypoints" not in inst:
            raise HtpEdgeError(f"mmpose file {source}: {where}: expected an object with \"keypoints\" and "
                               f"\"keypoint_scores\", got {_describe(inst)}.")
        try:
            xy = np.asarray(inst["keypoints"], dtype=np.float64)
            scores = np.asarray(inst.get("keypoint_scores", np.ones(len(xy))), dtype=np.float64)
        except (TypeError, ValueError):
            raise HtpEdgeError(f"mmpose file {source}: {where}: keypoints are not numbers. Expected [[x, y], ...] and "
                               f"keypoint_scores [s, ...].") from None
        if xy.ndim != 2 or xy.shape[1] != 2 or xy.shape[0] == 0 or scores.shape != (xy.shape[0],):
            raise HtpEdgeError(f"mmpose file {source}: {where}: bad keypoints. Expected keypoints (K, 2) and "
                               f"keypoint_scores (K,), got {xy.shape} and {scores.shape}.")
        tid = _track_id(inst.get("track_id"), where, source, "mmpose")
        out.append((tid, np.concatenate([xy, scores[:, None]], axis=1)))  # (K, 2) + (K, 1) -> (K, 3)
    return out


def _parse_mmpose(doc, source: str) -> Detections:
    body = doc.get("instance_info") if isinstance(doc, dict) else doc
    if not isinstance(body, list):
        raise HtpEdgeError(f"mmpose file {source}: expected instance_info or a list of frames, got {_describe(doc)}.")
    if body and isinstance(body[0], dict) and "instances" in body[0]:
        raw = []
        for f, frame in enumerate(body):
            if not isinstance(frame, dict) or "instances" not in frame:
                raise HtpEdgeError(f"mmpose file {source}: frame {f}: expected {{\"frame_id\", \"instances\"}}, got "
                                   f"{_describe(frame)}.")
            raw.append(_mmpose_instances(frame["instances"], f"frame {f}", source))
    else:
        raw = [_mmpose_instances(body, "image", source)]  # one image: a list of instances
    return _assemble(raw, "mmpose", source)


def _openpose_people(doc, source: str) -> list[tuple[int | None, np.ndarray]]:
    if not isinstance(doc, dict) or not isinstance(doc.get("people"), list):
        raise HtpEdgeError(f"openpose file {source}: expected {{\"people\": [{{\"pose_keypoints_2d\": [...]}}]}}, got "
                           f"{_describe(doc)}.")
    out = []
    for j, person in enumerate(doc["people"]):
        if not isinstance(person, dict) or "pose_keypoints_2d" not in person:
            raise HtpEdgeError(f"openpose file {source}: person {j}: no \"pose_keypoints_2d\". Expected OpenPose "
                               f"--write_json output.")
        kp = _keypoints(person["pose_keypoints_2d"], f"person {j}", source, "openpose")
        out.append((_track_id(person.get("person_id"), f"person {j}", source, "openpose"), kp))
    return out


def _parse_openpose(doc, source: str) -> Detections:
    return _assemble([_openpose_people(doc, source)], "openpose", source)


def _openpose_folder(folder: Path) -> Detections:
    files = [p for p in folder.iterdir() if p.name.endswith("_keypoints.json") and p.is_file()]
    if not files:
        raise HtpEdgeError(f"openpose folder {folder.name}: no *_keypoints.json files. Expected the folder OpenPose "
                           f"--write_json writes.")

    def key(p: Path):
        m = _OPENPOSE_NUMBER.search(p.name)
        return (0, int(m.group(1)), p.name) if m else (1, 0, p.name)

    raw = [_openpose_people(load_json(p), p.name) for p in sorted(files, key=key)]
    return _assemble(raw, "openpose", folder.name)


_PARSERS = {"alphapose": _parse_alphapose, "mmpose": _parse_mmpose, "openpose": _parse_openpose}


def _describe(value) -> str:
    if isinstance(value, dict):
        keys = list(value)[:6]
        return f"an object with keys {keys}" if keys else "an empty object"
    if isinstance(value, list):
        return f"a list of {len(value)}" + (f" starting with {_describe(value[0])}" if value else "")
    return f"a {type(value).__name__}"
