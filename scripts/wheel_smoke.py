"""Smoke test of an *installed* htp_edge wheel: run it with the python of a fresh venv that holds
only the wheel, numpy and onnxruntime (``scripts/check_wheel.sh`` does this).

    VENV/bin/python -I scripts/wheel_smoke.py                # the smoke test
    VENV/bin/python -I scripts/wheel_smoke.py --write-keypoints kp.npy   # only write test input

Before htp_edge is imported, a meta-path finder makes ``torch``, ``onnx`` (and ``onnx.*``, not
``onnxruntime``) and ``tensorrt`` unimportable, as on a Jetson with only the runtime installed.
For both bundled checkpoints it lifts a synthetic (60, 17, 2) pixel clip through ONNX Runtime,
streams 40+ frames through StreamingLifter, and checks that htp_edge was imported from the
venv's site-packages rather than from a source checkout. Exit status 0 on success, 1 with a
``wheel_smoke: FAIL: ...`` line on stderr otherwise. Python 3.10 compatible; stdlib + numpy only.
"""
from __future__ import annotations

import importlib.abc
import os
import sys
import sysconfig
import traceback

BLOCKED = ("torch", "onnx", "tensorrt")
CHECKPOINTS = ("htp-small", "d3dp-small", "htp-small-causal")
FRAMES, JOINTS, WIDTH, HEIGHT = 60, 17, 1000, 1000
STREAM_FRAMES = 40

blocked_attempts: list[str] = []


class _Blocker(importlib.abc.MetaPathFinder):
    """Raises ModuleNotFoundError for the blocked top-level packages and their submodules."""

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.partition(".")[0]
        if top in BLOCKED:
            blocked_attempts.append(fullname)
            raise ModuleNotFoundError(
                f"No module named {fullname!r} (blocked by wheel_smoke.py: the edge runtime must not "
                f"need {top})", name=fullname)
        return None


class SmokeFailure(Exception):
    pass


def check(cond: bool, message: str) -> None:
    if not cond:
        raise SmokeFailure(message)


def make_keypoints(frames: int = FRAMES, seed: int = 0):
    """(frames, 17, 2) float32 H36M-order pixels of a walking-in-place figure in a 1000x1000 image."""
    import numpy as np
    # H36M order: hip, rhip, rknee, rankle, lhip, lknee, lankle, spine, thorax, nose, head,
    # lshoulder, lelbow, lwrist, rshoulder, relbow, rwrist. Offsets in pixels from the pelvis
    # (image y points down); the figure is ~420 px tall.
    template = np.array([
        [0, 0], [-30, 0], [-32, 100], [-34, 200], [30, 0], [32, 100], [34, 200],
        [0, -60], [0, -130], [0, -160], [0, -195],
        [45, -125], [60, -60], [65, 0], [-45, -125], [-60, -60], [-65, 0]], dtype=np.float64)
    rng = np.random.default_rng(seed)
    t = np.arange(frames)
    phase = 2 * np.pi * t / 30.0
    pose = np.repeat(template[None], frames, axis=0)
    swing = 18 * np.sin(phase)
    pose[:, [2, 3], 0] += swing[:, None] * np.array([0.6, 1.0])   # right leg
    pose[:, [5, 6], 0] -= swing[:, None] * np.array([0.6, 1.0])   # left leg
    pose[:, [12, 13], 0] -= swing[:, None] * np.array([0.5, 0.9])  # left arm (opposite)
    pose[:, [15, 16], 0] += swing[:, None] * np.array([0.5, 0.9])  # right arm
    centre = np.array([500.0, 480.0]) + np.cumsum(rng.normal(0, 1.5, size=(frames, 2)), axis=0)
    pose = pose + centre[:, None, :] + rng.normal(0, 1.0, size=pose.shape)
    pose = np.clip(pose, 5, min(WIDTH, HEIGHT) - 5)
    return pose.astype(np.float32)


def _short(path: str) -> str:
    """htp_edge/... for a file of the installed package, else the path as given."""
    parts = path.replace(os.sep, "/").split("/")
    return "/".join(parts[parts.index("htp_edge"):]) if "htp_edge" in parts else path


def _inside(path: str, root: str) -> bool:
    path, root = os.path.realpath(path), os.path.realpath(root)
    return os.path.commonpath([path, root]) == root


def check_install_location(htp_edge) -> str:
    check(sys.prefix != sys.base_prefix, f"not running inside a venv (sys.prefix={sys.prefix}); run this "
                                         f"with the python of the venv the wheel was installed into")
    site_dirs = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    where = htp_edge.__file__ or ""
    check(any(_inside(where, d) for d in site_dirs),
          f"htp_edge was imported from {where}, not from the venv's site-packages ({', '.join(sorted(site_dirs))}); "
          f"a source checkout is on sys.path (cwd, PYTHONPATH or the script folder)")
    repo = os.environ.get("WHEEL_SMOKE_REPO")
    if repo:
        check(not _inside(where, repo), f"htp_edge was imported from the repository {repo}: {where}")
    return where


def multi_checks(keypoints) -> str:
    """Three people through the shipped batched graph (clips_per_call=8): one engine call per hop."""
    from htp_edge import Lifter, MultiStreamLifter
    lifter = Lifter.load("htp-small", backend="onnxruntime", clips_per_call=8)
    multi = MultiStreamLifter(lifter, WIDTH, HEIGHT, max_tracks=8)
    outs = [multi.push({tid: keypoints[f] + 50.0 * tid for tid in range(3)}) for f in range(len(keypoints))]
    last = outs[-1]
    check(sorted(last) == [0, 1, 2], f"MultiStreamLifter: expected poses for tracks 0-2, got {sorted(last)}")
    check(all(p.shape == (17, 3) and bool((p == p).all()) for p in last.values()), "MultiStreamLifter: bad poses")
    return f"MultiStreamLifter: 3 tracks, {multi.last_batch} per engine batch"


def lift_checks(Lifter, StreamingLifter, name: str, keypoints) -> str:
    import numpy as np
    lifter = Lifter.load(name, backend="onnxruntime")
    try:
        out = np.asarray(lifter.lift(keypoints, width=WIDTH, height=HEIGHT))
        check(out.shape == (FRAMES, JOINTS, 3), f"{name}: lift returned shape {out.shape}, expected "
                                                f"{(FRAMES, JOINTS, 3)}")
        check(bool(np.isfinite(out).all()), f"{name}: lift returned non-finite values")
        check(bool(np.allclose(out[:, 0], 0.0, atol=1e-6)), f"{name}: root joint 0 is not zero: {out[:3, 0]}")
        check(float(np.abs(out).max()) < 5.0,
              f"{name}: implausible pose, |x| up to {float(np.abs(out).max()):.2f} m")
        timings = lifter.last_timings
        check(isinstance(timings, dict) and "total" in timings,
              f"{name}: lifter.last_timings has no 'total': {timings!r}")
        total_ms = float(timings["total"])

        stream = StreamingLifter(lifter, width=WIDTH, height=HEIGHT)
        window = int(stream.window)
        n = max(STREAM_FRAMES, window + 5)
        frames = make_keypoints(n, seed=1)
        first = None
        got = 0
        for i, frame in enumerate(frames):
            pose = stream.push(frame)
            if pose is None:
                check(first is None, f"{name}: stream returned None at frame {i} after returning poses")
                continue
            pose = np.asarray(pose)
            check(pose.shape == (JOINTS, 3), f"{name}: stream pose has shape {pose.shape}, expected (17, 3)")
            check(bool(np.isfinite(pose).all()), f"{name}: stream pose at frame {i} is not finite")
            if first is None:
                first = i
            got += 1
        check(first is not None, f"{name}: StreamingLifter returned no pose in {n} frames (window {window})")
        check(first == window - 1, f"{name}: first stream pose at frame {first}, expected {window - 1} "
                                   f"(window {window})")
        return f"{name}: lift {total_ms:.1f} ms, stream {got}/{n} poses (window {window})"
    finally:
        close = getattr(lifter, "close", None)
        if close is not None:
            close()


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--write-keypoints":
        import numpy as np
        np.save(argv[1], make_keypoints())
        return 0
    if argv:
        print("usage: wheel_smoke.py [--write-keypoints FILE.npy]", file=sys.stderr)
        return 2

    preloaded = [m for m in BLOCKED if m in sys.modules]
    if preloaded:
        print(f"wheel_smoke: FAIL: already imported before the test started: {', '.join(preloaded)}",
              file=sys.stderr)
        return 1
    sys.meta_path.insert(0, _Blocker())
    step = "import htp_edge"
    try:
        import htp_edge
        from htp_edge import Lifter, StreamingLifter
        step = "install location"
        where = check_install_location(htp_edge)
        keypoints = make_keypoints()
        notes = []
        for name in CHECKPOINTS:
            step = f"{name}"
            notes.append(lift_checks(Lifter, StreamingLifter, name, keypoints))
        step = "MultiStreamLifter"
        notes.append(multi_checks(keypoints))
        step = "blocked modules"
        leaked = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
        check(not leaked, f"blocked modules ended up in sys.modules: {', '.join(leaked)}")
    except SmokeFailure as exc:
        print(f"wheel_smoke: FAIL: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - report where it came from, then one summary line
        traceback.print_exc()
        hint = ""
        if isinstance(exc, ImportError) and (exc.name or "").partition(".")[0] in BLOCKED:
            hint = " (htp_edge imports a workstation-only dependency on the runtime path"
            here = os.path.realpath(__file__)
            frames = [f for f in traceback.extract_tb(exc.__traceback__) if os.path.realpath(f.filename) != here]
            if frames:
                hint += f": {_short(frames[-1].filename)}:{frames[-1].lineno}"
            hint += ")"
        print(f"wheel_smoke: FAIL: {step}: {type(exc).__name__}: {exc}{hint}", file=sys.stderr)
        return 1
    tried = f"; handled blocked imports: {', '.join(sorted(set(blocked_attempts)))}" if blocked_attempts else ""
    print(f"wheel_smoke: OK: htp_edge {getattr(htp_edge, '__version__', '?')} from {os.path.dirname(where)}; "
          f"{'; '.join(notes)}{tried}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
