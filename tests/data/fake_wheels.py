"""Tiny stand-ins for the two source wheels, with the same member layout, for offline tests."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from htp_edge.data import climbing, deepmimic

CLIMB_WHEEL_NAME = "holosoma_retargeting-0.1.0-py3-none-any.whl"
DEEPMIMIC_WHEEL_NAME = "pybullet-3.2.7-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def identity_frames(count: int, dt: float) -> list[list[float]]:
    frame = [dt, 0.0, 0.85, 0.0]
    frame += [1.0, 0.0, 0.0, 0.0] * 3  # root, chest, neck
    side = [1.0, 0.0, 0.0, 0.0] + [0.0] + [1.0, 0.0, 0.0, 0.0] * 2 + [0.0]  # hip, knee, ankle, shoulder, elbow
    frame += side + side  # right, then left
    return [list(frame) for _ in range(count)]


def make_fake_wheels(directory: Path, climb_frames: int = 9) -> tuple[Path, Path]:
    """Write the two fake wheels into ``directory``; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    climb_path = directory / CLIMB_WHEEL_NAME
    with zipfile.ZipFile(climb_path, "w") as wheel:
        for seq in climbing.SEQUENCES:
            stem = f"mocap_climb_seq_{seq}"
            member = f"{climbing.CLIMB_DIR}{stem}/{stem}_joint_positions_f0-{climb_frames}.npy"
            wheel.writestr(member, _npy_bytes(rng.normal(size=(climb_frames, 53, 3)).astype(np.float32)))
        wheel.writestr("holosoma_retargeting-0.1.0.dist-info/METADATA",
                       "Metadata-Version: 2.3\nName: holosoma-retargeting\nVersion: 0.1.0\nLicense: Apache-2.0\n\n")
    mimic_path = directory / DEEPMIMIC_WHEEL_NAME
    with zipfile.ZipFile(mimic_path, "w") as wheel:
        for clip in deepmimic.CLIPS:
            text = json.dumps({"Loop": "wrap", "Frames": identity_frames(4, 1 / 30)})
            wheel.writestr(deepmimic.member_name(clip), text)
        wheel.writestr("pybullet-3.2.7.dist-info/METADATA",
                       "Metadata-Version: 2.1\nName: pybullet\nVersion: 3.2.7\nLicense: zlib\n"
                       "License-File: LICENSE.txt\n\n")
        wheel.writestr("pybullet-3.2.7.dist-info/LICENSE.txt", "zlib licence text\n")
    return climb_path, mimic_path
