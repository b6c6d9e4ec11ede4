#!/usr/bin/env bash
# `npm run bench`: replay throughput against raw SQLite, webhook throughput and p99, push-to-revert latency.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
mkdir -p .test-state
npx esbuild test/bench/bench.ts --bundle --platform=node --target=node20 --format=cjs --log-level=warning \
  --external:better-sqlite3 --external:autocannon --external:esbuild --external:@aws-sdk/* --outfile=.test-state/bench.cjs
node .test-state/bench.cjs "$@"
