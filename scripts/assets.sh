#!/usr/bin/env bash
# Installs the NHS.UK frontend from the npm registry into assets/node_modules (not committed).
set -euo pipefail
cd "$(dirname "$0")/../assets"
if [ ! -f node_modules/nhsuk-frontend/dist/nhsuk/nhsuk-frontend.min.css ] || [ package.json -nt node_modules/.package-lock.json ]; then
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
fi
