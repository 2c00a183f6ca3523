# clearsight: the README's commands. `make demo` sets up and runs the main job; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_PROCESSES ?= 3000
DB ?= clearsight.duckdb

.PHONY: demo test setup lint bench-ingest bench-flags bench-ledger bench-screens clean docs

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/.installed

demo: setup
	$(BIN)/clearsight synth procurement --processes $(DEMO_PROCESSES) --seed 42 --out demo/synthetic.jsonl.gz
	$(BIN)/clearsight --db $(DB) ingest ocds demo/synthetic.jsonl.gz --dataset synthetic
	$(BIN)/clearsight --db $(DB) summary
	$(BIN)/clearsight --db $(DB) screens run --dataset synthetic
	$(BIN)/clearsight --db $(DB) network build --dataset synthetic
	$(BIN)/clearsight --db $(DB) flags run --dataset synthetic
	$(BIN)/clearsight --db $(DB) report --dataset synthetic --out demo/report.html

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy src

docs: setup
	$(BIN)/python -m clearsight.model.docs > docs/data-model.md

bench-ingest: setup
	$(BIN)/python benchmarks/ingest.py

bench-flags: setup
	$(BIN)/python benchmarks/flags.py

bench-screens: setup
	$(BIN)/python benchmarks/screens.py

bench-ledger: setup
	$(BIN)/python benchmarks/ledger.py

clean:
	rm -rf $(VENV) demo $(DB) $(DB).wal
