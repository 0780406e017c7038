"""Untrusted checkpoints never run code on load: weights-only, a tiny numpy allow-list, one opt-in."""
from __future__ import annotations

import argparse
import io
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch

from htp_edge.artifacts.safe_pickle import TRUST_PICKLE_ENV
from htp_edge.cli.main import main
from htp_edge.errors import HtpEdgeError
from htp_edge.model.checkpoint import PREFIX, load_model, read_checkpoint
from htp_edge.model.denoiser import DiffusionPoseModel
from tests.conftest import TINY
from tests.fixtures.payloads import MarkerPayload


@pytest.fixture(autouse=True)
def _no_trust(monkeypatch):
    monkeypatch.delenv(TRUST_PICKLE_ENV, raising=False)


@pytest.fixture(scope="module")
def tiny_state():
    torch.manual_seed(0)
    return DiffusionPoseModel(TINY).state_dict()


def _d3dp_ckpt(state, **extra) -> dict:
    """D3DP's own layout: numpy RandomState state, an optimizer state, 'module.' prefixes."""
    ckpt = {"epoch": 80, "lr": 1e-3 * 0.993 ** 80, "random_state": np.random.RandomState(1234).get_state(),
            "optimizer": {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.zeros(4),
                                        "exp_avg_sq": torch.zeros(4)}},
                          "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.1,
                                            "amsgrad": False, "params": [0]}]},
            "model_pos": {PREFIX + k: v for k, v in state.items()}}
    ckpt.update(extra)
    return ckpt


def _evil(tmp_path, marker):
    path = tmp_path / "evil.pt"
    torch.save({"epoch": 1, "model_pos": {"x": MarkerPayload(marker)}}, path)
    return path


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and len(text) < 600, text
    return text


def test_malicious_checkpoint_is_refused_without_running_it(tmp_path, tiny_state):
    marker = tmp_path / "pwned"
    path = _evil(tmp_path, marker)
    for load in (read_checkpoint, load_model):
        with pytest.raises(HtpEdgeError) as exc:
            load(path)
        text = _one_line(exc)
        assert "refused" in text and "io.open" in text and "execute code" in text and TRUST_PICKLE_ENV in text
        assert not marker.exists()


def test_blocklisted_os_system_payload_is_refused(tmp_path):
    import os

    class System:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    buf = io.BytesIO()
    torch.save({"model_pos": System()}, buf)
    (tmp_path / "sys.bin").write_bytes(buf.getvalue())
    with pytest.raises(HtpEdgeError) as exc:
        read_checkpoint(tmp_path / "sys.bin")
    assert "system" in _one_line(exc) and "execute code" in str(exc.value)
    assert not (tmp_path / "pwned").exists()


def test_cli_refuses_malicious_checkpoint_with_one_line(tmp_path, capsys):
    marker = tmp_path / "pwned"
    kp = tmp_path / "kp.npy"
    np.save(kp, np.full((12, 17, 2), 500.0))
    code = main(["lift", str(kp), "--checkpoint", str(_evil(tmp_path, marker)), "--out", str(tmp_path / "o.npy"),
                 "--backend", "torch"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("htp-edge lift: error: checkpoint: refused"), err
    assert not marker.exists() and not (tmp_path / "o.npy").exists()


def test_cli_subprocess_refuses_malicious_checkpoint(tmp_path):
    marker = tmp_path / "pwned"
    np.save(tmp_path / "kp.npy", np.full((12, 17, 2), 500.0))
    evil = _evil(tmp_path, marker)
    code = ("import sys; from htp_edge.cli.main import entry; "
            f"sys.argv = ['htp-edge', 'export', '--checkpoint', {str(evil)!r}, '--out', 'x.onnx']; entry()")
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={k: v for k, v in __import__("os").environ.items() if k != TRUST_PICKLE_ENV})
    assert run.returncode != 0
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "refused" in lines[0] and "Traceback" not in run.stderr, run.stderr
    assert not marker.exists() and not (tmp_path / "x.onnx").exists()


def test_npy_renamed_pt_is_refused(tmp_path):
    for i, array in enumerate((np.arange(6.0), np.array([{"model_pos": {}}], dtype=object))):
        path = tmp_path / f"weights{i}.pt"
        np.save(tmp_path / "a.npy", array, allow_pickle=True)
        (tmp_path / "a.npy").rename(path)
        with pytest.raises(HtpEdgeError, match=r"refused .*NumPy \.npy file, not a PyTorch checkpoint") as exc:
            load_model(path)
        _one_line(exc)


def test_d3dp_checkpoint_with_numpy_random_state_loads(tmp_path, tiny_state, capsys):
    path = tmp_path / "h36m_best_epoch.bin"
    torch.save(_d3dp_ckpt(tiny_state), path)
    ckpt = read_checkpoint(path)
    name, key, pos, has_gauss, cached = ckpt["random_state"]
    ref = np.random.RandomState(1234).get_state()
    assert name == "MT19937" and key.dtype == np.uint32 and np.array_equal(key, ref[1]) and pos == ref[2]
    net, meta = load_model(path)
    assert meta == {}
    for k, v in tiny_state.items():
        assert torch.equal(net.state_dict()[k], v), k
    assert capsys.readouterr().err == ""  # no warning: nothing was trusted


def _rewrite_pickle(path, old: bytes, new: bytes):
    """Edit the pickle inside a torch zip checkpoint (the module spelling an older numpy writes)."""
    with zipfile.ZipFile(path) as src:
        members = [(info, src.read(info)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as dst:
        for info, data in members:
            dst.writestr(info, data.replace(old, new) if info.filename.endswith("data.pkl") else data)


def test_d3dp_checkpoint_written_by_numpy_1_loads(tmp_path, tiny_state, capsys):
    path = tmp_path / "old.bin"
    torch.save(_d3dp_ckpt(tiny_state), path)
    _rewrite_pickle(path, b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert b"numpy.core.multiarray" in zipfile.ZipFile(path).read("old/data.pkl")
    assert read_checkpoint(path)["random_state"][1].dtype == np.uint32
    assert capsys.readouterr().err == ""  # loaded weights-only, not by a trusted fallback


def test_any_other_numpy_object_is_still_refused(tmp_path, tiny_state):
    path = tmp_path / "extra.bin"
    torch.save(_d3dp_ckpt(tiny_state, args=argparse.Namespace(lr=1e-3)), path)
    with pytest.raises(HtpEdgeError, match=r"refused .*argparse\.Namespace.*HTP_EDGE_TRUST_PICKLE=1") as exc:
        load_model(path)
    _one_line(exc)


def test_trust_pickle_opt_in_loads_a_full_pickle_with_a_warning(tmp_path, tiny_state, monkeypatch, capsys):
    path = tmp_path / "trusted.bin"
    torch.save(_d3dp_ckpt(tiny_state, args=argparse.Namespace(lr=1e-3)), path)
    monkeypatch.setenv(TRUST_PICKLE_ENV, "1")
    net, _ = load_model(path)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "warning" in err[0] and TRUST_PICKLE_ENV in err[0] and "execute code" in err[0]
    assert all(torch.equal(net.state_dict()[k], v) for k, v in tiny_state.items())
    assert read_checkpoint(path)["args"].lr == 1e-3


def test_junk_is_still_not_a_checkpoint(tmp_path, capsys):
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(HtpEdgeError, match="not a readable PyTorch checkpoint") as exc:
        read_checkpoint(tmp_path / "junk.pt")
    _one_line(exc)
    assert capsys.readouterr().err == ""  # never handed to the full unpickler
