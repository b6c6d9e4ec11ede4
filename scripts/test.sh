#!/usr/bin/env bash
# The whole suite: set-up (npm packages, docker-registry), type check, lint, then every jest project
# (unit, integration with real SQLite, e2e with a real registry). Arguments go to jest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test

echo "== type check (tsc --noEmit)"
npx tsc --noEmit
echo "== lint (biome ci)"
npx biome ci --diagnostic-level=error .
echo "== tests (jest: unit, integration, e2e)"
mkdir -p .test-state
status=0
npx jest --ci --maxWorkers=2 --json --outputFile=.test-state/jest.json "$@" || status=$?
node -e '
  const r = require("./.test-state/jest.json");
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
  if (r.numTotalTests === 0) { console.error("no test ran"); process.exit(1); }
' || status=1
exit $status
