#!/usr/bin/env bash
# The whole local system: infrastructure (Kafka, FerretDB, Mailpit, Prometheus) and the four services.
# Usage: deploy/stack.sh install | infra-up | infra-down | up | down | run | status | restart <service>
COMPONENT=articula
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SERVICES=(registry events metrics notifier)
INFRA=(kafka ferretdb mailpit prometheus)
declare -A SERVICE_PORTS=([registry]=$REGISTRY_PORT [events]=$EVENTS_PORT [metrics]=$METRICS_PORT [notifier]=$NOTIFIER_PORT)

install() {
  "$ROOT/deploy/python.sh" install
  for c in "${INFRA[@]}"; do "$ROOT/deploy/$c.sh" install; done
}

infra_up() { for c in "${INFRA[@]}"; do "$ROOT/deploy/$c.sh" start; done; }
infra_down() {
  for ((i = ${#INFRA[@]} - 1; i >= 0; i--)); do "$ROOT/deploy/${INFRA[$i]}.sh" stop; done
}

# Local runs need a staff key; keep one per checkout unless the caller set ARTICULA_STAFF_KEY.
staff_key() {
  if [[ -z "${ARTICULA_STAFF_KEY:-}" ]]; then
    [[ -f "$ARTICULA_HOME/staff-key" ]] || (umask 077; head -c 24 /dev/urandom | base64 | tr '+/' '-_' > "$ARTICULA_HOME/staff-key")
    ARTICULA_STAFF_KEY=$(cat "$ARTICULA_HOME/staff-key")
  fi
  export ARTICULA_STAFF_KEY
}

start_service() {
  local s=$1
  staff_key
  export KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:-$ARTICULA_BIND:$KAFKA_PORT}"
  export MONGODB_URL="${MONGODB_URL:-mongodb://$ARTICULA_BIND:$FERRETDB_PORT}"
  export SMTP_URL="${SMTP_URL:-smtp://$ARTICULA_BIND:$MAILPIT_SMTP_PORT}"
  # Local runs' webhook receivers listen on 127.0.0.1 (a deployment leaves this false).
  export NOTIFIER_WEBHOOK_ALLOW_PRIVATE="${NOTIFIER_WEBHOOK_ALLOW_PRIVATE:-true}"
  COMPONENT=$s start_daemon "$s" env "${s^^}_HOST=$ARTICULA_BIND" "${s^^}_PORT=${SERVICE_PORTS[$s]}" \
    "$ROOT/.venv/bin/python" -m "services.$s"
}

services_up() {
  local s
  for s in "${SERVICES[@]}"; do start_service "$s"; done
  for s in "${SERVICES[@]}"; do wait_ready "$s" "${SERVICE_PORTS[$s]}"; done
}

# One service, stopped and started again (the bench uses it after loading data behind its back).
restart_service() {
  local s=${1:?usage: stack.sh restart <service>}
  [[ -n "${SERVICE_PORTS[$s]:-}" ]] || die "unknown service: $s"
  COMPONENT=$s stop_daemon "$s" 15
  start_service "$s"
  wait_ready "$s" "${SERVICE_PORTS[$s]}"
}

# Ready means database and Kafka answer and, for the registry, its catalogue of organisations
# is loaded (under three minutes for 100,000 organisations on FerretDB), hence the long default.
wait_ready() {
  local name=$1 port=$2 i seconds=${ARTICULA_READY_SECONDS:-600}
  for ((i = 0; i < seconds * 5; i++)); do
    if "$ROOT/.venv/bin/python" - "$ARTICULA_BIND" "$port" <<'PY' 2>/dev/null; then return 0; fi
import sys, urllib.request
urllib.request.urlopen(f"http://{sys.argv[1]}:{sys.argv[2]}/readyz", timeout=2)
PY
    is_running "$name" || { say "$name exited; last lines of $LOG_DIR/$name.log:"; tail -n 30 "$LOG_DIR/$name.log"; return 1; }
    sleep 0.2
  done
  say "$name not ready after ${seconds}s; see $LOG_DIR/$name.log"; return 1
}

services_down() {
  local s
  for s in "${SERVICES[@]}"; do COMPONENT=$s stop_daemon "$s" 15; done
}

where() {
  cat <<INFO

  Articula is running (staff key: $ARTICULA_STAFF_KEY, also in $ARTICULA_HOME/staff-key)
    registry    http://$ARTICULA_BIND:$REGISTRY_PORT/docs
    events      http://$ARTICULA_BIND:$EVENTS_PORT/docs
    metrics     http://$ARTICULA_BIND:$METRICS_PORT/docs
    notifier    http://$ARTICULA_BIND:$NOTIFIER_PORT/docs
    prometheus  http://$ARTICULA_BIND:$PROMETHEUS_PORT/targets
    kafka       $ARTICULA_BIND:$KAFKA_PORT     mongodb (FerretDB)  mongodb://$ARTICULA_BIND:$FERRETDB_PORT
    mail        smtp://$ARTICULA_BIND:$MAILPIT_SMTP_PORT   Mailpit API http://$ARTICULA_BIND:$MAILPIT_HTTP_PORT/api/v1/messages
    logs        $LOG_DIR/

INFO
}

run_foreground() {
  install
  infra_up
  trap 'trap - INT TERM EXIT; echo; say "stopping"; services_down; infra_down; exit 0' INT TERM EXIT
  services_up
  where
  say "following the service logs; Ctrl-C stops everything"
  tail -q -n 0 -F $(printf "$LOG_DIR/%s.log " "${SERVICES[@]}") --pid=$$ 2>/dev/null &
  local s
  while true; do
    for s in "${SERVICES[@]}"; do
      is_running "$s" || say "$s exited unexpectedly; see $LOG_DIR/$s.log"
    done
    sleep 5 & wait $!
  done
}

status() {
  local c s rc=0
  for c in "${INFRA[@]}"; do "$ROOT/deploy/$c.sh" status || rc=1; done
  for s in "${SERVICES[@]}"; do COMPONENT=$s status_daemon "$s" "$ARTICULA_BIND" "${SERVICE_PORTS[$s]}" || rc=1; done
  return $rc
}

case "${1:-status}" in
  install) install ;;
  infra-up) install; infra_up ;;
  infra-down) infra_down ;;
  up) install; infra_up; services_up; where ;;
  down) services_down; infra_down ;;
  run) run_foreground ;;
  status) status ;;
  restart) restart_service "${2:-}" ;;
  *) die "usage: $0 install|infra-up|infra-down|up|down|run|status|restart <service>" ;;
esac
