#!/usr/bin/env bash
# The whole test suite from a fresh clone: system prerequisites, node modules (which builds
# Gantry), then typecheck, lint, format check and every test. `.ci/run` runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
npm ci --no-audit --no-fund
npm test
