# clearsight: the README's commands. `make demo` sets up and runs the main job; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_PROCESSES ?= 3000
DEMO_PEOPLE ?= 20000
REGISTRIES := civil payroll beneficiaries voters companies
DB ?= clearsight.duckdb
PORT ?= 8000

.PHONY: demo test setup setup-test lint bench-cardinal bench-ingest bench-flags bench-ledger bench-screens bench-linkage bench-web bench-spark bench-startup clean docs

# `make demo` installs the package alone; the tests and benchmarks add their tools (the `test` extra) on top.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(BIN)/.installed-test: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/.installed

setup-test: $(BIN)/.installed-test

demo: setup
	$(BIN)/clearsight synth procurement --processes $(DEMO_PROCESSES) --seed 42 --out demo/synthetic.jsonl.gz
	$(BIN)/clearsight --db $(DB) ingest ocds demo/synthetic.jsonl.gz --dataset synthetic
	$(BIN)/clearsight --db $(DB) summary
	$(BIN)/clearsight --db $(DB) screens run --dataset synthetic
	$(BIN)/clearsight --db $(DB) network build --dataset synthetic
	$(BIN)/clearsight --db $(DB) flags run --dataset synthetic
	$(BIN)/clearsight --db $(DB) report --dataset synthetic --out demo/report.html
	$(BIN)/clearsight synth registries --people $(DEMO_PEOPLE) --seed 7 --out demo/registries
	for kind in $(REGISTRIES); do \
	  $(BIN)/clearsight --db $(DB) ingest registry $$kind demo/registries/$$kind.csv \
	    --mapping demo/registries/$$kind.yaml --dataset registries || exit 1; \
	done
	$(BIN)/clearsight --db $(DB) link registries --dataset registries
	$(BIN)/clearsight --db $(DB) flags run --dataset registries --only L001,L002,L003,L004,L005,L006,L007,L008,L009,L010
	$(BIN)/clearsight --db $(DB) serve --port $(PORT) --demo-users

test: setup-test
	$(BIN)/python -m pytest

lint: setup-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy src

docs: setup-test
	$(BIN)/python -m clearsight.model.docs > docs/data-model.md

bench-cardinal: setup-test
	$(BIN)/python benchmarks/cardinal.py

bench-ingest: setup-test
	$(BIN)/python benchmarks/ingest.py

bench-flags: setup-test
	$(BIN)/python benchmarks/flags.py

bench-screens: setup-test
	$(BIN)/python benchmarks/screens.py

bench-linkage: setup-test
	$(BIN)/python benchmarks/linkage.py

bench-web: setup-test
	$(BIN)/python benchmarks/web.py

bench-spark: setup-test
	$(BIN)/python benchmarks/spark.py

bench-startup: setup-test
	$(BIN)/python benchmarks/startup.py

bench-ledger: setup-test
	$(BIN)/python benchmarks/ledger.py

clean:
	rm -rf $(VENV) demo $(DB) $(DB).wal clearsight-app.sqlite* clearsight-web.secret
