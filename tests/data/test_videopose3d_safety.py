"""VideoPose3D npz files are unpickled by a restricted unpickler: data loads, code never runs."""
from __future__ import annotations

import io
import os
import pickle
import zipfile

import numpy as np
import pytest

from htp_edge.artifacts.safe_pickle import (
    TRUST_PICKLE_ENV,
    RefusedGlobal,
    load_npz_member,
    restricted_loads,
    trust_pickle_enabled,
)
from htp_edge.data import load_videopose3d
from htp_edge.errors import HtpEdgeError
from htp_edge.pose.skeleton import LEFT_JOINTS, RIGHT_JOINTS
from tests.fixtures.payloads import MarkerPayload

META = {"layout_name": "h36m", "num_joints": 17, "keypoints_symmetry": [list(LEFT_JOINTS), list(RIGHT_JOINTS)]}


@pytest.fixture(autouse=True)
def _no_trust(monkeypatch):
    monkeypatch.delenv(TRUST_PICKLE_ENV, raising=False)


def _genuine(tmp_path):
    """Files as VideoPose3D's prepare_data scripts write them (np.savez_compressed of dicts)."""
    rng = np.random.default_rng(0)
    pos3d = {"S9": {"Walking": rng.normal(size=(5, 17, 3)).astype(np.float32),
                    "Eating 2": rng.normal(size=(4, 17, 3)).astype(np.float32)}}
    pos2d = {"S9": {"Walking": [rng.uniform(0, 1000, (7, 17, 2)).astype(np.float32)],
                    "Eating 2": [rng.uniform(0, 1000, (4, 17, 3)).astype(np.float32)]}}
    meta = dict(META, num_joints=np.int64(17), video_metadata={"clip": {"w": 1000, "h": 1002}},
                tags={"h36m"}, frozen=frozenset({1}), z=1 + 2j, flags=(True, None, b"raw"))
    p3, p2 = tmp_path / "data_3d_h36m.npz", tmp_path / "data_2d_h36m_gt.npz"
    np.savez_compressed(p3, positions_3d=pos3d)
    np.savez_compressed(p2, positions_2d=pos2d, metadata=meta)
    return p2, p3, pos3d, pos2d, meta


def test_genuine_files_load(tmp_path):
    p2, p3, pos3d, pos2d, meta = _genuine(tmp_path)
    seqs = load_videopose3d(p2, p3)
    assert [s.name for s in seqs] == ["S9/Walking/cam0", "S9/Eating 2/cam0"]
    np.testing.assert_allclose(seqs[0].kp2d_px, pos2d["S9"]["Walking"][0][:5])
    np.testing.assert_allclose(seqs[1].confidence, pos2d["S9"]["Eating 2"][0][..., 2])
    np.testing.assert_allclose(seqs[0].pose3d + seqs[0].root_cam[:, None], pos3d["S9"]["Walking"], atol=1e-6)
    loaded = load_npz_member(p2, "metadata").item()
    assert loaded == meta and type(loaded["num_joints"]) is np.int64


def test_malicious_member_is_refused_and_never_runs(tmp_path):
    p2, _, _, _, _ = _genuine(tmp_path)
    marker = tmp_path / "pwned"
    evil = tmp_path / "data_3d_evil.npz"
    np.savez_compressed(evil, positions_3d=np.array({"S9": {"Walking": MarkerPayload(marker)}}, dtype=object))
    with pytest.raises(HtpEdgeError) as exc:
        load_videopose3d(p2, evil)
    text = str(exc.value)
    assert "\n" not in text and "refused" in text and "io.open" in text and "positions_3d" in text
    assert "execute code" in text and TRUST_PICKLE_ENV in text
    assert not marker.exists()


def test_system_payload_and_hand_made_pickles_are_refused(tmp_path):
    class System:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    for payload in (System(), MarkerPayload(tmp_path / "pwned")):
        with pytest.raises(RefusedGlobal):
            restricted_loads(pickle.dumps([{"a": np.zeros(2)}, payload], protocol=2))
    # a forged .npy member: object header, hostile pickle body
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|O", "fortran_order": False, "shape": ()})
    raw = header.getvalue()
    assert raw.startswith(b"\x93NUMPY\x01\x00")
    with zipfile.ZipFile(tmp_path / "forged.npz", "w") as archive:
        archive.writestr("positions_2d.npy", raw + pickle.dumps(System(), protocol=3))
    with pytest.raises(HtpEdgeError, match=r"refused to load 'positions_2d'.*system"):
        load_npz_member(tmp_path / "forged.npz", "positions_2d")
    assert not (tmp_path / "pwned").exists()


def test_numpy_1_module_spelling_is_accepted():
    data = pickle.dumps(np.array({"S1": {"a": np.arange(3.0)}, "n": np.float64(2.5)}, dtype=object), protocol=3)
    old = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert b"numpy.core.multiarray" in old
    value = restricted_loads(old).item()
    assert np.array_equal(value["S1"]["a"], np.arange(3.0)) and value["n"] == 2.5


def test_trust_opt_in_loads_other_globals_with_a_warning(tmp_path, monkeypatch, capsys):
    from collections import OrderedDict
    path = tmp_path / "od.npz"
    np.savez(path, positions_3d=np.array(OrderedDict(S1={"a": np.zeros(2)}), dtype=object))
    with pytest.raises(HtpEdgeError, match=r"collections\.OrderedDict"):
        load_npz_member(path, "positions_3d")
    assert not trust_pickle_enabled()
    monkeypatch.setenv(TRUST_PICKLE_ENV, "1")
    assert trust_pickle_enabled()
    assert list(load_npz_member(path, "positions_3d").item()) == ["S1"]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "warning" in err[0] and TRUST_PICKLE_ENV in err[0]


def test_not_an_npz_and_missing_members_are_clear(tmp_path):
    p2, p3, _, _, _ = _genuine(tmp_path)
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(HtpEdgeError, match="cannot read 'positions_3d'"):
        load_videopose3d(p2, tmp_path / "junk.npz")
    with pytest.raises(HtpEdgeError, match="cannot read 'positions_3d'"):
        load_videopose3d(p2, p2)
