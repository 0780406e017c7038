"""scripts/bench_peers.py: the same graph on every peer, interleaved, with output parity vs bare ORT."""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_peers.py"


@pytest.fixture(scope="module")
def peers():
    spec = importlib.util.spec_from_file_location("htp_edge_script_bench_peers", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module while the script runs
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


@pytest.fixture(scope="module")
def case(peers):
    return peers.prepare_case(peers.ModelSpec.parse("htp-small"), threads=1)


def test_model_specs_parse(peers):
    assert peers.ModelSpec.parse("htp-small/c8") == peers.ModelSpec("htp-small", None, 8)
    assert peers.ModelSpec.parse("d3dp:243") == peers.ModelSpec("d3dp", 243, 1)
    assert peers.ModelSpec.parse("htp:81/c2").label == "htp:81/c2"
    for bad in ("htp-small/8", "d3dp:x", "a b"):
        with pytest.raises(argparse.ArgumentTypeError, match="NAME"):
            peers.ModelSpec.parse(bad)
    with pytest.raises(argparse.ArgumentTypeError, match="subset"):
        peers.parse_peers("ort,tensorflow")


def test_the_feed_is_what_the_lifter_sends(peers, case):
    from htp_edge.runtime.lifter import Lifter
    meta = case.meta
    assert set(case.feed) == {"keypoints_2d", "noisy_pose", "timestep", "keep_frames", "keep_tokens"}
    assert case.feed["keypoints_2d"].shape == (meta.batch, meta.frames, 17, 2)
    assert case.feed["keep_frames"].dtype == np.int64 and case.feed["keep_frames"].shape == (meta.batch, meta.n1)
    assert case.macs_per_call == meta.macs_per_pass * meta.batch
    assert case.gemm_shape == (meta.batch * meta.frames * 17, 128, 256)
    assert case.frames_per_call == 27
    with Lifter.load(str(case.onnx), backend="onnxruntime") as lifter:
        again = peers.capture_feed(lifter, case.keypoints)
        assert "infer" not in vars(lifter.graphs.denoiser)  # the runner's own method is back
    for name, value in case.feed.items():  # seeded: the same clip gives the same feed
        np.testing.assert_array_equal(again[name], value)


def test_parity_uses_the_fp32_tolerance_and_can_fail(peers):
    ref = {"pose_3d": np.zeros((2, 3), np.float32), "kept_frames": np.arange(4, dtype=np.int64)}
    same = peers.parity({k: v.copy() for k, v in ref.items()}, ref)
    assert same["ok"] and same["max_abs_diff"] == 0.0 and same["index_agreement"] == 1.0
    near = peers.parity({**ref, "pose_3d": ref["pose_3d"] + 5e-5}, ref)
    assert near["ok"] and near["max_abs_diff"] == pytest.approx(5e-5, rel=1e-3)
    far = peers.parity({**ref, "pose_3d": ref["pose_3d"] + 1e-3}, ref)
    assert not far["ok"] and far["max_abs_diff"] == pytest.approx(1e-3, rel=1e-3)
    swapped = peers.parity({**ref, "kept_frames": ref["kept_frames"][::-1].copy()}, ref)
    assert not swapped["ok"] and swapped["index_agreement"] == 0.0
    assert not peers.parity({"pose_3d": ref["pose_3d"]}, ref)["ok"]  # an output missing


def test_interleaving_rotates_the_order_and_drops_warmup(peers):
    order = []
    group = [peers.Peer(n, "graph", (lambda n=n: order.append(n))) for n in "abc"]
    peers.interleave(group, iters=3, warmup=1)
    assert order == list("abc" "bca" "cab" "abc")
    assert [len(p.times_ms) for p in group] == [3, 3, 3]


def test_missing_peers_are_skipped_with_one_line(peers, case, monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino -> ImportError
    lines = []
    opened, skipped = peers.open_peers(case, ("ort", "openvino", "htp-edge-openvino"), 1, log=lines.append)
    assert [p.name for p in opened] == ["ort"]
    assert set(skipped) == {"openvino", "htp-edge-openvino"} and all("not installed" in v for v in skipped.values())
    assert lines == [f"bench_peers: skipped {n}: {skipped[n]}" for n in ("openvino", "htp-edge-openvino")]


def test_one_run_table_json_plot(peers, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    names = "ort,htp-edge,htp-edge-lift,openvino,htp-edge-openvino,torch"
    out = tmp_path / "peers.json"
    code = peers.main(["--model", "htp-small", "--peers", names, "--iters", "2", "--warmup", "0",
                       "--json", str(out), "--plot", str(tmp_path / "peers.png")])
    text = capsys.readouterr().out
    assert code == 0, text
    report = json.loads(out.read_text())
    assert report["parity_ok"] and report["threads"] == 1
    (r,) = report["cases"]
    assert r["model"] == "htp-small" and r["batch"] == 2 and r["macs_per_call"] > 0
    ran, skipped = set(r["peers"]), set(r["skipped"])
    assert ran | skipped == set(names.split(",")) and {"ort", "htp-edge", "htp-edge-lift"} <= ran
    for name, row in r["peers"].items():
        assert {"p50_ms", "p99_ms", "frames_per_s", "gmacs_per_s", "pct_of_roofline", "speedup_vs_ort",
                "setup_s", "parity"} <= set(row) and row["iters"] == 2
        assert row["p99_ms"] >= row["p50_ms"] > 0 and row["gmacs_per_s"] > 0
        if name in ("ort", "htp-edge-lift"):
            assert row["parity"] is None
        else:
            assert row["parity"]["ok"] and row["parity"]["max_abs_diff"] <= 1e-4, (name, row["parity"])
            assert row["parity"]["index_agreement"] == 1.0
        assert f"  {name} " in text
    assert r["peers"]["ort"]["speedup_vs_ort"] == 1.0
    gemm = r["roofline"]["gmacs_per_s"]
    assert {"gemm-numpy", "gemm-numpy-1024"} <= set(gemm)
    assert r["roofline"]["roofline_gmacs_per_s"] == max(gemm.values())
    assert not set(gemm) & set(r["peers"]) and "MLP shape 918x128x256 = m x k x n" in text
    pct = r["peers"]["ort"]["gmacs_per_s"] / max(gemm.values()) * 100
    assert r["peers"]["ort"]["pct_of_roofline"] == pytest.approx(pct)
    assert (tmp_path / "peers.png").stat().st_size > 1000
