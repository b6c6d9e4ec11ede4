# syntax=docker/dockerfile:1
# The Tagwarden image: one image for `tagwarden serve` (the default command) and `tagwarden agent`
# (set the arguments). Built for linux/amd64 and linux/arm64 by .github/workflows/release.yml.
# docs/kubernetes.md runs it; test/deploy/image-rehearsal.test.ts rehearses the runtime stage below
# (its ENV, USER, WORKDIR, ENTRYPOINT and CMD are read from this file).
#
# Node.js 24 (LTS), Debian bookworm slim, pinned by version and by the digest of its multi-platform
# index (update both together: `docker buildx imagetools inspect node:<version>-bookworm-slim`).
ARG NODE_IMAGE=node:24.20.0-bookworm-slim@sha256:ba849c60be29959425b8734d57b8b4b7d56f98edd9504c9af091d5281095a71e

# --- build: compile the bundle, pack the package as npm would publish it, install that tarball ------
FROM ${NODE_IMAGE} AS build
# better-sqlite3 compiles its native module when no prebuilt binary fits (node-gyp needs these).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# The installed package is what a user gets from `npm pack`: bin/, dist/, schema/, docs/ and the
# production dependencies alone (a global install never installs devDependencies). better-sqlite3 is
# the one dependency allowed to run its install script, as for a user (README, "Install the command").
RUN node scripts/build.mjs \
 && npm pack --ignore-scripts --pack-destination /tmp/pack \
 && npm install --global --prefix /opt/tagwarden --omit=dev --no-audit --no-fund \
      --allow-scripts=better-sqlite3 /tmp/pack/tagwarden-*.tgz \
 && /opt/tagwarden/bin/tagwarden --version

# --- runtime: Node.js and the installed package, nothing else ----------------------------------------
FROM ${NODE_IMAGE} AS runtime
# npm and corepack are not needed to run Tagwarden: fewer files, fewer advisories to triage.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
 && mkdir -p /var/lib/tagwarden /etc/tagwarden \
 && chown 65532:65532 /var/lib/tagwarden \
 && chmod 0700 /var/lib/tagwarden
# Owned by root, so the process (65532) cannot change its own code.
COPY --from=build /opt/tagwarden /opt/tagwarden
# A read-only root filesystem works: the history (SQLite and its -wal/-shm files) is the only thing
# written, under /var/lib/tagwarden (a volume; in Kubernetes a PersistentVolumeClaim). HOME points there
# too, so nothing that looks for a home directory writes elsewhere; /tmp is not used.
ENV NODE_ENV=production HOME=/var/lib/tagwarden PATH=/opt/tagwarden/bin:/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
VOLUME ["/var/lib/tagwarden"]
WORKDIR /var/lib/tagwarden
# Numeric, so Kubernetes' runAsNonRoot can check it without a passwd entry.
USER 65532:65532
EXPOSE 8080
# No HEALTHCHECK: Kubernetes probes /healthz and /readyz (serve and agent).
ENTRYPOINT ["tagwarden"]
# The policy and settings come from /etc/tagwarden/tagwarden.yaml (a ConfigMap), secrets from the
# environment through its ${VAR}s. For the agent: args ["agent", "--host=0.0.0.0", "--port=8080"].
CMD ["serve", "--host=0.0.0.0", "--port=8080", "--db=/var/lib/tagwarden/history.db", "--config=/etc/tagwarden/tagwarden.yaml"]
