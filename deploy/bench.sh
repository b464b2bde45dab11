#!/usr/bin/env bash
# `make bench`: a throw-away stack (instance "bench", own ports and data), the benchmarks
# in bench/, results in docs/benchmarks.md, then everything stopped.
#
# Usage: deploy/bench.sh            the whole run (fresh data, every benchmark, stack stopped)
#        deploy/bench.sh up         only the fresh stack, left running (for quick iterations)
#        deploy/bench.sh run MOD    `python -m bench.MOD` against the running stack (prints it;
#                                   MOD: pipeline, registry, endtoend, skeleton, events,
#                                   metrics or notifier)
#        deploy/bench.sh down       stop it
# Every port can be moved with BENCH_* variables (below) when another stack holds one.
export ARTICULA_INSTANCE=bench
export KAFKA_PORT="${BENCH_KAFKA_PORT:-29092}" KAFKA_CONTROLLER_PORT="${BENCH_KAFKA_CONTROLLER_PORT:-29093}"
export FERRETDB_PORT="${BENCH_FERRETDB_PORT:-47017}" FERRETDB_DEBUG_PORT="${BENCH_FERRETDB_DEBUG_PORT:-28088}"
export PROMETHEUS_PORT="${BENCH_PROMETHEUS_PORT:-29090}"
export MAILPIT_SMTP_PORT="${BENCH_MAILPIT_SMTP_PORT:-21025}" MAILPIT_HTTP_PORT="${BENCH_MAILPIT_HTTP_PORT:-28025}"
export REGISTRY_PORT="${BENCH_REGISTRY_PORT:-18001}" EVENTS_PORT="${BENCH_EVENTS_PORT:-18002}"
export METRICS_PORT="${BENCH_METRICS_PORT:-18003}" NOTIFIER_PORT="${BENCH_NOTIFIER_PORT:-18004}"
export ARTICULA_STAFF_KEY="${ARTICULA_STAFF_KEY:-bench-staff-key}"
COMPONENT=bench
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export KAFKA_BOOTSTRAP_SERVERS="$ARTICULA_BIND:$KAFKA_PORT" MONGODB_URL="mongodb://$ARTICULA_BIND:$FERRETDB_PORT"
export FERRETDB_DEBUG_URL="http://$ARTICULA_BIND:$FERRETDB_DEBUG_PORT"
export SMTP_URL="smtp://$ARTICULA_BIND:$MAILPIT_SMTP_PORT" MAILPIT_API_URL="http://$ARTICULA_BIND:$MAILPIT_HTTP_PORT"

# A port another stack holds would make the benchmark measure (and load) that stack instead.
ports_free() {
  local name port busy=0
  for name in KAFKA_PORT KAFKA_CONTROLLER_PORT FERRETDB_PORT FERRETDB_DEBUG_PORT PROMETHEUS_PORT \
              MAILPIT_SMTP_PORT MAILPIT_HTTP_PORT \
              REGISTRY_PORT EVENTS_PORT METRICS_PORT NOTIFIER_PORT; do
    port=${!name}
    if port_open "$ARTICULA_BIND" "$port"; then say "port $port ($name) is taken; set BENCH_$name"; busy=1; fi
  done
  return $busy
}

fresh_stack() {
  "$ROOT/deploy/stack.sh" down >/dev/null 2>&1 || true
  ports_free || die "another process holds a port of the bench stack"
  rm -rf "$DATA_DIR"
  "$ROOT/deploy/stack.sh" up >/dev/null
}

case "${1:-all}" in
  all)
    trap '"$ROOT/deploy/stack.sh" down >/dev/null 2>&1 || true' EXIT
    fresh_stack
    cd "$ROOT" && .venv/bin/python -m bench
    ;;
  up) fresh_stack; say "bench stack up (registry on $REGISTRY_PORT, FerretDB on $FERRETDB_PORT)" ;;
  run) cd "$ROOT" && .venv/bin/python -m "bench.${2:?usage: deploy/bench.sh run MODULE}" ;;
  down) "$ROOT/deploy/stack.sh" down >/dev/null 2>&1 || true; say "bench stack stopped" ;;
  *) die "usage: $0 [all|up|run MODULE|down]" ;;
esac
