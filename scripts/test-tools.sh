#!/usr/bin/env bash
# Installs the non-Python tools the tests use, only where missing. Never fails the run by itself:
# tests that need a missing tool skip with a reason.
set -uo pipefail
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
apt_updated=0
need_apt() {
  command -v "$1" >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null 2>&1 || return 0
  if [ $apt_updated = 0 ]; then $SUDO apt-get update -qq >/dev/null 2>&1; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$2" >/dev/null 2>&1 || echo "could not install $2"
}
if ! command -v buf >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  npm install -g --silent @bufbuild/buf >/dev/null 2>&1 || echo "could not install buf"
fi
need_apt promtool prometheus
need_apt chromium chromium
exit 0
