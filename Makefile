# The two commands of the README: `make run` and `make test`. Both set up
# everything they need first (virtualenvs, the Rasa model, system packages
# for the tests) and redo a step only when its inputs changed.

PYTHON ?= python3
VENV := .venv
RASA_VENV := .venv-rasa
MODEL := models/current.tar.gz
TRAINING_DATA := $(wildcard nlu/*.yml stories/*.yml) domain.yml config.yml rasa_channel/sentence_embeddings.py
PYTEST_ARGS ?=

export RASA_TELEMETRY_ENABLED := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test test-fast train lint eval bench demo setup system-packages clean

## run: serve the web chat at http://127.0.0.1:8080/ with a local Rasa server
run: setup
	$(VENV)/bin/python -m bot

## test: ruff and mypy, then the whole suite, Rasa, browser and PostgreSQL tests included
test: setup system-packages lint
	$(VENV)/bin/pytest $(PYTEST_ARGS)

## test-fast: only the tests that need no Rasa server, browser or PostgreSQL
test-fast: $(VENV)/.installed
	$(VENV)/bin/pytest -m "not integration and not browser and not postgres and not redis" $(PYTEST_ARGS)

## train: retrain the Rasa model (only when nlu/, stories/, domain.yml or config.yml changed)
train: $(MODEL)

## lint: ruff and mypy
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check bot handlers tests benchmarks tools
	$(VENV)/bin/ruff format --check bot handlers tests benchmarks tools
	$(VENV)/bin/mypy

## eval: NLU accuracy and macro-F1 per language (held-out sets and cross-validation)
eval: setup
	$(VENV)/bin/python tools/eval_nlu.py

## bench: many prospects at once through the app (1 and 2 Rasa workers) next to bare Rasa
bench: setup
	PYTHONPATH=$(CURDIR) $(VENV)/bin/python benchmarks/capacity.py $(BENCH_ARGS)

## demo: fill a fresh database with ~300 simulated prospects through the real chat (~5 min)
demo: setup
	PYTHONPATH=$(CURDIR) $(VENV)/bin/python tools/demo.py

setup: $(VENV)/.installed $(MODEL)

$(VENV)/.installed: pyproject.toml
	@echo "==> app environment in $(VENV)"
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade 'pip>=24'
	$(VENV)/bin/pip install --quiet -e '.[test]'
	@touch $@

$(RASA_VENV)/.installed: requirements-rasa.txt
	@echo "==> Rasa 3.6 environment in $(RASA_VENV) (about 2 minutes the first time)"
	@test -x $(RASA_VENV)/bin/python || $(PYTHON) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install --quiet --upgrade 'pip>=24'
	$(RASA_VENV)/bin/pip install --quiet --no-deps --ignore-requires-python -r requirements-rasa.txt
	$(RASA_VENV)/bin/pip install --quiet 'setuptools>=70.3,<70.4'
	@touch $@

$(MODEL): $(RASA_VENV)/.installed $(TRAINING_DATA)
	@echo "==> training the Rasa model (about 10 minutes on two cores)"
	PYTHONPATH=$(CURDIR) $(RASA_VENV)/bin/rasa train --data nlu stories --domain domain.yml --config config.yml \
		--out models --fixed-model-name current
	@touch $@

## system-packages: Debian's chromium, PostgreSQL and Redis for the browser, database and replica tests
system-packages:
	@missing=""; command -v chromium >/dev/null || missing="chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then echo "==> installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

clean:
	rm -rf $(VENV) $(RASA_VENV) models .rasa var .pytest_cache .mypy_cache .ruff_cache
