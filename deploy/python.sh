#!/usr/bin/env bash
# The project's Python environment (.venv), from uv.lock with uv. Quick when nothing changed.
# Usage: deploy/python.sh install
COMPONENT=python
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

UV_VERSION=0.13.8
UV_HOME="$ARTICULA_HOME/uv-$UV_VERSION"
UV="$UV_HOME/bin/uv"
STAMP="$ROOT/.venv/.articula-lock-sha"

do_install() {
  local python=${PYTHON:-python3}
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "Python 3.11+ is needed (found $("$python" --version 2>&1)); set PYTHON=/path/to/python3.11"
  if [[ ! -x "$UV" ]]; then
    say "installing uv $UV_VERSION (once)"
    "$python" -m venv "$UV_HOME"
    "$UV_HOME/bin/pip" install -q "uv==$UV_VERSION"
  fi
  local want
  want=$(cat "$ROOT/uv.lock" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)
  if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then return 0; fi
  say "syncing .venv from uv.lock"
  (cd "$ROOT" && UV_PYTHON="$python" UV_PYTHON_DOWNLOADS=never "$UV" sync --frozen --quiet)
  echo "$want" > "$STAMP"
}
do_start() { :; }
do_stop() { :; }
do_status() { [[ -f "$STAMP" ]] && say ".venv ready" || say ".venv not installed"; }

dispatch "$@"
