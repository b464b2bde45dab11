#!/usr/bin/env bash
# Prometheus from Debian's package, scraping the four services and FerretDB.
# Usage: deploy/prometheus.sh install|start|stop|restart|status
COMPONENT=prometheus
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROMETHEUS_DATA="$DATA_DIR/prometheus"
PROMETHEUS_CONF="$ARTICULA_HOME/config/$ARTICULA_INSTANCE/prometheus"

do_install() {
  command -v prometheus >/dev/null && return 0
  say "installing Debian's prometheus package"
  local sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends prometheus >/dev/null
  # The package may start a system-wide instance on :9090; ours runs with the project's config.
  if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
    $sudo systemctl disable --now prometheus || true
  fi
}

do_start() {
  mkdir -p "$PROMETHEUS_DATA" "$PROMETHEUS_CONF"
  sed -e "s/@BIND@/$ARTICULA_BIND/g" -e "s/@PROMETHEUS_PORT@/$PROMETHEUS_PORT/g" \
      -e "s/@REGISTRY_PORT@/$REGISTRY_PORT/g" -e "s/@EVENTS_PORT@/$EVENTS_PORT/g" \
      -e "s/@METRICS_PORT@/$METRICS_PORT/g" -e "s/@NOTIFIER_PORT@/$NOTIFIER_PORT/g" \
      -e "s/@FERRETDB_DEBUG_PORT@/$FERRETDB_DEBUG_PORT/g" \
      "$ROOT/deploy/prometheus/prometheus.yml.in" > "$PROMETHEUS_CONF/prometheus.yml"
  cp "$ROOT/deploy/prometheus/rules.yml" "$PROMETHEUS_CONF/rules.yml"
  start_daemon prometheus prometheus --config.file="$PROMETHEUS_CONF/prometheus.yml" \
    --storage.tsdb.path="$PROMETHEUS_DATA" --storage.tsdb.retention.time=7d \
    --web.listen-address="$ARTICULA_BIND:$PROMETHEUS_PORT" --log.level=warn
  wait_port "$ARTICULA_BIND" "$PROMETHEUS_PORT" 30 prometheus
  say "up on http://$ARTICULA_BIND:$PROMETHEUS_PORT (targets: /targets)"
}

do_stop() { stop_daemon prometheus 20; }
do_status() { status_daemon prometheus "$ARTICULA_BIND" "$PROMETHEUS_PORT"; }

dispatch "$@"
