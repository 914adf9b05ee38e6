# Every target sets itself up: a fresh clone needs only python3.11 and make.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
SAM_VENV := .tools/sam
PORT ?= 3000
TENANT ?= t_local
ROLE ?= editor
FUNCTION ?=
EVENT ?=

.PHONY: setup serve test lint format typecheck token invoke openapi bench sam-validate sam-build clean migrate-secrets

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-*; touch $@

serve: $(STAMP)
	PORT=$(PORT) $(PY) -m devserver serve

token: $(STAMP)
	@$(PY) -m devserver token --tenant "$(TENANT)" --role "$(ROLE)"

invoke: $(STAMP)
	@test -n "$(FUNCTION)" -a -n "$(EVENT)" || { echo "usage: make invoke FUNCTION=<logical id> EVENT=events/<file>.json" >&2; exit 2; }
	@$(PY) -m devserver invoke "$(FUNCTION)" "$(EVENT)"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: $(STAMP)
	$(VENV)/bin/mypy layers/shared/datasource_registry functions devserver

test: $(STAMP) lint typecheck
	$(PY) -m pytest $(PYTEST_ARGS)

# One-off: move secrets that records written before 0.2 keep inside connection strings to Secrets Manager.
# Needs the functions' environment (TABLE_NAME, SECRET_PREFIX, AWS credentials; AWS_ENDPOINT_URL for a local stack).
migrate-secrets: $(STAMP)
	$(PY) -m datasource_registry.migrate move-secrets

bench: $(STAMP)
	$(PY) -m bench

$(SAM_VENV)/bin/sam:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check 'aws-sam-cli>=1.120,<2'

sam-validate: $(SAM_VENV)/bin/sam
	$(SAM_VENV)/bin/sam validate --lint --region us-east-1

sam-build: $(SAM_VENV)/bin/sam
	$(SAM_VENV)/bin/sam build --region us-east-1

clean:
	rm -rf $(VENV) .aws-sam .mypy_cache .ruff_cache .pytest_cache

openapi: $(STAMP)
	$(PY) -m devserver.openapi
