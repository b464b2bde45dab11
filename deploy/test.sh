#!/usr/bin/env bash
# `make test`: install what is missing, start a throw-away Kafka, FerretDB and Mailpit (instance "test",
# own ports and data, so a running `make run` stack is untouched), run lint, types and every
# test, stop what it started, exit non-zero on any failure.
export ARTICULA_INSTANCE="${ARTICULA_TEST_INSTANCE:-test}"
export KAFKA_PORT="${TEST_KAFKA_PORT:-19092}" KAFKA_CONTROLLER_PORT="${TEST_KAFKA_CONTROLLER_PORT:-19093}"
export FERRETDB_PORT="${TEST_FERRETDB_PORT:-37017}" FERRETDB_DEBUG_PORT="${TEST_FERRETDB_DEBUG_PORT:-18088}"
export MAILPIT_SMTP_PORT="${TEST_MAILPIT_SMTP_PORT:-11025}" MAILPIT_HTTP_PORT="${TEST_MAILPIT_HTTP_PORT:-18025}"
COMPONENT=test
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$ROOT/deploy/python.sh" install
"$ROOT/deploy/kafka.sh" install
"$ROOT/deploy/ferretdb.sh" install
"$ROOT/deploy/mailpit.sh" install

cleanup() {
  "$ROOT/deploy/kafka.sh" stop || true
  "$ROOT/deploy/ferretdb.sh" stop || true
  "$ROOT/deploy/mailpit.sh" stop || true
}
trap cleanup EXIT
cleanup >/dev/null 2>&1
rm -rf "$DATA_DIR"  # every run starts from an empty broker, database and mailbox
"$ROOT/deploy/kafka.sh" start
"$ROOT/deploy/ferretdb.sh" start
"$ROOT/deploy/mailpit.sh" start

export KAFKA_BOOTSTRAP_SERVERS="$ARTICULA_BIND:$KAFKA_PORT"
export MONGODB_URL="mongodb://$ARTICULA_BIND:$FERRETDB_PORT"
export SMTP_URL="smtp://$ARTICULA_BIND:$MAILPIT_SMTP_PORT" MAILPIT_API_URL="http://$ARTICULA_BIND:$MAILPIT_HTTP_PORT"
export ARTICULA_STAFF_KEY="${ARTICULA_STAFF_KEY:-test-staff-key}"
cd "$ROOT"
say "ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check . >/dev/null || { say "ruff failed (run: .venv/bin/ruff format .)"; exit 1; }
say "mypy"; .venv/bin/mypy . || exit 1
say "pytest"
.venv/bin/python -m pytest "${@:--q}"
