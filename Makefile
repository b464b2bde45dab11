# Articula: the two commands are `make run` and `make test`; everything else is a convenience.
.DEFAULT_GOAL := help
SHELL := /bin/bash

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

run:  ## install what is missing, start infrastructure and the four services; Ctrl-C stops all
	@deploy/stack.sh run

up:  ## the same as run, in the background
	@deploy/stack.sh up

down:  ## stop what `make up` started
	@deploy/stack.sh down

status:  ## what is running
	@deploy/stack.sh status

install:  ## install Python deps, Kafka jars, FerretDB, Mailpit and Prometheus (idempotent)
	@deploy/stack.sh install

test:  ## install, start a throw-away Kafka, FerretDB and Mailpit, lint, type-check and run all tests
	@deploy/test.sh -q

test-unit:  ## unit tests only (no infrastructure)
	@deploy/python.sh install && .venv/bin/python -m pytest -q tests/unit

bench:  ## benchmarks against raw baselines measured in the same run; writes docs/benchmarks.md
	@deploy/bench.sh

lint:  ## ruff and mypy
	@deploy/python.sh install && .venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy .

asyncapi:  ## regenerate docs/asyncapi.yaml from the contracts in shared/events
	@deploy/python.sh install && .venv/bin/python -m shared.events.asyncapi

format:  ## apply ruff's formatting and safe fixes
	@.venv/bin/ruff format . && .venv/bin/ruff check --fix .

clean:  ## stop everything and delete local data and logs (keeps downloaded tools)
	@deploy/stack.sh down || true
	@rm -rf .local/data .local/log .local/run

.PHONY: help run up down status install test test-unit bench lint asyncapi format clean
