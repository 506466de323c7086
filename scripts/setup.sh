#!/usr/bin/env bash
# Shared set-up for scripts/run and scripts/test: a virtualenv in .venv with tokenyard installed.
# Idempotent: reinstalls only when pyproject.toml changed. Usage: source scripts/setup.sh EXTRAS
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EXTRAS="${1:-local}"
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "tokenyard needs Python 3.11+ (found $("$PY" --version 2>&1))" >&2; exit 1
fi
source "$ROOT/scripts/setup-steps.sh"
if [ ! -x "$ROOT/.venv/bin/python" ]; then
  _ty_step "creating the virtual environment .venv" "$PY" -m venv "$ROOT/.venv"
fi
VENV_PY="$ROOT/.venv/bin/python"
STAMP="$ROOT/.venv/.tokenyard-$EXTRAS"
WANT="$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]; then
  SETUP_STARTED=$SECONDS
  _ty_say "setting up .venv (extras: $EXTRAS); this takes a minute or two the first time"
  "$VENV_PY" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  # torch first, pinned, so nothing pulls a CUDA build.
  if [[ "$EXTRAS" == *local* ]]; then
    _ty_step "installing torch 2.13.0 (for the local embedding model)" "$VENV_PY" -m pip install -q "torch==2.13.0"
  fi
  _ty_step "installing tokenyard and its dependencies" "$VENV_PY" -m pip install -q -e "$ROOT[$EXTRAS]"
  "$VENV_PY" -c "import tokenyard, tokenyard_http"
  echo "$WANT" > "$STAMP"
  _ty_say "set-up done in $((SECONDS - SETUP_STARTED)) s"
fi
export PATH="$ROOT/.venv/bin:$PATH"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
