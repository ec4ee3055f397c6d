#!/usr/bin/env bash
# Sets up a fresh machine for Gradient Monitor. Idempotent; quick when everything is already there.
#   bash scripts/setup.sh          npm packages, build, example data (enough for `npx gradmon train …`)
#   bash scripts/setup.sh --test   also what the tests need: Chromium, ripgrep, libkrb5-dev and code-server for
#                                  the real-VS-Code suites, and Debian's python3-torch as the gradient oracle
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { echo "[setup] $*"; }

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci (@tensorflow/tfjs-node is optional: where libtensorflow cannot be downloaded npm skips it and the engine uses wasm)"
  npm ci --no-audit --no-fund
else
  say "npm packages already installed"
fi
node scripts/build.js
node scripts/prepare-example-data.js

if [ "${1:-}" = "--test" ]; then
  node test/harness/install.js
  if ! /usr/bin/python3 -c 'import torch' >/dev/null 2>&1; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
      say "apt-get install python3-torch (PyTorch 1.13: the outside oracle the gradient tests compare against, ~1 min)"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch >/dev/null
    else
      say "python3-torch is not installed and cannot be installed here: the PyTorch oracle tests will be skipped"
    fi
  else
    say "python3-torch already installed"
  fi
fi
say "done"
