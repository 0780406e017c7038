"""Real human motion clips in one convention, and the fixed train/test split.

Every clip holds H36M-17 joint positions (T, 17, 3), float32, metres, in a Z-up world (floor
near z = 0), resampled to 30 fps:

* ``climb/seq0`` .. ``climb/seq4``: climbing mocap (holosoma-retargeting), 120 Hz subsampled by 4.
* ``deepmimic/<clip>``: the 20 DeepMimic humanoid clips (pybullet_data), forward kinematics
  after slerp resampling; walker clips are named ``deepmimic/walker/<clip>``.

Split (by clip, never inside a clip):

* test: ``climb/seq4`` (a different subject/calibration from seqs 0-3, so a cross-subject test),
  and ``deepmimic/dance_b``, ``deepmimic/getup_faceup``, ``deepmimic/spinkick``,
  ``deepmimic/walker/turn_right1``;
* train: ``climb/seq0`` .. ``climb/seq3`` and the other 16 DeepMimic clips.

A training run may hold some train clips out for model selection (:func:`hold_out`): they become
split ``"val"`` for that run and the sampler never draws them.

The clips come from the cache written by :func:`htp_edge.data.prepare_motion`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from htp_edge.artifacts.cache import resolve_cache_dir
from htp_edge.data.store import read_records, valid_cache
from htp_edge.errors import HtpEdgeError
from htp_edge.pose.skeleton import NUM_JOINTS

SOURCES = ("climb", "deepmimic")
SPLITS = ("train", "test", "val")  # "val": train clips held out by hold_out()
FPS = 30.0
TEST_CLIPS = frozenset({
    "climb/seq4",
    "deepmimic/dance_b", "deepmimic/getup_faceup", "deepmimic/spinkick", "deepmimic/walker/turn_right1",
})


def split_of(name: str) -> str:
    """``"test"`` for the held-out clips listed in :data:`TEST_CLIPS`, else ``"train"``."""
    return "test" if name in TEST_CLIPS else "train"


@dataclass(frozen=True, eq=False)
class MotionClip:
    """One clip of world-space joint positions.

    Attributes:
        name: ``"climb/seq4"``, ``"deepmimic/walk"``, ``"deepmimic/walker/turn_left0"``, ...
        source: ``"climb"`` or ``"deepmimic"``.
        split: ``"train"``, ``"test"`` or ``"val"`` (a train clip a run holds out, :func:`hold_out`).
        fps: frame rate (30.0 for the cached clips).
        positions: (T, 17, 3) float32 H36M-17 positions, metres, Z-up world (read-only).
    """

    name: str
    source: str
    split: str
    fps: float
    positions: np.ndarray

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise HtpEdgeError(f"motion clip {self.name}: unknown source. Expected one of {SOURCES}, "
                               f"got {self.source!r}. Use a supported source name.")
        if self.split not in SPLITS:
            raise HtpEdgeError(f"motion clip {self.name}: unknown split. Expected one of {SPLITS}, "
                               f"got {self.split!r}. Use 'train', 'test' or 'val'.")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise HtpEdgeError(f"motion clip {self.name}: bad frame rate. Expected fps > 0, got "
                               f"{self.fps}. Pass the clip's frame rate.")
        pos = np.array(self.positions, dtype=np.float32)  # private read-only copy
        if pos.ndim != 3 or pos.shape[1:] != (NUM_JOINTS, 3) or pos.shape[0] < 1 or not np.all(np.isfinite(pos)):
            raise HtpEdgeError(f"motion clip {self.name}: bad positions. Expected finite (T >= 1, "
                               f"{NUM_JOINTS}, 3), got {pos.shape}. Convert to H36M-17 first.")
        pos.setflags(write=False)
        object.__setattr__(self, "positions", pos)

    @property
    def num_frames(self) -> int:
        return int(self.positions.shape[0])


def load_motion(cache_dir: str | os.PathLike | None = None) -> list[MotionClip]:
    """All cached clips (train and test), in a fixed order: climbing first, then DeepMimic.

    Raises :class:`HtpEdgeError` when the cache is missing or stale; run
    ``htp-edge data prepare`` (or :func:`htp_edge.data.prepare_motion`) first.
    """
    directory = resolve_cache_dir(cache_dir)
    npz = valid_cache(directory)
    if npz is None:
        raise HtpEdgeError(
            f"real-motion data: no valid converted cache in {directory}. Expected the files written by "
            f"the data preparation, got none or a stale/damaged copy. Run `htp-edge data prepare` "
            f"(or htp_edge.data.prepare_motion()) first."
        )
    return [MotionClip(*record) for record in read_records(npz)]


def select(clips: list[MotionClip], split: str | None = None, source: str | None = None) -> list[MotionClip]:
    """The clips of one split and/or source (``None`` keeps all)."""
    return [c for c in clips if (split is None or c.split == split) and (source is None or c.source == source)]


# the clips `train --val-clips default` holds out: a climbing take, a dance, a get-up and a walker
# turn, the test split's mix of sources and motion kinds (779 of the train split's 3,590 frames)
DEFAULT_VAL_CLIPS = ("climb/seq3", "deepmimic/dance_a", "deepmimic/getup_facedown", "deepmimic/walker/turn_left1")


def hold_out(clips: list[MotionClip], names) -> list[MotionClip]:
    """``clips`` with the train clips ``names`` moved to split ``"val"`` (the others as they are).

    Raises :class:`HtpEdgeError` for a name that is not a train clip, or when nothing would be
    left to train on."""
    names = tuple(dict.fromkeys(names))
    train = {c.name for c in clips if c.split == "train"}
    unknown = [n for n in names if n not in train]
    if unknown:
        raise HtpEdgeError(f"validation: {', '.join(unknown)} is not a train clip. Expected names from the train "
                           f"split ({', '.join(sorted(train))}), got {', '.join(names)}.")
    if len(names) >= len(train):
        raise HtpEdgeError(f"validation: holding out {len(names)} clips leaves none of the {len(train)} train clips "
                           f"to train on. Expected fewer names.")
    held = set(names)
    return [MotionClip(c.name, c.source, "val", c.fps, c.positions) if c.name in held else c for c in clips]
