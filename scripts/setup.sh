#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian machine with Node 20+: npm dependencies and the build, and with
# --test also what the test suite needs (Debian's docker-registry, skopeo, zip, unzip, a JRE, awscli, jq, chromium and postgresql). Safe to run every time.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if (( node_major < 20 )); then
  say "Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none))"
  exit 1
fi

# Reinstall only when package.json or the lockfile changed since the last install.
stamp=node_modules/.tagwarden-install-stamp
want=$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  say "installing npm dependencies (better-sqlite3 compiles from source the first time: about 2 minutes)"
  npm install --no-audit --no-fund
  echo "$want" > "$stamp"
fi
node scripts/build.mjs

if [[ ${1:-} == --test ]]; then
  packages=()
  command -v docker-registry >/dev/null 2>&1 || packages+=(docker-registry)
  command -v skopeo >/dev/null 2>&1 || packages+=(skopeo)
  # The Azure rehearsal zips the Functions app as the deployment steps do, and unpacks it as the platform does.
  command -v zip >/dev/null 2>&1 || packages+=(zip)
  command -v unzip >/dev/null 2>&1 || packages+=(unzip)
  command -v java >/dev/null 2>&1 || packages+=(default-jre-headless) # DynamoDB Local (jar in npm amplify-dynamodb-simulator)
  # The AWS rehearsal runs docs/aws.md's secret steps as written: the AWS CLI (v1 or v2) and jq.
  command -v aws >/dev/null 2>&1 || packages+=(awscli)
  command -v jq >/dev/null 2>&1 || packages+=(jq)
  # The web UI's tests drive Debian's Chromium with playwright-core (Playwright's own download cannot work offline).
  command -v chromium >/dev/null 2>&1 || packages+=(chromium)
  # The PostgreSQL history store's tests start their own server from Debian's binaries on loopback.
  compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || packages+=(postgresql)
  if ((${#packages[@]})); then
    sudo=""
    if [[ $(id -u) != 0 ]]; then
      command -v sudo >/dev/null 2>&1 || { say "${packages[*]} missing and this user cannot install them: run 'apt-get install -y ${packages[*]}' as root"; exit 1; }
      sudo=sudo
    fi
    say "installing Debian's ${packages[*]} for the tests"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
  fi
fi
