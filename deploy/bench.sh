#!/usr/bin/env bash
# `make bench`: a throw-away stack (instance "bench", own ports and data), the benchmarks
# in bench/, results in docs/benchmarks.md, then everything stopped.
export ARTICULA_INSTANCE=bench
export KAFKA_PORT="${BENCH_KAFKA_PORT:-29092}" KAFKA_CONTROLLER_PORT="${BENCH_KAFKA_CONTROLLER_PORT:-29093}"
export FERRETDB_PORT="${BENCH_FERRETDB_PORT:-47017}" FERRETDB_DEBUG_PORT="${BENCH_FERRETDB_DEBUG_PORT:-28088}"
export PROMETHEUS_PORT="${BENCH_PROMETHEUS_PORT:-29090}"
export REGISTRY_PORT=18001 EVENTS_PORT=18002 METRICS_PORT=18003 NOTIFIER_PORT=18004
export ARTICULA_STAFF_KEY="${ARTICULA_STAFF_KEY:-bench-staff-key}"
COMPONENT=bench
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

trap '"$ROOT/deploy/stack.sh" down >/dev/null 2>&1 || true' EXIT
"$ROOT/deploy/stack.sh" down >/dev/null 2>&1 || true
rm -rf "$DATA_DIR"
"$ROOT/deploy/stack.sh" up >/dev/null
export KAFKA_BOOTSTRAP_SERVERS="$ARTICULA_BIND:$KAFKA_PORT" MONGODB_URL="mongodb://$ARTICULA_BIND:$FERRETDB_PORT"
cd "$ROOT" && .venv/bin/python -m bench
