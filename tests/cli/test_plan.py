"""`htp-edge plan` through the CLI: JSON contract, plot, printed commands that the real parsers
accept, --export, the budget message and one-line errors (tiny random-weight HTP, one sequence)."""
from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from htp_edge.cli.main import build_parser, main


def _run(capsys, argv):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse refuses a flag
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def plan_args(tiny_htp_ckpt, tmp_path_factory):
    cache = tmp_path_factory.mktemp("plan_cache")
    return ["plan", "--checkpoint", str(tiny_htp_ckpt), "--n1", "4", "--f", "3", "--steps", "1,2", "--flip", "off",
            "--precision", "fp32", "--max-sequences", "1", "--iters", "3", "--warmup", "1", "--rounds", "2",
            "--cache-dir", str(cache)]


@pytest.fixture(scope="module")
def planned(plan_args, tmp_path_factory):
    """One measured run with a generous budget and a plot (stdout captured by hand: module scope)."""
    import contextlib
    import io
    out_dir = tmp_path_factory.mktemp("plan_out")
    plot = out_dir / "front.png"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(plan_args + ["--budget-ms", "1e6", "--plot", str(plot), "--json"])
    return code, json.loads(buf.getvalue()), plot


def test_json_contract_and_plot(planned):
    code, r, plot = planned
    assert code == 0
    assert set(r) >= {"points", "pareto", "recommended"}
    assert len(r["points"]) == 2
    for p in r["points"]:
        assert set(p) >= {"settings", "mpjpe_mm", "p50_ms", "p99_ms"}
        assert set(p["settings"]) >= {"n1", "f", "steps", "hypotheses", "flip", "precision"}
        assert p["settings"]["n1"] == 4 and p["settings"]["flip"] is False
    assert all(0 <= i < len(r["points"]) for i in r["pareto"]) and r["pareto"]
    rec = r["recommended"]
    assert rec["settings"] == r["points"][rec["index"]]["settings"]
    assert rec["mpjpe_mm"] == min(p["mpjpe_mm"] for p in r["points"])
    assert r["plot"] == str(plot) and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 5000


def test_printed_commands_parse_with_the_real_cli(planned):
    rec = planned[1]["recommended"]
    parser = build_parser()
    for name in ("export", "build", "eval"):
        argv = shlex.split(rec["commands"][name])
        assert argv[0] == "htp-edge" and argv == rec["command_argv"][name]
        args = parser.parse_args(argv[1:])
        assert args.command == name
    export = parser.parse_args(shlex.split(rec["commands"]["export"])[1:])
    assert export.no_flip and export.hypotheses == 1 and export.checkpoint.endswith("_n4_f3.pt")
    assert parser.parse_args(shlex.split(rec["commands"]["eval"])[1:]).steps == rec["settings"]["steps"]
    assert rec["commands"]["quantize"] is None  # fp32


def test_second_run_is_cached_and_text_shows_the_commands(capsys, plan_args, planned):
    code, out, err = _run(capsys, plan_args + ["--budget-ms", "1e6"])
    assert code == 0, err
    assert "(0 measured, 2 cached)" in out and "recommended under" in out and "htp-edge export" in out


def test_impossible_budget_gives_null_and_one_stderr_line(capsys, plan_args, planned):
    code, out, err = _run(capsys, plan_args + ["--budget-ms", "0.0001", "--json"])
    assert code == 0
    assert json.loads(out)["recommended"] is None
    assert len(err.strip().splitlines()) == 1 and "no setting fits the budget" in err


def test_export_writes_the_recommended_graph(capsys, plan_args, planned, tmp_path):
    dest = tmp_path / "deploy"
    code, out, err = _run(capsys, plan_args + ["--budget-ms", "1e6", "--export", str(dest), "--json"])
    assert code == 0, err
    r = json.loads(out)
    onnx = dest / "htp-tiny_n4_f3_c1_h1_noflip.onnx"
    assert r["export"]["export"]["onnx"] == str(onnx) and onnx.is_file()
    assert (dest / "htp-tiny_n4_f3.pt").is_file()  # the variant checkpoint the export command names
    assert r["recommended"]["command_argv"]["export"][r["recommended"]["command_argv"]["export"].index(
        "--checkpoint") + 1] == str(dest / "htp-tiny_n4_f3.pt")


def test_export_without_a_recommendation_is_an_error(capsys, plan_args, planned, tmp_path):
    code, out, err = _run(capsys, plan_args + ["--budget-ms", "0.0001", "--export", str(tmp_path / "d")])
    assert code == 2 and out == "" and "nothing was exported" in err
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("extra, match", [
    (["--n1", "0"], "--n1"),
    (["--n1", "4,4"], "repeats"),
    (["--flip", "maybe"], "flip"),
    (["--precision", "fp8"], "precision"),
    (["--budget-ms", "-1"], "--budget-ms"),
    (["--backend", "tensorrt"], "tensorrt backend is not swept"),
    (["--backend", "torch", "--precision", "int8-dynamic"], "does not run int8-dynamic"),
    (["--n1", "2"], "no runnable setting"),
])
def test_bad_flags_one_line(capsys, plan_args, extra, match):
    code, out, err = _run(capsys, plan_args[:1] + plan_args[3:] + ["--checkpoint", plan_args[2]] + extra)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and match in err and "Traceback" not in err


@pytest.mark.parametrize("knob", ["--n1", "--f"])
def test_d3dp_knobs_refused(capsys, tmp_path, knob):
    code, _, err = _run(capsys, ["plan", "--checkpoint", "d3dp-small", knob, "9", "--cache-dir", str(tmp_path)])
    assert code == 2 and "no pruning knobs" in err and len(err.strip().splitlines()) == 1


def test_plotting_and_torch_are_imported_lazily():
    code = ("import sys, htp_edge.cli.cmd_plan, htp_edge.plan.sweep, htp_edge.plan.plot; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib'; assert 'torch' not in sys.modules, 'torch'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cached_run_needs_no_torch_or_onnx(plan_args, planned, tmp_path):
    """A second run (another budget) reads every result from the cache: torch is never imported."""
    blocked = str(Path(__file__).parents[1] / "blocked.py")
    body = (f"import sys; sys.argv = ['htp-edge', *{plan_args + ['--budget-ms', '1e6', '--json']!r}]\n"
            "from htp_edge.cli.main import entry\nentry()\n")
    run = subprocess.run([sys.executable, blocked, "torch,onnx,tensorrt", "--", body], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    r = json.loads(run.stdout)
    assert r["measured"] == 0 and r["recommended"]["settings"] == planned[1]["recommended"]["settings"]
