# The two commands a newcomer needs are `make demo` and `make test` (see README.md).
# Both build the environment in .venv from requirements.lock first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed
BI_VENV := .bi-venv

.PHONY: demo test bench bi lock clean-env system-deps env

$(STAMP): requirements.lock pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@echo "Installing pinned dependencies from requirements.lock into $(VENV) ..."
	@$(VENV)/bin/uv pip install --quiet --python $(VENV)/bin/python -r requirements.lock
	@$(VENV)/bin/uv pip install --quiet --python $(VENV)/bin/python --no-deps -e .
	@touch $(STAMP)

env: $(STAMP)

system-deps:
	@scripts/system-deps.sh

demo: $(STAMP)
	$(VENV)/bin/cop demo

test: $(STAMP) system-deps
	$(VENV)/bin/python -m pytest -n 2 --dist loadgroup

bench: $(STAMP)
	$(VENV)/bin/cop-bench

# Apache Superset on this COP_HOME's warehouse as the read-only bi_reader, every mart a dataset
# (deploy/superset/bi.sh), in its own virtualenv: never in the pinned project environment.
bi: $(STAMP)
	@test -x $(BI_VENV)/bin/python || $(PYTHON) -m venv $(BI_VENV)
	@$(BI_VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@$(BI_VENV)/bin/uv pip install --quiet --python $(BI_VENV)/bin/python -r deploy/superset/requirements.txt
	BI_VENV=$(CURDIR)/$(BI_VENV) deploy/superset/bi.sh

lock:
	uv pip compile pyproject.toml --extra test --python-version 3.11 --no-header --annotation-style line -o requirements.lock
	uv pip compile pyproject.toml --extra production -c requirements.lock --python-version 3.11 --no-header --annotation-style line -o requirements-image.lock

clean-env:
	rm -rf $(VENV)
