#!/usr/bin/env bash
# The torch backend on a CUDA GPU, one table: FP32, FP16 autocast and CUDA graphs for D3DP and
# HTP at 243 frames and htp-small, CUDA-event stage timings (scripts/gpu_check.py).
# Needs python with numpy and torch (CUDA); not onnx, TensorRT or ONNX Runtime. Sized for well under
# 8 minutes on one GPU (not yet run on one), and stopped at 7 min 50 s whatever happens.
# With OUT set, writes $OUT/gpu_check.json and $OUT/gpu_check.txt.
# usage: scripts/gpu_check.sh [gpu_check.py options, e.g. --iters 100 --model htp:243]
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if ! "$PY" -c "import numpy, torch" 2>/dev/null; then
    echo "gpu_check.sh: error: $PY cannot import numpy and torch. Expected PyTorch with CUDA; set PYTHON=..." >&2
    exit 2
fi
args=()
if [ -n "${OUT:-}" ]; then
    mkdir -p "$OUT"
    args+=(--json "$OUT/gpu_check.json")
fi
timeout --signal=INT --kill-after=10 470 "$PY" scripts/gpu_check.py ${args[@]+"${args[@]}"} "$@" \
    | tee ${OUT:+"$OUT/gpu_check.txt"}
