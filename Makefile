# htp-edge: `make demo` and `make test` set up .venv on a fresh machine and run.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# torch is pinned and installed on its own, before the package, so that no extra pulls a
# multi-GB CUDA build onto a CPU machine. Set TORCH_INDEX_URL to pick a wheel index.
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX_URL ?=

.PHONY: demo test lint wheel-check setup data clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup_env.sh
	TORCH_SPEC='$(TORCH_SPEC)' TORCH_INDEX_URL='$(TORCH_INDEX_URL)' bash scripts/setup_env.sh '$(PYTHON)' '$(VENV)'
	touch $(STAMP)

data: $(STAMP)
	$(VENV)/bin/htp-edge data prepare

demo: data
	$(VENV)/bin/python scripts/demo.py

# lint and the installed-wheel check run first, so that pytest's summary closes the output
test: data lint wheel-check
	$(PY) -m pytest tests

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# the product as users get it: wheel -> fresh venv with [ort] only -> runtime and CLI outside the repo
wheel-check:
	bash scripts/check_wheel.sh

clean:
	rm -rf $(VENV) export/out engines/out calibration/out out
