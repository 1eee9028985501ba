# The two commands the README starts with: `make run` and `make test`.

VENV := .venv
BIN := $(VENV)/bin
# Installs are redone when the project's dependencies change.
DEPS := $(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
RUNTIME := $(VENV)/.installed-run-$(DEPS)
TESTING := $(VENV)/.installed-test-$(DEPS)
BENCHING := $(VENV)/.installed-bench-$(DEPS)
# `make run` needs every service and the mail sink, not the test tools.
RUN_EXTRAS := gateway,postgres,email,files,notify,analytics,dev
# uv installs the same packages as pip, from the same index, three times as fast
# (downloads in parallel); it is installed into the venv first, by pip. Like pip,
# it compiles the bytecode at install: otherwise every process started at once
# (the system, the tests) compiles the same modules itself, at first import.
PIP := $(BIN)/uv pip install --python $(BIN)/python --compile-bytecode -c constraints.txt
# Tests run side by side in this many processes (0: all in one); most of
# the suite waits on brokers and child processes rather than computing.
# The slowest layers are handed out first, and the fault tests go to one
# worker, one after another (see tests/conftest.py).
TEST_WORKERS ?= 4

.PHONY: run test bench clean

$(BIN)/python:
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --progress-bar on "uv>=0.9,<1"

$(RUNTIME): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e ".[$(RUN_EXTRAS)]"
	rm -f $(VENV)/.installed-run-* && touch $@

$(TESTING): $(RUNTIME)
	$(PIP) -e ".[test]"
	rm -f $(VENV)/.installed-test-* && touch $@

# The benchmark's peers (taskiq, celery, faststream) come with the `bench` extra.
$(BENCHING): $(TESTING)
	$(PIP) -e ".[test,bench]"
	rm -f $(VENV)/.installed-bench-* && touch $@

## Start the whole system: gateway on :8000, every service, and a mail sink writing to ./var/mail.
## Each process logs in as its role's broker user (devtools/broker_users.py creates them).
run: $(RUNTIME)
	mkdir -p var
	. devtools/broker-env.sh && $(BIN)/python -m devtools.broker_users create \
		&& eval "$$($(BIN)/python -m devtools.broker_users env)" \
		&& LOG_FORMAT=console PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

## Run the whole test suite against a real broker (and PostgreSQL, when there is one).
test: $(TESTING)
	. devtools/broker-env.sh && . devtools/postgres-env.sh && $(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

## Measure throughput and latency, next to Taskiq, Celery and FastStream (see bench/README.md).
bench: $(BENCHING)
	. devtools/broker-env.sh && $(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache
