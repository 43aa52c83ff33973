# Two commands set everything up on a fresh machine:
#   make report   virtual environment + project + Quarto (PyPI's quarto-cli, if none on PATH), then render HTML and PDF
#                 (Quarto's pre-render step, the freeze guard, re-executes only documents whose runs or code changed)
#   make test     virtual environment + project, then the test suite
#   make freeze   which documents' frozen outputs are fresh, stale or missing (standard library only)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: report test setup lint clean freeze

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

report: setup
	QUARTO="$$(scripts/ensure-quarto $(abspath $(PY)))" && HW3_NO_TRAIN=1 HW3_NO_DATA=1 QUARTO_PYTHON="$(abspath $(PY))" "$$QUARTO" render
	@echo "HTML: _book/index.html   PDF: _book/Deep-Learning-Assignment-3.pdf"

test: setup
	$(PY) -m pytest

freeze:
	$(PYTHON) code/hw3/freeze.py

lint: setup
	$(VENV)/bin/ruff check code tests benchmarks

clean:
	rm -rf _book .quarto
