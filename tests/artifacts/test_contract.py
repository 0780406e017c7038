"""The artifact contract: names, the graph record, hashing and atomic writes, package data."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from htp_edge.artifacts import files, names
from htp_edge.artifacts.graph_meta import GraphMeta
from htp_edge.artifacts.naming import (
    GraphLayout,
    bundled_onnx,
    cached_graph_stem,
    calibration_set,
    engine_name,
    graph_stem,
    manifest_path,
    planner_engine,
    planner_onnx,
    sidecar_json,
)
from htp_edge.artifacts.onnx_meta import read_onnx_info
from htp_edge.artifacts.resources import package_path, profiles_dir, recipe_path
from htp_edge.artifacts.specs import TensorSpec
from htp_edge.errors import HtpEdgeError

RECORD = {"kind": "denoiser", "frames": 27, "joints": 17, "clips": 1, "hypotheses": 2, "flip": True, "batch": 4,
          "steps": None, "n1": 14, "planner": True, "kept": 7, "tag": "htp_f27_n14_m7_c128d4",
          "model": {"name": "htp-small"}, "origin": {}, "layout": "N = flip x clip x hypothesis (flip outermost)"}


def test_one_naming_scheme():
    assert graph_stem("htp-small", GraphLayout()) == "htp-small_c1_h1_flip"
    layout = GraphLayout(clips=2, hypotheses=5, flip=False, steps=5)
    assert graph_stem("htp_f243_n121_m61", layout) == "htp_f243_n121_m61_c2_h5_noflip_k5"
    assert cached_graph_stem("mine", "ab" * 32, GraphLayout()) == "mine_abababababab_c1_h1_flip"
    assert bundled_onnx("htp-small", GraphLayout()).name == "htp-small_c1_h1_flip.onnx"
    stem = graph_stem("htp-small", GraphLayout())
    assert engine_name(stem, "int8", "8.7") == "htp-small_c1_h1_flip_int8_sm87.engine"
    assert planner_onnx(f"x/{stem}.onnx").name == f"{stem}.planner.onnx"
    assert planner_engine("x/e.engine").name == "e.planner.engine"
    assert manifest_path("x/e.engine").name == "e.engine.json" and sidecar_json("x/g.onnx").name == "g.json"
    assert calibration_set("x/g.onnx", 3) == "g_calib_s3.npz"
    with pytest.raises(HtpEdgeError, match="hypotheses must be >= 1"):
        GraphLayout(hypotheses=0)


def test_the_recorded_variants_follow_the_scheme():
    from htp_edge.artifacts.naming import BUNDLED
    from htp_edge.artifacts.resources import export_data
    from htp_edge.model.config import preset
    for v in json.loads(export_data("variants.json").read_text())["variants"]:
        layout = GraphLayout(hypotheses=v["hypotheses"], flip=v["flip"], steps=v.get("unrolled_steps"))
        model = v["checkpoint"] if v.get("checkpoint") in BUNDLED else preset(v["model"], v.get("frames")).tag()
        assert v["name"] == graph_stem(model, layout)


def test_graph_record_round_trips_and_checks_ranges():
    meta = GraphMeta.from_json(RECORD)
    assert meta.layout == GraphLayout(hypotheses=2) and meta.expected_batch() == 4 and meta.model_name == "htp-small"
    assert GraphMeta.loads(meta.dumps()) == meta and meta.to_json()["layout"] == RECORD["layout"]
    for change, message in (({"kind": "mystery"}, "'kind' must be one of"), ({"frames": 0}, "'frames' must be"),
                            ({"frames": "27"}, "'frames' must be"), ({"flip": "yes"}, "'flip' must be"),
                            ({"batch": 3}, "does not match its layout"), ({"n1": 40}, "n1=40 of 27"),
                            ({"kind": "sampler"}, "must record its unrolled 'steps'"),
                            ({"macs_per_pass": -1}, "positive number"), ({"model": [1]}, "must be an object")):
        with pytest.raises(HtpEdgeError, match=message):
            GraphMeta.from_json({**RECORD, **change})
    with pytest.raises(HtpEdgeError, match="not valid JSON"):
        GraphMeta.loads("{")
    with pytest.raises(HtpEdgeError, match="JSON object"):
        GraphMeta.from_json([RECORD])


def test_graph_record_is_checked_against_the_graph():
    meta = GraphMeta.from_json(RECORD)
    f32, i64 = np.dtype(np.float32), np.dtype(np.int64)
    good = [TensorSpec(names.KEYPOINTS_2D, (4, 27, 17, 2), f32), TensorSpec(names.NOISY_POSE, (4, 27, 17, 3), f32),
            TensorSpec(names.TIMESTEP, (4,), f32), TensorSpec(names.KEEP_FRAMES, (4, 14), i64)]
    outs = [TensorSpec(names.POSE_3D, (4, 27, 17, 3), f32)]
    meta.check_io(good, outs)
    with pytest.raises(HtpEdgeError, match="has shape"):
        meta.check_io([TensorSpec(names.KEYPOINTS_2D, (2, 27, 17, 2), f32), *good[1:]], outs)
    with pytest.raises(HtpEdgeError, match="lacks"):
        meta.check_io(good[:1], outs)


def test_shipped_graphs_describe_themselves_through_onnxruntime():
    info = read_onnx_info(bundled_onnx("htp-small", GraphLayout()))
    assert info.meta.kind == "denoiser" and info.meta.planner and info.meta.macs_per_pass > 0
    assert [s.name for s in info.inputs][:3] == list(names.DENOISER_INPUTS)
    assert read_onnx_info(planner_onnx(bundled_onnx("htp-small", GraphLayout()))).meta.kind == "planner"


def test_foreign_onnx_is_refused(tmp_path):
    import onnx

    from tests.fixtures.tiny_onnx import graph_relu
    path = tmp_path / "foreign.onnx"
    onnx.save(graph_relu(), str(path))
    with pytest.raises(HtpEdgeError, match="not exported by htp-edge"):
        read_onnx_info(path)
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(HtpEdgeError, match="not a readable ONNX model"):
        read_onnx_info(tmp_path / "junk.onnx")


def test_atomic_write_replaces_whole_files_and_cleans_up(tmp_path):
    target = tmp_path / "sub" / "out.bin"
    files.atomic_write_bytes(target, b"old")
    with pytest.raises(RuntimeError):
        files.atomic_write(target, lambda h: (h.write(b"partial"), (_ for _ in ()).throw(RuntimeError("boom"))))
    assert target.read_bytes() == b"old" and sorted(p.name for p in target.parent.iterdir()) == ["out.bin"]
    files.atomic_save_npy(tmp_path / "a.npy", np.arange(3))
    assert np.load(tmp_path / "a.npy").tolist() == [0, 1, 2]
    files.atomic_write_json(tmp_path / "j.json", {"a": 1})
    assert json.loads((tmp_path / "j.json").read_text()) == {"a": 1}
    assert oct((tmp_path / "j.json").stat().st_mode & 0o777) == oct(files.umask_mode())
    assert files.sha256_file(tmp_path / "j.json") == files.sha256_bytes((tmp_path / "j.json").read_bytes())


def test_atomic_write_does_not_follow_a_planted_temp_symlink(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    for guess in (".out.npy.tmp", ".out.npy.tmp.npy", "out.npy.tmp"):
        os.symlink(victim, tmp_path / guess)
    files.atomic_save_npy(tmp_path / "out.npy", np.zeros(2))
    assert victim.read_text() == "keep me" and np.load(tmp_path / "out.npy").shape == (2,)


def test_package_data_comes_from_the_package():
    assert {p.stem for p in profiles_dir().glob("*.json")} >= {"desktop", "orin-agx", "orin-nx", "orin-nano"}
    assert recipe_path("default").is_file()
    with pytest.raises(HtpEdgeError, match="missing from the installed htp_edge"):
        package_path("no", "such.json")
