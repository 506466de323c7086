# Developer shortcuts. `make test` is the CI run; the long reliability soak is opt-in.
PYTHON ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,python)

.PHONY: test reliability reliability-long

test:
	./scripts/test

# Fault-injection, outage and short load tests (part of the default run too).
reliability:
	$(PYTHON) -m pytest -q tests/reliability

# 64 clients for 60 s on PostgreSQL + Redis, plus the slow e2e durability tests (SIGKILL under load).
reliability-long:
	TOKENYARD_LONG_TESTS=1 $(PYTHON) -m pytest -q -s -m slow tests/reliability tests/e2e/test_usage_durability.py
