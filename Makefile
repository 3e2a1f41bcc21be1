# credit-pipeline: two commands on a fresh machine (Python 3.11, pip, make).
#   make run   environment + demo loan book (if absent) + the nightly job end to end
#   make test  environment + the whole test suite
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.data/dagster
export MLFLOW_TRACKING_URI ?= sqlite:///$(CURDIR)/.data/mlflow.db
WAREHOUSE := .data/warehouse.duckdb

.PHONY: env run test ui demo-data bench clean

env: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH (or make PYTHON=python3)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml

$(WAREHOUSE): | $(STAMP)
	$(BIN)/creditpipe demo-data --applications 50000 --months 36 --seed 42 --warehouse $(WAREHOUSE)

demo-data: $(WAREHOUSE)

run: $(STAMP) $(DAGSTER_HOME)/dagster.yaml $(WAREHOUSE)
	$(BIN)/creditpipe run --config configs/demo.yaml --workdir .data/work
	@echo "Next: open the report above in a browser, or 'make ui' for the Dagster UI (http://127.0.0.1:3000) and the MLflow UI (http://127.0.0.1:5000)."

test: $(STAMP)
	bash .ci/pytest.sh

ui: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	@echo "Dagster UI on http://127.0.0.1:3000, MLflow UI on http://127.0.0.1:5000 (Ctrl-C stops both)"
	trap 'kill 0' EXIT; \
	$(BIN)/mlflow ui --backend-store-uri $(MLFLOW_TRACKING_URI) --host 127.0.0.1 --port 5000 & \
	CREDITPIPE_CONFIG=configs/demo.yaml $(BIN)/dagster dev -h 127.0.0.1 -p 3000  # code location "pipelines" from pyproject.toml

bench: $(STAMP)
	$(BIN)/python benchmarks/generator.py --applications 1000000 --months 24
	$(BIN)/python benchmarks/outcomes.py
	$(BIN)/python benchmarks/contracts.py
	$(BIN)/python benchmarks/score.py
	$(BIN)/python benchmarks/quality.py

clean:
	rm -rf .data
