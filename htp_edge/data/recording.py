"""One recorded view of an outside data set (Human3.6M, MPI-INF-3DHP) with its bookkeeping."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from htp_edge.data.testset import TestSequence
from htp_edge.errors import HtpEdgeError


@dataclass(frozen=True, eq=False)
class Recording:
    """A :class:`TestSequence` with the subject, action and camera it came from.

    Attributes:
        subject: ``"S9"``, ``"TS1"``, ...
        action: ``"Walking 1"``, ``"Seq1"``, ``"TS1"`` (3DHP test sequences are their own action).
        camera: camera index within the subject's views.
        sequence: the 2D/3D pair (camera-frame, root-relative metres; pixels with image size).
        valid: (T,) bool frames that count in the evaluation (3DHP test), or ``None`` for all.
    """

    subject: str
    action: str
    camera: int
    sequence: TestSequence
    valid: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.valid is not None:
            valid = np.asarray(self.valid).reshape(-1).astype(bool)  # (T,) or (T, 1) -> (T,)
            if valid.shape != (self.sequence.num_frames,):
                raise HtpEdgeError(f"recording {self.name}: bad valid-frame mask. Expected {self.sequence.num_frames} "
                                   f"flags, got {valid.size}. Give one flag per frame.")
            object.__setattr__(self, "valid", valid)

    @property
    def name(self) -> str:
        return self.sequence.name

    @property
    def action_group(self) -> str:
        """The action without its take number, as D3DP groups them: ``"Walking 1"`` -> ``"Walking"``."""
        return self.action.split(" ")[0]

    @property
    def num_frames(self) -> int:
        return self.sequence.num_frames
