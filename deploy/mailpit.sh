#!/usr/bin/env bash
# Mailpit (a local SMTP server that keeps every message it receives, with an HTTP API),
# built with go install. SMTP on $MAILPIT_SMTP_PORT, web/API on $MAILPIT_HTTP_PORT.
# Usage: deploy/mailpit.sh install|start|stop|restart|status
COMPONENT=mailpit
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MAILPIT_VERSION="${MAILPIT_VERSION:-v1.33.1}"
MAILPIT_BIN="$BIN_DIR/mailpit-$MAILPIT_VERSION"
MAILPIT_DATA="$DATA_DIR/mailpit"
# Go's module and build caches for this build stay under .local too (`rm -rf .local` removes
# them; -modcacherw keeps the module cache deletable).
GO_HOME="$ARTICULA_HOME/go"

do_install() {
  [[ -x "$MAILPIT_BIN" ]] && return 0
  command -v go >/dev/null || die "go not found: install Go 1.22+ (https://go.dev/doc/install)"
  # Mailpit $MAILPIT_VERSION asks for Go 1.26; an older go (1.21+) fetches that toolchain itself
  # (GOTOOLCHAIN=auto, the default) from the module proxy.
  say "building Mailpit $MAILPIT_VERSION with go install (once, about a minute)"
  local tmp
  tmp=$(mktemp -d)
  # go install from the module zip: the web UI's JavaScript and CSS (server/ui/dist, built
  # with npm by Mailpit's release tooling) are not in it, so this binary serves the SMTP server
  # and the API but a blank web page (see do_start). The version is set as their release does.
  GOBIN="$tmp" GOPATH="$GO_HOME" GOCACHE="$GO_HOME/cache" GOFLAGS="-buildvcs=false -modcacherw" \
    go install -ldflags "-s -w -X github.com/axllent/mailpit/config.Version=$MAILPIT_VERSION" \
    "github.com/axllent/mailpit@$MAILPIT_VERSION" || { rm -rf "$tmp"; die "go install of Mailpit $MAILPIT_VERSION failed"; }
  mv "$tmp/mailpit" "$MAILPIT_BIN"
  rm -rf "$tmp"
}

# http_status HOST PORT PATH: the HTTP status code of a GET (empty when nothing answers).
http_status() {
  (
    exec 3<>"/dev/tcp/$1/$2" || exit 0
    printf 'GET %s HTTP/1.0\r\nHost: %s:%s\r\nConnection: close\r\n\r\n' "$3" "$1" "$2" >&3
    local line
    read -r -t 5 line <&3 || exit 0
    line=${line%$'\r'}; line=${line#* }; echo "${line%% *}"
  ) 2>/dev/null
}

do_start() {
  mkdir -p "$MAILPIT_DATA"
  start_daemon mailpit "$MAILPIT_BIN" --database="$MAILPIT_DATA/mailpit.db" \
    --smtp="$ARTICULA_BIND:$MAILPIT_SMTP_PORT" --listen="$ARTICULA_BIND:$MAILPIT_HTTP_PORT" \
    --smtp-auth-accept-any --smtp-auth-allow-insecure --disable-version-check
  wait_port "$ARTICULA_BIND" "$MAILPIT_SMTP_PORT" 30 mailpit
  local i
  for ((i = 0; i < 30 * 5; i++)); do
    [[ "$(http_status "$ARTICULA_BIND" "$MAILPIT_HTTP_PORT" /api/v1/info)" == 200 ]] && break
    is_running mailpit || { say "mailpit exited; last lines of $LOG_DIR/mailpit.log:"; tail -n 30 "$LOG_DIR/mailpit.log" >&2; return 1; }
    sleep 0.2
  done
  ((i < 30 * 5)) || die "mailpit's API did not answer on $ARTICULA_BIND:$MAILPIT_HTTP_PORT within 30s; see $LOG_DIR/mailpit.log"
  say "up: SMTP $ARTICULA_BIND:$MAILPIT_SMTP_PORT, API http://$ARTICULA_BIND:$MAILPIT_HTTP_PORT/api/v1/ (data $MAILPIT_DATA, log $LOG_DIR/mailpit.log)"
  if [[ "$(http_status "$ARTICULA_BIND" "$MAILPIT_HTTP_PORT" /dist/app.js)" != 200 ]]; then
    say "the API is there, the web pages are not: a go install build has no front-end assets, so" \
        "http://$ARTICULA_BIND:$MAILPIT_HTTP_PORT/ is blank (read mail with the API, or use Mailpit's release binary or Docker image)"
  fi
}

do_stop() { stop_daemon mailpit 20; }
do_status() {
  status_daemon mailpit "$ARTICULA_BIND" "$MAILPIT_HTTP_PORT" || return 1
  port_open "$ARTICULA_BIND" "$MAILPIT_SMTP_PORT" || { say "mailpit: SMTP $ARTICULA_BIND:$MAILPIT_SMTP_PORT not answering"; return 1; }
}

dispatch "$@"
