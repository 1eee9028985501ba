# The two commands the README starts with: `make run` and `make test`.

VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)

.PHONY: run test bench clean

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	rm -f $(VENV)/.installed-* && touch $@

## Start the whole system: gateway on :8000, every service, and a mail sink writing to ./var/mail.
## Each process logs in as its role's broker user (devtools/broker_users.py creates them).
run: $(INSTALLED)
	mkdir -p var
	. devtools/broker-env.sh && $(BIN)/python -m devtools.broker_users create \
		&& eval "$$($(BIN)/python -m devtools.broker_users env)" \
		&& LOG_FORMAT=console PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

## Run the whole test suite against a real broker.
test: $(INSTALLED)
	. devtools/broker-env.sh && $(BIN)/pytest $(PYTEST_ARGS)

## Measure throughput and latency (see bench/README.md).
bench: $(INSTALLED)
	. devtools/broker-env.sh && $(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache
