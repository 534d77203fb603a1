# citizenbus: every target sets itself up from nothing (a fresh clone on a fresh machine).
SHELL := /bin/bash
PYTHON ?= python3
TOOLS := .tools
UV_VERSION := 0.13.8
UV := $(TOOLS)/bin/uv
VENV := .venv
RUN := $(UV) run --frozen --no-sync
export UV_PYTHON_DOWNLOADS := never
# One setting names the Python version: .python-version, the Lambda runtime's (infra/cdk reads
# it too). The tests, the dev environment and CI run on that interpreter: pyenv's build when
# there is one (its bare shim refuses without PYENV_VERSION), else one on PATH that is no shim.
PYTHON_VERSION := $(shell cat .python-version)
PYENV_VERSIONS := $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions
LAMBDA_PYTHON := $(firstword $(wildcard $(PYENV_VERSIONS)/$(PYTHON_VERSION).*/bin/python$(PYTHON_VERSION)) \
	$(shell which -a python$(PYTHON_VERSION) 2>/dev/null | grep -v /shims/))
export UV_PYTHON := $(LAMBDA_PYTHON)

.PHONY: help run test lint format typecheck schemas demo clean e2e web synth wiring bench scale capacity soak docs mutate

help:
	@echo "make run     start the local bus on 127.0.0.1:8000, kept in .citizenbus/data (FRESH=1: empty)"
	@echo "make test    install the dev dependencies and run the whole test suite"
	@echo "make lint    ruff (lint + format check), mypy, import layers; both CDK templates: cdk-nag, cfn-lint"
	@echo "make format  ruff format and autofix"
	@echo "make schemas regenerate the JSON Schemas in schemas/json"
	@echo "make demo    a narrated journey on an in-process bus"
	@echo "make e2e     the browser tests (headless chromium, axe-core)"
	@echo "make web     build the web e-service's static files into web/dist/"
	@echo "make synth   the AWS CDK app into infra/cdk/cdk.out (cdk-nag checked), asset sizes"
	@echo "make wiring  regenerate citizenbus/local/wiring.json (the local bus's wiring) from the template"
	@echo "make bench   measure cold start, warm cost, AWS calls, size, price, throughput"
	@echo "make scale   the local bus with 1k, 10k, 100k requests stored (seed, filing, Open311, stats)"
	@echo "make capacity the deadline-day model: every quota's headroom at the peak, the day's bill"
	@echo "make soak    the long reliability runs: 1000 requests under faults, 1000 under load"
	@echo "make docs    the documentation site (docs/, mkdocs build --strict) into site/"
	@echo "make mutate  mutation testing over the trust code (tests/mutation.toml), score per module"

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock .python-version | $(UV)
	@test -n "$(LAMBDA_PYTHON)" || { echo "Python $(PYTHON_VERSION) (the Lambda runtime, .python-version) is needed and was not found: install it (e.g. 'pyenv install $(PYTHON_VERSION)') and run make again." >&2; exit 1; }
	$(UV) sync --frozen --all-groups
	@touch $@

# The local bus keeps what it holds in DATA across restarts (personal data: git-ignored, 0700);
# `make run FRESH=1` starts it empty.
DATA ?= .citizenbus/data
run: $(VENV)/.synced
	$(RUN) citizenbus serve --host 127.0.0.1 --port 8000 --data $(DATA) $(if $(FRESH),--fresh)

demo: $(VENV)/.synced
	$(RUN) citizenbus demo

# One worker per core (pytest-xdist), a test file per worker at a time (module fixtures stay whole).
test: $(VENV)/.synced
	$(RUN) pytest -n auto --dist loadfile

lint: $(VENV)/.synced
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy
	$(RUN) lint-imports
	@# both CDK templates: cdk-nag and cfn-lint (jsii's banner on this Node major's end of life is
	@# silenced by naming the major; make synth shows it)
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=$$(node --version | sed 's/^v//; s/\..*//') \
		$(RUN) python -m infra.cdk.cfn_lint

format: $(VENV)/.synced
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

schemas: $(VENV)/.synced
	$(RUN) python -m schemas.export
	$(RUN) python -m schemas.asyncapi
	$(RUN) python -m schemas.openapi
	$(RUN) python -m schemas.openapi_citizen

synth: $(VENV)/.synced
	$(RUN) python -m infra.cdk.app

# The local bus's wiring (each function's environment, role, event sources; the rules, routes,
# schedules) from the synthesized prod template; committed, so `make run` needs no Node.
wiring: $(VENV)/.synced
	$(RUN) python -m citizenbus.local.wiring

# Writes bench/report.md and bench/report.json, and the summary on docs/performance.md.
bench: $(VENV)/.synced
	$(RUN) python -m bench.run $(BENCH_ARGS)

# Writes bench/scale.md and bench/scale.json (SCALE_ARGS: e.g. --sizes 1000,10000).
scale: $(VENV)/.synced
	$(RUN) python -m bench.scale $(SCALE_ARGS)

# Writes bench/capacity.md and bench/capacity.json from bench/report.json and bench/quotas.json,
# after a bounded peak-minute simulation on the local bus. CAPACITY_ARGS: --region, --filings,
# --peak, --mix app=0.5,..., --quota key=value (the account's own figure), --simulate N (0: none).
capacity: $(VENV)/.synced
	$(RUN) python -m bench.capacity $(CAPACITY_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache mutants

# The browser tests: Debian's chromium (apt, if missing) driven by Playwright, axe-core from npm.
e2e: $(VENV)/.synced
	bash tests/e2e/install.sh
	CITIZENBUS_E2E=1 $(RUN) pytest tests/e2e

# The web e-service as a plain folder of static files (web/dist/) for S3 + CloudFront.
web: $(VENV)/.synced
	$(RUN) python -m web.build

# The long reliability runs (make test runs the same tests with 100 requests each).
soak: $(VENV)/.synced
	CITIZENBUS_FAULT_REQUESTS=1000 CITIZENBUS_LOAD_REQUESTS=1000 CITIZENBUS_LOAD_SECONDS=900 \
		$(RUN) pytest tests/reliability -s -o timeout=3600 -p no:logging

# The documentation site: docs/ with MkDocs Material, strict (a broken link or an unlisted page fails).
docs: $(VENV)/.synced
	$(RUN) mkdocs build --strict --site-dir site

# Mutation testing (mutmut) over the trust code: the modules and their fast tests are the table in
# tests/mutation.toml; prints the score per module and overall, fails under its min_score.
# Not in .ci/run. MUTATE_ARGS: --keep (reuse mutants/), --max-children N, --report.
mutate: $(VENV)/.synced
	$(RUN) python -m tests.support.mutation $(MUTATE_ARGS)
