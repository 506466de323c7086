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
if [ ! -x "$ROOT/.venv/bin/python" ]; then
  "$PY" -m venv "$ROOT/.venv"
fi
VENV_PY="$ROOT/.venv/bin/python"
STAMP="$ROOT/.venv/.tokenyard-$EXTRAS"
WANT="$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]; then
  "$VENV_PY" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  # torch first, pinned, so nothing pulls a CUDA build.
  if [[ "$EXTRAS" == *local* ]]; then
    "$VENV_PY" -m pip install -q "torch==2.13.0" 2>&1 | grep -v "^WARNING: Location" || true
  fi
  "$VENV_PY" -m pip install -q -e "$ROOT[$EXTRAS]" 2>&1 | grep -v "^WARNING: Location" || true
  "$VENV_PY" -c "import tokenyard, tokenyard_http" 
  echo "$WANT" > "$STAMP"
fi
export PATH="$ROOT/.venv/bin:$PATH"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
