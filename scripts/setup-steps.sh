#!/usr/bin/env bash
# Progress for scripts/setup.sh: one line per set-up step and its time, pip's noise filtered out.
# Sourced (it defines functions only); names start with _ty_ as they live on in the shell that sourced it.

_ty_say() { printf 'tokenyard: %s\n' "$*" >&2; }

# Drop what a newcomer cannot act on: setuptools' editable-install notices (the "********" banner about
# folders named like the package, and the meta path finder note) and pip's "WARNING: Location" lines.
_ty_quiet_pip() {
  awk '
    { t = $0; gsub(/^[ \t]+|[ \t]+$/, "", t) }
    t ~ /(InformationOnly|BuildBackendWarning): Editable installation\.$/ { skip = 2; next }
    skip > 0 { if (t == "!!") { skip--; if (skip == 0) source_line = 1 }; next }
    source_line { source_line = 0; if ($0 ~ /^[ \t]/) next }
    t ~ /^Editable install will be performed using/ { next }
    t ~ /^Options like `package-data`/ { next }
    t ~ /^`packages\.find\.exclude\/include` may have no effect\./ { next }
    t ~ /^WARNING: Location/ { next }
    { print; fflush() }
  '
}

# _ty_step "what it does" COMMAND...: say it, run COMMAND (output filtered, to stderr), say how long it took;
# a failing COMMAND ends the set-up with status 1.
_ty_step() {
  local what="$1" started=$SECONDS
  shift
  _ty_say "$what ..."
  if ! { "$@" 2>&1 | _ty_quiet_pip >&2; }; then
    _ty_say "$what: failed (see above)"
    exit 1
  fi
  _ty_say "$what: done in $((SECONDS - started)) s"
}
