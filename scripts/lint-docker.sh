#!/usr/bin/env bash
# `npm run lint:docker`: lints the Dockerfile (dockerfilelint, a dev dependency) and
# validates docker-compose.yml when a Compose command is installed. No Docker engine is
# needed for either.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== dockerfilelint Dockerfile"
node_modules/.bin/dockerfilelint Dockerfile

# `config -q` interpolates and validates the file without contacting a daemon. The
# compose file has defaults for every variable, so no environment is needed.
if command -v docker-compose >/dev/null 2>&1; then
  echo "== docker-compose config -q"
  docker-compose -f docker-compose.yml config -q
  echo "docker-compose.yml is valid"
elif docker compose version >/dev/null 2>&1; then
  echo "== docker compose config -q"
  docker compose -f docker-compose.yml config -q
  echo "docker-compose.yml is valid"
else
  echo "== skipped docker-compose.yml validation: neither docker-compose nor docker compose is installed"
fi
