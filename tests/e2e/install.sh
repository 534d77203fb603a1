#!/usr/bin/env bash
# What the browser tests need, installed only when missing: Debian's chromium (never a
# browser download) and axe-core from npm (pinned by package-lock.json) into node_modules.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -x /usr/bin/chromium ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends chromium fonts-dejavu-core
fi
if [ ! -f "$here/node_modules/axe-core/axe.min.js" ]; then
  npm ci --prefix "$here" --no-audit --no-fund
fi
