# Common helpers for the local infrastructure scripts. Sourced, never run.
# Everything lives under $ARTICULA_HOME (default: <repo>/.local, git-ignored) and
# listens on $ARTICULA_BIND (default 127.0.0.1). Every port and folder can be
# overridden from the environment. $ARTICULA_INSTANCE (default "dev") keeps pid files,
# logs and data of separate stacks apart: `make test` runs instance "test" on other ports,
# so it never touches the stack of `make run`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ARTICULA_HOME="${ARTICULA_HOME:-$ROOT/.local}"
ARTICULA_BIND="${ARTICULA_BIND:-127.0.0.1}"
ARTICULA_INSTANCE="${ARTICULA_INSTANCE:-dev}"
RUN_DIR="$ARTICULA_HOME/run/$ARTICULA_INSTANCE"
LOG_DIR="$ARTICULA_HOME/log/$ARTICULA_INSTANCE"
DATA_DIR="${ARTICULA_DATA_DIR:-$ARTICULA_HOME/data/$ARTICULA_INSTANCE}"
BIN_DIR="$ARTICULA_HOME/bin"
mkdir -p "$RUN_DIR" "$LOG_DIR" "$DATA_DIR" "$BIN_DIR"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
FERRETDB_PORT="${FERRETDB_PORT:-27017}"
FERRETDB_DEBUG_PORT="${FERRETDB_DEBUG_PORT:-8088}"
PROMETHEUS_PORT="${PROMETHEUS_PORT:-9090}"
MAILPIT_SMTP_PORT="${MAILPIT_SMTP_PORT:-1025}"
MAILPIT_HTTP_PORT="${MAILPIT_HTTP_PORT:-8025}"
REGISTRY_PORT="${REGISTRY_PORT:-8001}"
EVENTS_PORT="${EVENTS_PORT:-8002}"
METRICS_PORT="${METRICS_PORT:-8003}"
NOTIFIER_PORT="${NOTIFIER_PORT:-8004}"

say() { printf '\033[1m[%s]\033[0m %s\n' "${COMPONENT:-articula}" "$*"; }
die() { say "ERROR: $*" >&2; exit 1; }

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_port HOST PORT SECONDS NAME: wait until the port accepts connections.
wait_port() {
  local host=$1 port=$2 limit=$3 name=$4 i
  for ((i = 0; i < limit * 5; i++)); do
    port_open "$host" "$port" && return 0
    if [[ -f "$RUN_DIR/$name.pid" ]] && ! kill -0 "$(cat "$RUN_DIR/$name.pid")" 2>/dev/null; then
      say "$name exited during start-up; last lines of $LOG_DIR/$name.log:"
      tail -n 30 "$LOG_DIR/$name.log" >&2 || true
      return 1
    fi
    sleep 0.2
  done
  say "$name did not open $host:$port within ${limit}s; see $LOG_DIR/$name.log"
  return 1
}

is_running() {
  local pidfile="$RUN_DIR/$1.pid"
  [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

# start_daemon NAME COMMAND...: start COMMAND in its own session, log to $LOG_DIR/NAME.log.
start_daemon() {
  local name=$1; shift
  if is_running "$name"; then say "$name already running (pid $(cat "$RUN_DIR/$name.pid"))"; return 0; fi
  setsid "$@" >>"$LOG_DIR/$name.log" 2>&1 < /dev/null &
  echo $! > "$RUN_DIR/$name.pid"
}

# stop_daemon NAME [SECONDS]: SIGTERM the process group, SIGKILL after SECONDS.
stop_daemon() {
  local name=$1 limit=${2:-20} pid i
  if ! is_running "$name"; then rm -f "$RUN_DIR/$name.pid"; say "$name not running"; return 0; fi
  pid=$(cat "$RUN_DIR/$name.pid")
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < limit * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "$name did not stop in ${limit}s; killing"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$RUN_DIR/$name.pid"
  say "$name stopped"
}

status_daemon() {
  local name=$1 host=$2 port=$3
  if is_running "$name"; then
    if port_open "$host" "$port"; then say "$name up on $host:$port (pid $(cat "$RUN_DIR/$name.pid"))"
    else say "$name running (pid $(cat "$RUN_DIR/$name.pid")) but $host:$port not answering"; fi
  elif port_open "$host" "$port"; then say "$name: $host:$port answers, but not started by these scripts"
  else say "$name stopped"; return 1; fi
}

# dispatch "$@": the standard install/start/stop/status/restart entry point of a component script.
dispatch() {
  local cmd=${1:-status}
  case "$cmd" in
    install) do_install ;;
    start) do_install; do_start ;;
    stop) do_stop ;;
    restart) do_stop; do_start ;;
    status) do_status ;;
    *) die "usage: $0 install|start|stop|restart|status" ;;
  esac
}
