#!/usr/bin/env bash
# Runs the whole suite on two pytest-xdist workers, each module whole on one worker (tests/conftest.py schedules them);
# extra arguments pass through (e.g. `-n 0` for one process). pytest's exit 5 ("collected nothing") is a failure
# here, never a silent pass.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadscope --no-loadscope-reorder --durations=25 "$@"
code=$?
if [ "$code" -eq 5 ]; then
  echo "pytest collected no tests: failing on purpose" >&2
  exit 1
fi
exit "$code"
