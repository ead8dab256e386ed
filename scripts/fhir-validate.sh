#!/usr/bin/env bash
# Validates a FHIR Bundle (standard input) with the independent Python fhir.resources package, in a
# virtualenv of its own (pinned, cached). Prints each resource's validation errors as JSON.
set -euo pipefail
cache=${CONCORD_CACHE:-$HOME/.cache}
venv=$cache/concord-fhir-validate
version=7.1.0
if [ "$("$venv/bin/pip" show fhir.resources 2>/dev/null | sed -n 's/^Version: //p')" != "$version" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "fhir.resources==$version" >&2
fi
exec "$venv/bin/python" "$(dirname "$0")/../e2e/fhir/validate.py"
