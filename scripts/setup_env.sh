#!/usr/bin/env bash
# Create the virtual environment and install htp-edge with its development extras.
# usage: setup_env.sh PYTHON VENV
set -euo pipefail
python_bin="${1:-python3}"
venv="${2:-.venv}"
torch_spec="${TORCH_SPEC:-torch==2.13.0}"

"$python_bin" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "htp-edge: Python >= 3.10 is required")'
[ -x "$venv/bin/python" ] || "$python_bin" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --disable-pip-version-check -q)

if ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
        echo "setup: NVIDIA GPU found, installing $torch_spec (CUDA build)"
    else
        echo "setup: no GPU found, installing $torch_spec (CPU build)"
    fi
    if [ -n "${TORCH_INDEX_URL:-}" ]; then
        "${pip[@]}" --index-url "$TORCH_INDEX_URL" "$torch_spec"
    else
        "${pip[@]}" "$torch_spec"
    fi
fi
echo "setup: installing htp-edge[dev]"
"${pip[@]}" -e '.[dev]'
