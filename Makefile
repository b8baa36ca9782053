# bloomtune: `make demo` runs the whole pipeline offline; `make test` runs the test suite.
# Both create .venv and install the pinned dependencies first (once).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all

.PHONY: setup demo demo-dvc plan test lint format lock clean

# GPU=1 also swaps tensorflow-cpu for CUDA TensorFlow (requirements-gpu.lock, same version).
GPU ?= 0

setup: $(VENV)/.installed $(if $(filter 1,$(GPU)),$(VENV)/.gpu)

$(VENV)/.gpu: $(VENV)/.installed requirements-gpu.lock
	$(BIN)/pip uninstall --quiet --yes tensorflow-cpu
	$(BIN)/pip install --quiet --no-deps -r requirements-gpu.lock
	$(BIN)/python -c "import tensorflow as tf; print('GPUs:', tf.config.list_physical_devices('GPU'))"
	touch $@

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/dvc config core.analytics false
	touch $@

# The whole pipeline on synthetic flowers (config/demo.yaml): no network needed. Its 60 short
# training jobs take one thread each (resources.training_threads), so two run at once on 2 cores.
# The console shows Snakemake's progress and bloomtune's lines (a trial, an epoch, a stage);
# Snakemake's job blocks (--quiet rules) and the libraries' messages are in results/logs/.
demo: setup
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake --cores $(CORES) --quiet rules \
	  --configfile config/demo.yaml
	@echo "Report: results/report/report.html (the replay's: results/report/replay/replay.html)"

# The same demo under DVC: merges config/demo.yaml into params.yaml, then dvc repro under the
# project's run lock (bloomtune/repro.py).
demo-dvc: setup
	$(BIN)/python -m bloomtune.overlay config/demo.yaml
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m bloomtune.repro
	@echo "Report: results/report/report.html (git checkout params.yaml restores the defaults)"

# What the run `snakemake` would start now costs (CONFIG=config/demo.yaml for an overlay).
plan: setup
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m bloomtune.plan $(if $(CONFIG),--configfile $(CONFIG))

# Test files side by side (pytest-xdist): one worker more than the cores (at most 4 + 1), so a
# core stays busy while a worker waits on a pipeline run another one is making.
TEST_WORKERS ?= $(shell n=$$(nproc); [ $$n -gt 4 ] && n=4; echo $$((n + 1)))

test: setup
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/pytest -n $(TEST_WORKERS)

lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/lint-imports --no-cache

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIN)/snakefmt Snakefile rules

# Re-pin every dependency from the current environment.
lock: setup
	( echo "# Fully pinned dependency set for bloomtune (pip freeze of a working install)."; \
	  echo "# Regenerate: make lock"; \
	  $(BIN)/pip freeze --exclude-editable ) > requirements.lock

clean:
	rm -rf results data .snakemake
