# The README's commands. `make demo` runs the monitor on sample data; `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test fuzz lint config-example clean

$(BIN)/account-health: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed: set PYTHON=/path/to/python3.11"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

demo: $(BIN)/account-health
	$(BIN)/account-health demo

test: $(BIN)/account-health
	$(BIN)/ruff check monitor tests migrations benchmarks
	$(BIN)/ruff format --check monitor tests migrations benchmarks
	$(BIN)/mypy
	$(BIN)/pytest

# the long fuzz run of the importer: N inputs (the quick one is part of `make test`)
N ?= 10000
fuzz: $(BIN)/account-health
	$(BIN)/python -m tests.fuzz.run $(N)

config-example: $(BIN)/account-health
	$(BIN)/python -c "from monitor.config import example_env; print(example_env(), end='')" > config.example.env
	$(BIN)/python -c "from monitor.config import readme_with_table as t; import pathlib; p = pathlib.Path('README.md'); p.write_text(t(p.read_text()))"

clean:
	rm -rf $(VENV) data demo reports inbox .pytest_cache
