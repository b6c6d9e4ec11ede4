#!/usr/bin/env bash
# Quick start: installs what is missing, then runs Tagwarden locally on its embedded SQLite default.
# Arguments go to `tagwarden serve` (e.g. `npm start -- --port 9090 --config tagwarden.yaml`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/tagwarden.js serve "$@"
