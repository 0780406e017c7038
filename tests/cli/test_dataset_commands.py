"""eval / quantize / train / data export-h36m on Human3.6M- and 3DHP-layout files made from real motion."""
from __future__ import annotations

import json

import numpy as np
import pytest

from htp_edge.cli.main import main
from htp_edge.data import h36m
from htp_edge.data.videopose3d import H36M_32_TO_17, load_dict
from htp_edge.evaluation.metrics import mpjpe, p_mpjpe
from htp_edge.pose.clipping import cut_clips, gather
from htp_edge.runtime.lifter import Lifter
from tests.data.dataset_files import write_3dhp, write_h36m
from tests.fixtures.payloads import MarkerPayload

SHORT = ("deepmimic/spinkick", "deepmimic/walker/turn_right1", "deepmimic/dance_b")
TRAIN = ("deepmimic/walk", "deepmimic/run", "deepmimic/jump", "deepmimic/kick", "deepmimic/punch")


def _run(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def h36m_dir(tmp_path_factory):
    """Five short train clips as S1, S5, S6, S7, S8 and three short test clips as S9/S11."""
    return write_h36m(tmp_path_factory.mktemp("h36m"), SHORT + TRAIN)


def _lifter_scores(folder, checkpoint, backend):
    """Per action: lift each view with the public Lifter and score D3DP's clip frames independently."""
    world = load_dict(folder / h36m.FILE_3D, "positions_3d")
    views = load_dict(folder / h36m.file_2d("gt"), "positions_2d")
    lifter = Lifter.load(checkpoint, backend=backend)
    per_action = {}
    for subject in ("S9", "S11"):
        for action, pos32 in world[subject].items():
            for k, kp in enumerate(views[subject][action]):
                cam = h36m.camera(subject, k)
                gt = cam.world_to_camera(pos32[:, list(H36M_32_TO_17)].astype(np.float64))
                gt = gt - gt[:, :1]
                _, hyps = lifter.lift(kp, cam.width, cam.height, return_hypotheses=True)
                cuts = cut_clips(len(kp), lifter.frames)
                pred = hyps[:, 0].astype(np.float64)  # H = 1
                pred[..., 0, :] = 0.0
                entry = per_action.setdefault(action.split(" ")[0], ([], []))
                entry[0].append(pred.reshape(-1, 17, 3))  # (C, F, 17, 3) -> (C F, 17, 3)
                entry[1].append(gather(gt, cuts, lifter.frames).reshape(-1, 17, 3))
    lifter.close()
    joined = {a: (np.concatenate(p), np.concatenate(g)) for a, (p, g) in per_action.items()}
    return {a: (1000 * mpjpe(p, g), 1000 * p_mpjpe(p, g)) for a, (p, g) in joined.items()}


def test_eval_h36m_equals_lifter_scoring_per_action(capsys, tmp_path):
    """The done criterion: eval --checkpoint htp-small --dataset h36m ... equals Lifter-based scoring per action
    (the two shortest test clips, to keep it quick: S9 and S11, four cameras each)."""
    h36m_dir = write_h36m(tmp_path, SHORT[:2], splits=("test",))
    code, out, err = _run(capsys, ["eval", "--checkpoint", "htp-small", "--dataset", "h36m", "--data-dir",
                                   str(h36m_dir), "--keypoints", "gt", "--json"])
    assert code == 0, err
    r = json.loads(out)
    assert set(r) >= {"mpjpe_mm", "p_mpjpe_mm", "frames", "clips", "per_action"} and "hypothesis_metrics" not in r
    expected = _lifter_scores(h36m_dir, "htp-small", "torch")
    assert sorted(r["per_action"]) == sorted(expected)
    for action, (e1, e2) in expected.items():
        got = r["per_action"][action]
        assert abs(got["mpjpe_mm"] - e1) < 1e-4 and abs(got["p_mpjpe_mm"] - e2) < 1e-4
        assert set(got) >= {"mpjpe_mm", "p_mpjpe_mm", "frames"}
    assert abs(r["mpjpe_mm"] - np.mean([e[0] for e in expected.values()])) < 1e-4
    assert r["frames"] == (39 + 37) * 4 and r["dataset"]["subjects_test"] == ["S9", "S11"]
    assert r["scored_frames"] == 2 * 4 * 2 * 27 and r["clips"] == 16  # D3DP's clip frames: 2 clips of 27 per view


def test_eval_h36m_hypothesis_metrics_with_a_multi_hypothesis_graph(capsys, h36m_dir, tiny_htp_onnx):
    code, out, err = _run(capsys, ["eval", "--onnx", str(tiny_htp_onnx[0]), "--dataset", "h36m", "--data-dir",
                                   str(h36m_dir), "--keypoints", "gt", "--subjects-test", "S11", "--json"])
    assert code == 0, err
    r = json.loads(out)
    assert list(r["per_action"]) == ["deepmimic_dance_b"] and r["config"]["hypotheses"] == 2
    hm = r["hypothesis_metrics"]
    assert set(hm) == {"j_best", "p_best", "p_agg", "j_agg"}
    assert all(hm["j_best"][k] <= min(hm[m][k] for m in hm) + 1e-9 for k in ("mpjpe_mm", "p_mpjpe_mm"))
    assert r["per_action"]["deepmimic_dance_b"]["hypothesis_metrics"] == hm  # one action: its mean is itself


def test_eval_3dhp_per_test_sequence(capsys, tmp_path, tiny_htp_onnx):
    truth = write_3dhp(tmp_path)
    code, out, err = _run(capsys, ["eval", "--onnx", str(tiny_htp_onnx[0]), "--dataset", "3dhp", "--data-dir",
                                   str(tmp_path), "--json"])
    assert code == 0, err
    r = json.loads(out)
    assert sorted(r["per_sequence"]) == ["TS1", "TS5"]
    assert r["frames"] == sum(int(v.sum()) for _, v in truth.values())
    for key in ("mpjpe_mm", "p_mpjpe_mm", "pck150_pct", "auc_pct"):
        assert abs(r[key] - np.mean([s[key] for s in r["per_sequence"].values()])) < 1e-9
    assert 0 <= r["auc_pct"] <= r["pck150_pct"] <= 100
    assert set(r["hypothesis_metrics"]) == {"j_best", "p_best", "p_agg", "j_agg"}
    code, text, err = _run(capsys, ["eval", "--onnx", str(tiny_htp_onnx[0]), "--dataset", "3dhp", "--data-dir",
                                    str(tmp_path), "--subjects-test", "TS5"])
    assert code == 0, err
    assert "3dhp (d3dp-3dhp): 1 sequences" in text and "PCK@150" in text and "TS5:" in text and "j_agg" in text


def test_export_h36m_command_round_trip(capsys, tmp_path):
    code, out, err = _run(capsys, ["data", "export-h36m", str(tmp_path / "h36m"), "--split", "test", "--json"])
    assert code == 0, err
    r = json.loads(out)
    assert sorted(r["subjects"]) == ["S11", "S9"] and r["actions"] == 5 and r["keypoints"] == "gt"
    world = load_dict(tmp_path / "h36m" / h36m.FILE_3D, "positions_3d")
    assert world["S9"]["climb_seq4"].shape == (576, 32, 3)
    views = load_dict(tmp_path / "h36m" / h36m.file_2d("gt"), "positions_2d")
    assert [v.shape for v in views["S9"]["climb_seq4"]] == [(576, 17, 2)] * 4


def test_quantize_int8_on_h36m_then_eval_the_result(capsys, tmp_path, h36m_dir, tiny_htp_onnx):
    out = tmp_path / "q.onnx"
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"split": "train", "clips": 3, "steps": 2, "seed": 5}))
    data = ["--dataset", "h36m", "--data-dir", str(h36m_dir), "--keypoints", "gt"]
    code, text, err = _run(capsys, ["quantize", "--onnx", str(tiny_htp_onnx[0]), "--precision", "int8", "--out",
                                    str(out), "--calibration", str(recipe), "--calibration-dir", str(tmp_path / "c"),
                                    "--no-gate", "--json", *data])
    assert code == 0, err
    r = json.loads(text)
    assert r["calibration"]["dataset"]["subjects_train"] == ["S1", "S5", "S6", "S7", "S8"]
    assert r["gate"]["dataset"]["name"] == "h36m" and r["vs_fp32"]["dataset"] == "h36m"
    saved = np.load(r["calibration"]["saved"])
    assert saved["noisy_pose"].shape[1:] == (4, 9, 17, 3)  # recorded x_t from h36m train clips
    assert "--dataset h36m" in r["next"]
    code, text, err = _run(capsys, ["eval", "--onnx", str(out), *data, "--json"])
    assert code == 0, err
    q = json.loads(text)
    assert abs(q["mpjpe_mm"] - r["gate"]["mpjpe_mm"]) < 1e-9 and np.isfinite(q["mpjpe_mm"])


def test_train_on_h36m_training_subjects(capsys, tmp_path, h36m_dir):
    out = tmp_path / "t.pt"
    code, text, err = _run(capsys, ["train", "--model", "htp-small", "--epochs", "1", "--iters-per-epoch", "1",
                                    "--batch-size", "2", "--no-eval", "--out", str(out), "--dataset", "h36m",
                                    "--data-dir", str(h36m_dir), "--keypoints", "gt", "--json"])
    assert code == 0, err
    assert json.loads(text)["epochs"] == 1 and out.is_file()


# -- bad data: one clear line, a non-zero exit, nothing written -------------------------------------
def _copy(src, dst):
    dst.mkdir()
    for p in src.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


def _rewrite(folder, name, **members):
    np.savez(folder / name, **members)


def _break_h36m(kind, folder, marker):
    w3, w2 = folder / h36m.FILE_3D, folder / h36m.file_2d("gt")
    world, views = load_dict(w3, "positions_3d"), load_dict(w2, "positions_2d")
    meta = load_dict(w2, "metadata")
    if kind == "missing file":
        w3.unlink()
    elif kind == "missing key":
        _rewrite(folder, w2.name, metadata=meta)
    elif kind == "pickle with code":
        _rewrite(folder, w3.name, positions_3d=np.array(MarkerPayload(marker), dtype=object))
    elif kind == "2D shorter than 3D":
        views["S9"]["deepmimic_spinkick"] = [v[:-3] for v in views["S9"]["deepmimic_spinkick"]]
        _rewrite(folder, w2.name, positions_2d=views, metadata=meta)
    elif kind == "3 views":
        views["S9"]["deepmimic_spinkick"] = views["S9"]["deepmimic_spinkick"][:3]
        _rewrite(folder, w2.name, positions_2d=views, metadata=meta)
    elif kind == "subject missing in 3D":
        del world["S11"]
        _rewrite(folder, w3.name, positions_3d=world)
    elif kind == "action missing in 2D":
        del views["S11"]["deepmimic_dance_b"]
        _rewrite(folder, w2.name, positions_2d=views, metadata=meta)


@pytest.mark.parametrize("kind, extra, match", [
    ("missing file", [], "file not found"),
    ("missing key", [], "cannot read 'positions_2d'"),
    ("pickle with code", [], "refused to load 'positions_3d'"),
    ("2D shorter than 3D", [], "2D shorter than 3D"),
    ("3 views", [], "Expected a list of 4 arrays"),
    ("action missing in 2D", [], "is in data_3d_h36m.npz but not in"),
    ("", ["--subjects-test", "S9,S99"], "unknown subject 'S99'"),
    ("subject missing in 3D", [], "subject 'S11' missing from the 3D file"),
    ("", ["--keypoints", "cpn"], "data_2d_h36m_cpn.npz"),
])
def test_bad_h36m_files(capsys, tmp_path, h36m_dir, tiny_htp_onnx, kind, extra, match):
    folder = _copy(h36m_dir, tmp_path / "data")
    marker = tmp_path / "pwned"
    _break_h36m(kind, folder, marker)
    out = tmp_path / "q.onnx"
    argv = ["--dataset", "h36m", "--data-dir", str(folder), "--keypoints", "gt", *extra]
    for cmd in (["eval", "--onnx", str(tiny_htp_onnx[0])],
                ["quantize", "--onnx", str(tiny_htp_onnx[0]), "--precision", "fp16", "--out", str(out)]):
        code, text, err = _run(capsys, cmd + argv)
        assert code == 2 and text == "", err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and match in lines[0] and "Traceback" not in err, err
    assert not out.exists() and not marker.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


@pytest.mark.parametrize("kind, match", [
    ("missing test file", "data_test_3dhp.npz"),
    ("missing keys", "Expected a dict with 'data_3d' and 'data_2d'"),
    ("no valid", "Expected 'valid'"),
    ("length mismatch", "2D and 3D lengths differ"),
    ("metres", "looks like metres"),
    ("unknown subject", "subject 'TS9' not in"),
])
def test_bad_3dhp_files(capsys, tmp_path, tiny_htp_onnx, kind, match):
    folder = tmp_path / "data"
    folder.mkdir()
    write_3dhp(folder)
    test = load_dict(folder / "data_test_3dhp.npz", "data")
    extra = []
    if kind == "missing test file":
        (folder / "data_test_3dhp.npz").unlink()
    elif kind == "missing keys":
        del test["TS1"]["data_2d"]
    elif kind == "no valid":
        del test["TS5"]["valid"]
    elif kind == "length mismatch":
        test["TS1"]["data_2d"] = test["TS1"]["data_2d"][:-2]
    elif kind == "metres":
        test["TS1"]["data_3d"] = test["TS1"]["data_3d"] / 1000.0
    else:
        extra = ["--subjects-test", "TS9"]
    if kind not in ("missing test file", "unknown subject"):
        np.savez(folder / "data_test_3dhp.npz", data=test)
    code, text, err = _run(capsys, ["eval", "--onnx", str(tiny_htp_onnx[0]), "--dataset", "3dhp", "--data-dir",
                                    str(folder), *extra])
    assert code == 2 and text == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and match in lines[0] and "Traceback" not in err, err


def test_dataset_flags_need_an_outside_dataset(capsys, tiny_htp_onnx):
    code, _, err = _run(capsys, ["eval", "--onnx", str(tiny_htp_onnx[0]), "--subjects-test", "S9"])
    assert code == 2 and "need --dataset h36m or 3dhp" in err
    code, _, err = _run(capsys, ["eval", "--onnx", str(tiny_htp_onnx[0]), "--dataset", "h36m", "--data-dir", "x",
                                 "--stream"])
    assert code == 2 and "--stream scores the built-in real-motion split only" in err
