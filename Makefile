# The two commands of the quick start: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# What the test fixtures start for real (tests/servers/).
DEBIAN_PACKAGES := dovecot-imapd dovecot-pop3d dovecot-lmtpd dovecot-submissiond dovecot-sieve \
	dovecot-managesieved dovecot-sqlite dovecot-pgsql postfix postfix-sqlite postfix-pgsql \
	dnsmasq-base sqlite3 chromium

.PHONY: run test lint bench system-packages clean

# Some environments set PYTHONDONTWRITEBYTECODE: then every `mailyard` the tests start compiles the whole
# package again (a second per start). Byte-compiled files go to __pycache__/, which git ignores.
unexport PYTHONDONTWRITEBYTECODE

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/mailyard serve

test: $(STAMP) system-packages
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest

bench: $(STAMP)
	@scripts/ensure-debian-packages wrk $(DEBIAN_PACKAGES)
	$(BIN)/python -m bench.accounts_api
	$(BIN)/python -m bench.engine

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

system-packages:
	@scripts/ensure-debian-packages $(DEBIAN_PACKAGES)

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
