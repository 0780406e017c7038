"""Preparation of the motion cache: offline from a wheel dir, provenance, validity, failures."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from htp_edge.artifacts import cache, files
from htp_edge.data import load_motion, prepare_motion, store, wheels
from htp_edge.errors import HtpEdgeError
from tests.data.fake_wheels import make_fake_wheels


@pytest.fixture()
def fake_wheel_dir(tmp_path):
    make_fake_wheels(tmp_path / "wheels")
    return tmp_path / "wheels"


def test_prepare_from_wheel_dir_writes_npz_and_provenance(tmp_path, fake_wheel_dir):
    npz = prepare_motion(cache_dir=tmp_path / "cache", wheel_dir=fake_wheel_dir, progress=False)
    assert npz.is_file() and npz.parent == tmp_path / "cache"
    meta = json.loads(store.provenance_path(npz.parent).read_text())
    assert meta["conversion_version"] == store.CONVERSION_VERSION
    assert meta["npz_sha256"] == files.sha256_file(npz)
    by_project = {s["project"]: s for s in meta["sources"]}
    assert by_project["holosoma-retargeting"]["license"] == "Apache-2.0"
    assert by_project["pybullet"]["license_files"]["LICENSE.txt"].startswith("zlib")
    assert by_project["pybullet"]["sha256"] == files.sha256_file(fake_wheel_dir / by_project["pybullet"]["wheel"])
    clips = load_motion(tmp_path / "cache")
    assert len(clips) == 25
    climb0 = next(c for c in clips if c.name == "climb/seq0")
    assert climb0.positions.shape == (3, 17, 3)  # 9 frames subsampled by 4
    walk = next(c for c in clips if c.name == "deepmimic/walk")
    assert walk.positions.shape == (3, 17, 3)  # 4 frames, the wrap duplicate dropped
    assert sorted(p.name for p in npz.parent.iterdir()) == sorted([npz.name, store.PROVENANCE_NAME])


def test_prepare_is_a_no_op_when_valid_and_redoes_when_damaged(tmp_path, fake_wheel_dir, monkeypatch):
    npz = prepare_motion(cache_dir=tmp_path, wheel_dir=fake_wheel_dir, progress=False)
    monkeypatch.setattr(wheels, "obtain_wheel", lambda *a, **k: pytest.fail("should not touch the wheels"))
    assert prepare_motion(cache_dir=tmp_path, progress=False) == npz
    monkeypatch.undo()
    npz.write_bytes(b"damaged")
    assert store.valid_cache(tmp_path) is None
    with pytest.raises(HtpEdgeError, match="data prepare"):
        load_motion(tmp_path)
    prepare_motion(cache_dir=tmp_path, wheel_dir=fake_wheel_dir, progress=False)
    assert len(load_motion(tmp_path)) == 25


def test_cache_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("HTP_EDGE_CACHE", str(tmp_path / "explicit"))
    assert cache.default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("HTP_EDGE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.default_cache_dir() == tmp_path / "xdg" / "htp_edge"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.default_cache_dir() == tmp_path / "home" / ".cache" / "htp_edge"
    monkeypatch.setenv("HTP_EDGE_WHEELS", str(tmp_path / "w"))
    assert cache.resolve_wheel_dir(None) == tmp_path / "w"


def test_unreachable_registry_gives_one_clear_error(tmp_path, monkeypatch):
    def offline(command, **kwargs):
        stderr = "ERROR: Could not find a version that satisfies the requirement"
        return subprocess.CompletedProcess(command, 1, "", stderr)

    monkeypatch.setattr(wheels.subprocess, "run", offline)
    monkeypatch.delenv("HTP_EDGE_WHEELS", raising=False)
    with pytest.raises(HtpEdgeError) as info:
        prepare_motion(cache_dir=tmp_path / "cache", wheel_dir=tmp_path / "empty", progress=False)
    message = str(info.value)
    assert "holosoma-retargeting==0.1.0" in message and "--wheel-dir" in message
    assert list((tmp_path / "cache").iterdir()) == []  # no scratch folder, no partial files


def test_download_command_uses_this_interpreter(tmp_path, monkeypatch):
    seen = {}

    def fake_run(command, **kwargs):
        seen["command"] = command
        make_fake_wheels(tmp_path)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(wheels.subprocess, "run", fake_run)
    path = wheels.download_wheel(wheels.DEEPMIMIC_WHEEL, tmp_path)
    assert path.name.startswith("pybullet-3.2.7-")
    command = seen["command"]
    assert command[1:5] == ["-m", "pip", "download", "--no-deps"]
    assert "pybullet==3.2.7" in command and "manylinux2014_x86_64" in command


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")

    def broken(handle):
        handle.write(b"half")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        files.atomic_write(target, broken)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]


def test_store_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    pos = rng.normal(size=(7, 17, 3)).astype(np.float32)
    records = [store.ClipRecord("climb/seq0", "climb", "train", 30.0, pos[:5]),
               store.ClipRecord("deepmimic/walk", "deepmimic", "train", 30.0, pos[5:])]
    store.write_records(tmp_path / "x.npz", records)
    back = store.read_records(tmp_path / "x.npz")
    assert [r.name for r in back] == ["climb/seq0", "deepmimic/walk"]
    np.testing.assert_array_equal(back[1].positions, records[1].positions)
