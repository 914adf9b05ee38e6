# Every target sets itself up: a fresh clone needs only python3.11 and make.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements-dev.lock | sha1sum | cut -c1-12)
SAM_VENV := .tools/sam
UV_VENV := .tools/uv
OPENAPI_CLIENT_VENV := .tools/openapi-client
# What the python3.11 Lambda runtime provides: no layer ships these (the lock leaves them out, the check verifies).
RUNTIME_PACKAGES := boto3 botocore s3transfer jmespath urllib3 python-dateutil six
PORT ?= 3000
TENANT ?= t_local
ROLE ?= editor
FUNCTION ?=
EVENT ?=

.PHONY: setup serve serve-built check test lint format typecheck token invoke openapi bench sam-validate sam-build \
	artifact-check lambda-runtime lock clean migrate-secrets migrate-names openapi-client

setup: $(STAMP)

# Exactly what requirements-dev.lock says (hashes checked), then the project itself, editable, without build isolation.
$(STAMP): pyproject.toml requirements-dev.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PIP) install --quiet --require-hashes -r requirements-dev.lock
	@$(PIP) install --quiet --no-deps --no-build-isolation -e .
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

# The pure tier: ruff, then every test that needs no server, with the network blocked (README "Testing").
check: $(STAMP) lint
	$(PY) -m pytest -m "not server" $(PYTEST_ARGS)

# Everything: ruff, mypy and both tiers (what CI runs) on pytest-xdist workers; tests/conftest.py says what each
# worker gets (a whole module at a time, the longest first; the fuzz tests one by one at the end).
TEST_WORKERS ?= 2
test: $(STAMP) lint typecheck $(OPENAPI_CLIENT_VENV)/bin/openapi-python-client
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder $(PYTEST_ARGS)

# One-off: move secrets that records written before 0.2 keep inside connection strings to Secrets Manager.
# Needs the functions' environment (TABLE_NAME, SECRET_PREFIX, AWS credentials; AWS_ENDPOINT_URL for a local stack).
migrate-secrets: $(STAMP)
	$(PY) -m datasource_registry.migrate move-secrets

# One-off: rewrite name markers written before names were unique under NFKC + casefold (same environment).
migrate-names: $(STAMP)
	$(PY) -m datasource_registry.migrate normalize-names

bench: $(STAMP)
	$(PY) -m bench

$(SAM_VENV)/bin/sam: tools/sam.lock
	@test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r tools/sam.lock
	@touch $@

sam-validate: $(SAM_VENV)/bin/sam
	$(SAM_VENV)/bin/sam validate --lint --region us-east-1

sam-build: $(SAM_VENV)/bin/sam
	$(SAM_VENV)/bin/sam build --region us-east-1

# openapi-python-client in its own tool venv: the generated-SDK test builds a client from openapi.json with it.
$(OPENAPI_CLIENT_VENV)/bin/openapi-python-client: tools/openapi-client.lock
	@test -x $(OPENAPI_CLIENT_VENV)/bin/python || $(PYTHON) -m venv $(OPENAPI_CLIENT_VENV)
	$(OPENAPI_CLIENT_VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
		-r tools/openapi-client.lock
	@touch $@

openapi-client: $(OPENAPI_CLIENT_VENV)/bin/openapi-python-client

# boto3 as the Lambda runtime provides it, beside the built layers (the built-artifact check's "runtime" dir).
LAMBDA_RUNTIME := .aws-sam/lambda-runtime
$(LAMBDA_RUNTIME)/.installed: tools/lambda-runtime.lock
	@rm -rf $(LAMBDA_RUNTIME)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps --no-compile \
		--platform manylinux2014_x86_64 --implementation cp --python-version 3.11 --only-binary=:all: \
		--target $(LAMBDA_RUNTIME) -r tools/lambda-runtime.lock
	$(PYTHON) -m compileall -q -j 0 --invalidation-mode unchecked-hash $(LAMBDA_RUNTIME)
	@touch $@

lambda-runtime: $(LAMBDA_RUNTIME)/.installed

# Every built function imported and invoked with its events/*.json under the Lambda-like interpreter (README).
artifact-check: $(STAMP) lambda-runtime
	@test -d .aws-sam/build || { echo "run make sam-build first" >&2; exit 2; }
	$(PY) -m devserver.artifacts check

# make serve, but every function runs from .aws-sam/build in its own Lambda-like worker process.
serve-built: $(STAMP) lambda-runtime
	@test -d .aws-sam/build || { echo "run make sam-build first" >&2; exit 2; }
	DS_BUILT=.aws-sam/build PORT=$(PORT) $(PY) -m devserver serve

# Refresh every lock from its inputs (pyproject.toml, layers/*/requirements.txt, tools/*.txt); commit the result.
# The layers resolve for Lambda's platform (manylinux2014, cp311) within the dev lock's versions, so what is
# tested is what deploys, and leave out what the runtime provides.
UV := $(UV_VENV)/bin/uv
LOCK := $(UV) pip compile --quiet --generate-hashes --python-version 3.11 --custom-compile-command 'make lock'
NO_RUNTIME := $(foreach p,$(RUNTIME_PACKAGES),--no-emit-package $(p))

$(UV): tools/uv.lock
	@test -x $(UV_VENV)/bin/python || $(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes -r tools/uv.lock
	@touch $@

lock: $(UV)
	$(LOCK) --python-platform x86_64-manylinux_2_28 --extra dev pyproject.toml tools/dev-build.txt -o requirements-dev.lock
	$(LOCK) --python-platform x86_64-manylinux2014 -c requirements-dev.lock $(NO_RUNTIME) \
		layers/shared/requirements.txt -o layers/shared/requirements.lock
	for family in sql files kv-http nosql lake lake-hudi; do \
		$(LOCK) --python-platform x86_64-manylinux2014 -c requirements-dev.lock $(NO_RUNTIME) \
			$$(sed -n 's/^\([A-Za-z0-9._-]*\)==.*/--no-emit-package \1/p' layers/shared/requirements.lock) \
			layers/runner-$$family/requirements.txt -o layers/runner-$$family/requirements.lock || exit 1; \
	done
	$(LOCK) --python-platform x86_64-manylinux2014 -c requirements-dev.lock tools/lambda-runtime.txt \
		-o tools/lambda-runtime.lock
	$(LOCK) --python-platform x86_64-manylinux_2_28 tools/sam.txt -o tools/sam.lock
	$(LOCK) --python-platform x86_64-manylinux_2_28 tools/openapi-client.txt -o tools/openapi-client.lock
	$(LOCK) --python-platform x86_64-manylinux_2_28 tools/uv.txt -o tools/uv.lock

clean:
	rm -rf $(VENV) .aws-sam .mypy_cache .ruff_cache .pytest_cache

openapi: $(STAMP)
	$(PY) -m devserver.openapi
