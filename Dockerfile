# KMS emulator image: `docker build -t kms-emulator .`
# Three stages: production dependencies, the TypeScript build, and a runtime that holds
# only node_modules (production), dist/, the PGlite template and migrations/, running as the unprivileged
# `node` user of the official image.

# --- production dependencies only (no TypeScript, vitest, SDKs used by tests) ---------
# npm 10.8 can end an install that failed to fetch packages with "Exit handler never
# called!" and status 0, leaving node_modules incomplete; the build would then fail later
# with a misleading message (`tsc: not found`). `npm ls` exits non-zero on anything missing
# or invalid, so each install step fails where the install failed.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm ls --omit=dev --all >/dev/null \
  && npm cache clean --force

# --- build: every dependency, then `npm run build`: tsc -> dist/, and the PGlite template
# (a migrated database that a first start on an empty /data copies, pglite-template/) ---
# --ignore-scripts: `prepare` (the same build) would run before the sources are here.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund \
  && npm ls --all >/dev/null \
  && test -x node_modules/.bin/tsc
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/build-template.mjs ./scripts/
COPY migrations ./migrations
RUN npm run build

# --- runtime ---------------------------------------------------------------------------
FROM node:20-bookworm-slim AS runtime
LABEL org.opencontainers.image.title="kms-emulator" \
      org.opencontainers.image.description="Local emulator of Alibaba Cloud KMS (keys, aliases, encryption)"

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    KMS_DATA_DIR=/data

WORKDIR /app
# Code stays owned by root (read-only to the service); only /data belongs to `node`.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/pglite-template ./pglite-template
COPY package.json ./
COPY migrations ./migrations

# The embedded database and its generated master key live here (unused with DATABASE_URL).
# Created and chowned before VOLUME, so a fresh named volume inherits the ownership.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]

USER node
EXPOSE 8080

# No curl in slim images: node's own fetch probes the liveness route on the configured port.
# No --start-period: dockerfilelint 1.8.0 misreads it (its option regex stops at the hyphen
# and reports `--start` as unknown). A first start on an empty /data copies the image's
# PGlite template into it (seconds); the first probe runs after one interval and only 5
# failures in a row (50 s) mark the container unhealthy.
HEALTHCHECK --interval=10s --timeout=5s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health/live').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]

# Exec form: node is PID 1 and receives SIGTERM itself, with no init in between: server.js
# installs its handler as its first statement, so a `docker stop` during start-up is acted
# on at once too (src/stop-signals.ts); close-with-grace closes the app and the database
# (PGlite must be closed cleanly to reopen). No child processes, so no zombies to reap.
CMD ["node", "dist/server.js"]
