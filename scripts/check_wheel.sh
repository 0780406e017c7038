#!/usr/bin/env bash
# Check the product as users install it: build the htp_edge wheel, install it with only the
# [ort] extra (numpy + onnxruntime) into a fresh venv, and run the runtime and the CLI from an
# empty folder outside the repository, with torch, onnx and tensorrt absent.
#
#   bash scripts/check_wheel.sh [PYTHON]
#
# PYTHON defaults to python3.10 (the Jetson JetPack 6 interpreter; found on PATH or as a pyenv
# version), else python3. Steps:
#   1 build the wheel   2 its package data   3 fresh venv with wheel[ort]   4 scripts/wheel_smoke.py
#   5 the htp-edge CLI  6 the dependencies resolve for Jetson (cp310, aarch64)  7 py3.10 source
# Fails fast with a 'wheel-check: FAIL: ...' line. Environment:
#   WHEEL_CHECK_KEEP_GOING=1  run steps 2 and 4-7 even after one of them failed (exit 1 at the end)
#   WHEEL_CHECK_KEEP_TMP=1    keep the temp folder (logs, wheel, venv) and print its path
#   WHEEL_CHECK_JETSON_GLIBC  glibc of the target Jetson for step 6 (default 2.35: JetPack 6)
# Needs the package registry for setuptools (build isolation), numpy, onnxruntime and vermin;
# pip's cache makes repeated runs fast.
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SMOKE="$REPO/scripts/wheel_smoke.py"
JETSON_GLIBC="${WHEEL_CHECK_JETSON_GLIBC:-2.35}"
KEEP_GOING="${WHEEL_CHECK_KEEP_GOING:-0}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_PROGRESS_BAR=off
START=$SECONDS

say() { printf 'wheel-check: %s\n' "$*"; }
step_say() { printf 'wheel-check: [%3ds] %s\n' "$((SECONDS - START))" "$*"; }
die() { printf 'wheel-check: FAIL: %s\n' "$*" >&2; exit 1; }
# An unexpected failure names its command; functions and steps report their own failures.
on_err() {
    local rc=$? line=$1 cmd=${BASH_COMMAND%%$'\n'*}
    case "$cmd" in '"$@"'|return*|exit*|die*) return 0;; esac
    declare -F "${cmd%% *}" >/dev/null && return 0
    printf 'wheel-check: FAIL: exit %s at line %s: %s\n' "$rc" "$line" "$cmd" >&2
}
trap 'on_err $LINENO' ERR

# -- the interpreter -------------------------------------------------------------------------
runs() { "$1" -c 'import sys' >/dev/null 2>&1; }
pick_python() {
    if command -v python3.10 >/dev/null 2>&1 && runs python3.10; then echo python3.10; return; fi
    local root cand
    root="$( (pyenv root) 2>/dev/null || echo "$HOME/.pyenv")"
    for cand in "$root"/versions/3.10*/bin/python3.10; do
        if [[ -x "$cand" ]] && runs "$cand"; then echo "$cand"; return; fi
    done
    echo python3
}
PY="${1:-$(pick_python)}"
runs "$PY" || die "python '$PY' does not run"
PY_VERSION="$("$PY" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || die "$PY is Python $PY_VERSION; htp_edge needs >= 3.10"
[[ "$PY_VERSION" == 3.10.* ]] || say "note: $PY is Python $PY_VERSION, not 3.10 (the Jetson interpreter)"
"$PY" -m pip --version >/dev/null 2>&1 || die "$PY has no pip"
"$PY" -c 'import venv, ensurepip' 2>/dev/null || die "$PY lacks venv/ensurepip (Debian: apt-get install python3-venv)"
say "python $PY_VERSION ($(command -v "$PY" || echo "$PY")), repository $REPO"

# -- temp folder, logs -----------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/htp-wheel-check.XXXXXX")"
cleanup() {
    if [[ "${WHEEL_CHECK_KEEP_TMP:-0}" == 1 ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
LOGS="$WORK/logs"
mkdir -p "$LOGS"

# logged NAME CMD...: run CMD with its output in $LOGS/NAME.log; on failure show the log's tail.
logged() {
    local name="$1"; shift
    if "$@" >"$LOGS/$name.log" 2>&1; then return 0; fi
    local rc=$?
    printf 'wheel-check: --- last lines of %s (%s) ---\n' "$name" "$*" >&2
    grep -v "^WARNING: Location 'file:" "$LOGS/$name.log" | tail -n 40 >&2 || true
    return "$rc"
}
# retry_once NAME CMD...: for registry access; one more try after a pause.
retry_once() {
    local name="$1"; shift
    logged "$name" "$@" && return 0
    say "$name failed; retrying once in 5 s"
    sleep 5
    logged "$name" "$@"
}

FAILED=()
# step NAME FUNCTION: run a step that sets no variables for later steps, in a subshell.
step() {
    local name="$1" rc=0; shift
    set +e
    trap - ERR
    ( trap 'on_err $LINENO' ERR; set -e; "$@" )
    rc=$?
    trap 'on_err $LINENO' ERR
    set -e
    if [[ $rc -ne 0 ]]; then
        [[ "$KEEP_GOING" == 1 ]] || die "$name (see above)"
        say "$name failed; going on (WHEEL_CHECK_KEEP_GOING=1)"
        FAILED+=("$name")
    fi
}

# -- 1. build --------------------------------------------------------------------------------
# From a snapshot of the working tree (tracked + untracked, minus .gitignore'd), so that no stale
# build/ or egg-info in the repository leaks into the wheel and nothing is written there.
step_say "1/7 building the wheel"
SRC="$WORK/src"
mkdir -p "$SRC"
if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$REPO" ls-files -z --cached --others --exclude-standard \
        | "$PY" -c '
import os, shutil, sys
repo, dst = sys.argv[1], sys.argv[2]
for rel in sys.stdin.buffer.read().split(b"\0"):
    rel = os.fsdecode(rel)
    src = os.path.join(repo, rel)
    if not rel or not os.path.isfile(src):  # deleted in the work tree, or a submodule
        continue
    os.makedirs(os.path.dirname(os.path.join(dst, rel)) or dst, exist_ok=True)
    shutil.copy2(src, os.path.join(dst, rel))
' "$REPO" "$SRC"
else
    (cd "$REPO" && tar --exclude=./.venv --exclude=./build --exclude=./dist --exclude='*.egg-info' \
        --exclude=__pycache__ -cf - .) | tar -xf - -C "$SRC"
fi
[[ -f "$SRC/pyproject.toml" ]] || die "no pyproject.toml in the snapshot of $REPO"
retry_once build "$PY" -m pip wheel --no-deps -w "$WORK/dist" "$SRC" || die "building the wheel failed"
shopt -s nullglob
wheels=("$WORK"/dist/htp_edge-*.whl)
others=("$WORK"/dist/*.whl)
shopt -u nullglob
[[ ${#wheels[@]} -eq 1 ]] || die "expected one htp_edge wheel, got ${#wheels[@]}: ${others[*]:-none}"
[[ ${#others[@]} -eq 1 ]] || die "the build left other wheels too: ${others[*]}"
WHEEL="${wheels[0]}"
say "built $(basename "$WHEEL") ($(du -k "$WHEEL" | cut -f1) KiB)"

# -- 2. package data -------------------------------------------------------------------------
check_contents() {
    step_say "2/7 checking the wheel's package data"
    "$PY" - "$WHEEL" <<'PYEOF' || return 1
import json, sys, zipfile
wheel = sys.argv[1]
with zipfile.ZipFile(wheel) as zf:
    names = set(zf.namelist())
    required = [
        "htp_edge/__init__.py",
        "htp_edge/checkpoints/htp-small_c1_h1_flip.onnx",
        "htp_edge/checkpoints/htp-small_c1_h1_flip.planner.onnx",
        "htp_edge/checkpoints/d3dp-small_c1_h1_flip.onnx",
        *[f"htp_edge/engines/profiles/{p}.json" for p in ("desktop", "orin-agx", "orin-nx", "orin-nano")],
        "htp_edge/precision/recipes/default.json",
        "htp_edge/export/trt10_onnx_ops.txt",
    ]
    missing = [n for n in required if n not in names]
    bad_json = []
    for n in sorted(names):
        if n.startswith("htp_edge/") and n.endswith(".json"):
            try:
                json.loads(zf.read(n))
            except ValueError as exc:
                bad_json.append(f"{n} ({exc})")
    empty = [n for n in required if n in names and zf.getinfo(n).file_size == 0]
    dist_info = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    entry = zf.read(dist_info[0]).decode() if dist_info else ""
problems = []
if missing:
    problems.append("missing from the wheel: " + ", ".join(missing)
                    + " (add them to [tool.setuptools.package-data] in pyproject.toml)")
if empty:
    problems.append("empty in the wheel: " + ", ".join(empty))
if bad_json:
    problems.append("invalid JSON: " + ", ".join(bad_json))
if "htp-edge = htp_edge.cli.main:entry" not in entry.replace("  ", " "):
    problems.append("no htp-edge console script in entry_points.txt")
if problems:
    for p in problems:
        print(f"wheel-check: FAIL: {p}", file=sys.stderr)
    sys.exit(1)
print(f"wheel-check: {len(required)} required files present ({len(names)} files in the wheel)")
PYEOF
}
step "2/7 package data" check_contents

# -- 3. fresh venv with wheel[ort] -----------------------------------------------------------
step_say "3/7 fresh venv with $(basename "$WHEEL")[ort]"
VENV="$WORK/venv"
VPY="$VENV/bin/python"
logged venv "$PY" -m venv "$VENV" || die "creating the venv failed"
retry_once install "$VPY" -m pip install --no-compile "${WHEEL}[ort]" || die "pip install of $(basename "$WHEEL")[ort] failed"
(cd "$WORK" && "$VPY" -I -) <<'PYEOF' || die "the venv holds more (or less) than the runtime needs"
import importlib.metadata as md, importlib.util, sys
dists = {(d.metadata["Name"] or "").lower().replace("_", "-"): d.version for d in md.distributions()}
present = [n for n in ("torch", "onnx", "tensorrt") if n in dists or importlib.util.find_spec(n) is not None]
if present:
    sys.exit(f"wheel-check: FAIL: installed in the runtime venv: {', '.join(present)}")
for need in ("htp-edge", "numpy", "onnxruntime"):
    if need not in dists:
        sys.exit(f"wheel-check: FAIL: {need} is not installed in the venv")
others = sorted(set(dists) - {"htp-edge", "numpy", "onnxruntime", "pip", "setuptools"})
print(f"wheel-check: venv has htp_edge {dists['htp-edge']}, numpy {dists['numpy']}, onnxruntime "
      f"{dists['onnxruntime']} (+ {', '.join(others) or 'nothing else'}); no torch, onnx, tensorrt")
PYEOF

# Steps 4-5 run like a user's shell: an empty folder outside the repository, no PYTHONPATH,
# no HTP_EDGE_* pointing anywhere, a private model cache.
RUN="$WORK/run"
mkdir -p "$RUN" "$WORK/cache"
user_env() {
    local v
    for v in $(compgen -e); do
        case "$v" in HTP_EDGE_*|PYTHONPATH|PYTHONHOME|PYTHONSTARTUP|PYTHONUSERBASE|PYTHONSAFEPATH|VIRTUAL_ENV) unset "$v";; esac
    done
    export HTP_EDGE_CACHE="$WORK/cache" WHEEL_SMOKE_REPO="$REPO" PATH="$VENV/bin:$PATH"
    cd "$RUN"
}

# -- 4. runtime smoke ------------------------------------------------------------------------
smoke() {
    step_say "4/7 runtime smoke (scripts/wheel_smoke.py in the venv, from $RUN)"
    user_env
    "$VPY" -I "$SMOKE" || { echo "wheel-check: FAIL: scripts/wheel_smoke.py failed (its output is above)" >&2; return 1; }
}
step "4/7 runtime smoke" smoke

# -- 5. CLI ----------------------------------------------------------------------------------
# cli NAME ARGS...: htp-edge ARGS with stdout in NAME.out, stderr in NAME.err; returns its status.
cli() {
    local name="$1"; shift
    local rc=0
    "$VENV/bin/htp-edge" "$@" >"$name.out" 2>"$name.err" || rc=$?
    return "$rc"
}
cli_ok() {
    local name="$1"; shift
    cli "$name" "$@" && return 0
    local rc=$?
    echo "wheel-check: FAIL: htp-edge $* exited $rc:" >&2
    sed 's/^/    /' "$name.err" >&2
    return 1
}
# pycheck FILE <<CODE: run CODE (stdin) with the venv's python, sys.argv[1] = FILE.
pycheck() { "$VPY" -I - "$1"; }

cli_checks() {
    step_say "5/7 the htp-edge CLI (from $RUN)"
    user_env
    "$VPY" -I "$SMOKE" --write-keypoints kp.npy
    local fail=0

    if cli_ok lift lift kp.npy --out o.npy --width 1000 --height 1000 --json; then
        pycheck o.npy <<'PYEOF' || { echo "wheel-check: FAIL: htp-edge lift wrote a bad o.npy or JSON" >&2; fail=1; }
import json, sys, numpy as np
a = np.load(sys.argv[1])
r = json.load(open("lift.out"))
assert a.shape == (60, 17, 3), f"o.npy has shape {a.shape}, expected (60, 17, 3)"
assert np.isfinite(a).all(), "o.npy has non-finite values"
total = float((r.get("timings_ms") or {}).get("total", float("nan")))
print(f"wheel-check: lift htp-small -> {a.shape} via {r.get('backend')}, total {total:.1f} ms")
PYEOF
    else fail=1; fi

    if cli_ok lift_d3dp lift kp.npy --out o_d3dp.npy --width 1000 --height 1000 --checkpoint d3dp-small --json; then
        pycheck o_d3dp.npy <<'PYEOF' || { echo "wheel-check: FAIL: htp-edge lift --checkpoint d3dp-small wrote a bad o_d3dp.npy" >&2; fail=1; }
import sys, numpy as np
a = np.load(sys.argv[1])
assert a.shape == (60, 17, 3), f"o_d3dp.npy has shape {a.shape}, expected (60, 17, 3)"
assert np.isfinite(a).all(), "o_d3dp.npy has non-finite values"
print(f"wheel-check: lift d3dp-small -> {a.shape}")
PYEOF
    else fail=1; fi

    if cli_ok bench bench --model htp-small --backend onnxruntime --iters 3 --warmup 1 --json; then
        pycheck bench.out <<'PYEOF' || { echo "wheel-check: FAIL: htp-edge bench --json output is not as expected" >&2; fail=1; }
import json, sys
r = json.load(open(sys.argv[1]))
missing = [k for k in ("stages", "total") if k not in r]
assert not missing, f"bench JSON lacks {missing}; it has {sorted(r)}"
total = r["total"]
p50 = f"p50 {float(total['p50_ms']):.1f} ms" if isinstance(total, dict) and "p50_ms" in total else json.dumps(total)[:80]
print(f"wheel-check: bench: stages {', '.join(map(str, r['stages']))}; total {p50}")
PYEOF
    else fail=1; fi

    if cli_ok info info --json; then
        pycheck info.out <<'PYEOF' || { echo "wheel-check: FAIL: htp-edge info --json output is not as expected" >&2; fail=1; }
import json, sys
r = json.load(open(sys.argv[1]))
assert r.get("onnxruntime"), f"info reports no onnxruntime: {r}"
print(f"wheel-check: info: htp_edge {r.get('htp_edge')}, onnxruntime {r.get('onnxruntime')}, "
      f"torch {r.get('torch')}, onnx {r.get('onnx')}, tensorrt {r.get('tensorrt')}")
PYEOF
    else fail=1; fi

    # build must fail, and only because TensorRT is missing: the profile has to be found in the wheel.
    local onnx rc=0
    onnx="$("$VPY" -I -c 'import htp_edge, os; print(os.path.join(os.path.dirname(htp_edge.__file__), "checkpoints", "htp-small_c1_h1_flip.onnx"))')"
    cli build build --onnx "$onnx" --out x.engine --profile orin-agx || rc=$?
    local lines
    lines="$(grep -c . build.err || true)"
    if [[ $rc -eq 0 ]]; then
        echo "wheel-check: FAIL: htp-edge build succeeded without TensorRT (expected an error)" >&2; fail=1
    elif grep -qi "unknown profile" build.err; then
        echo "wheel-check: FAIL: htp-edge build --profile orin-agx: the profile is not found in the installed package:" >&2
        sed 's/^/    /' build.err >&2; fail=1
    elif [[ "$lines" -ne 1 ]] || ! grep -qi "tensorrt" build.err; then
        echo "wheel-check: FAIL: htp-edge build --profile orin-agx (exit $rc) should fail only because TensorRT is absent, in one stderr line; it failed otherwise ($lines stderr line(s)):" >&2
        sed 's/^/    /' build.err | tail -n 20 >&2; fail=1
    else
        say "build fails as expected without TensorRT (exit $rc): $(cat build.err)"
    fi

    # stream: one person from the .npy, one JSON line out per input frame
    if cli_ok stream stream kp.npy --out s.jsonl --width 1000 --height 1000 --json; then
        local rows
        rows=$(wc -l < s.jsonl)
        if [[ "$rows" -ne 60 ]]; then
            echo "wheel-check: FAIL: htp-edge stream wrote $rows lines for 60 frames" >&2; fail=1
        else
            say "stream: $rows lines; $(head -c 160 stream.out)"
        fi
    else fail=1; fi
    return "$fail"
}
step "5/7 CLI" cli_checks

# -- 6. dependencies for the Jetson ----------------------------------------------------------
jetson_deps() {
    step_say "6/7 [ort] dependencies for Jetson (cp310, manylinux aarch64, glibc <= $JETSON_GLIBC)"
    local reqs
    reqs="$("$PY" - "$WHEEL" <<'PYEOF'
import sys, zipfile
try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement
with zipfile.ZipFile(sys.argv[1]) as zf:
    meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
    lines = zf.read(meta).decode().splitlines()
env = {"python_version": "3.10", "python_full_version": "3.10.12", "implementation_name": "cpython",
       "implementation_version": "3.10.12", "platform_python_implementation": "CPython",
       "platform_machine": "aarch64", "platform_system": "Linux", "sys_platform": "linux",
       "os_name": "posix", "platform_release": "5.15.148-tegra", "platform_version": ""}
out = []
for line in lines:
    if not line.startswith("Requires-Dist:"):
        continue
    req = Requirement(line.split(":", 1)[1].strip())
    if req.marker is None or req.marker.evaluate({**env, "extra": ""}) or req.marker.evaluate({**env, "extra": "ort"}):
        extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
        out.append(f"{req.name}{extras}{req.specifier}")
if not out:
    sys.exit("wheel-check: FAIL: no Requires-Dist for the base or [ort] in the wheel's METADATA")
print("\n".join(out))
PYEOF
)"
    local -a req_list platforms=(--platform manylinux2014_aarch64)
    mapfile -t req_list <<<"$reqs"
    local minor max="${JETSON_GLIBC#2.}"
    for ((minor = 17; minor <= max; minor++)); do platforms+=(--platform "manylinux_2_${minor}_aarch64"); done
    retry_once jetson_download "$PY" -m pip download --only-binary=:all: "${platforms[@]}" --python-version 3.10 \
        --implementation cp --no-deps -d "$WORK/jetson" "${req_list[@]}" \
        || { echo "wheel-check: FAIL: no cp310 aarch64 wheel for one of: ${req_list[*]}" >&2; return 1; }
    local files
    files="$(cd "$WORK/jetson" && printf '%s ' *)"
    say "Jetson resolves ${req_list[*]} -> ${files% }"
}
step "6/7 Jetson dependencies" jetson_deps

# -- 7. nothing newer than Python 3.10 -------------------------------------------------------
py310_source() {
    step_say "7/7 htp_edge source against Python 3.10"
    if [[ "$PY_VERSION" == 3.10.* ]]; then
        logged compileall "$PY" -m compileall -q "$SRC/htp_edge" \
            || { echo "wheel-check: FAIL: htp_edge does not compile with Python $PY_VERSION" >&2; return 1; }
        say "compileall with $PY_VERSION: OK"
    else
        say "compileall skipped: $PY is $PY_VERSION, not 3.10"
    fi
    local vermin=()
    if [[ -x "$REPO/.venv/bin/python" ]] && "$REPO/.venv/bin/python" -c 'import vermin' >/dev/null 2>&1; then
        vermin=("$REPO/.venv/bin/python" -c 'import sys; from vermin import main; sys.argv[0] = "vermin"; sys.exit(main())')
    else
        retry_once vermin_install "$PY" -m pip install --target "$WORK/tools" vermin \
            || { echo "wheel-check: FAIL: cannot install vermin" >&2; return 1; }
        vermin=(env PYTHONPATH="$WORK/tools" "$PY" -c 'import sys; from vermin import main; sys.argv[0] = "vermin"; sys.exit(main())')
    fi
    (cd "$SRC" && "${vermin[@]}" -t=3.10- --no-tips --violations htp_edge) >"$LOGS/vermin.log" 2>&1 \
        || { echo "wheel-check: FAIL: vermin: htp_edge needs a Python newer than 3.10:" >&2
             sed 's/^/    /' "$LOGS/vermin.log" >&2; return 1; }
    say "vermin: $(grep -i 'minimum required' "$LOGS/vermin.log" | head -n 1)"
}
step "7/7 Python 3.10 source" py310_source

if [[ ${#FAILED[@]} -gt 0 ]]; then
    die "${#FAILED[@]} step(s) failed: ${FAILED[*]} ($((SECONDS - START)) s)"
fi
say "OK ($((SECONDS - START)) s)"
