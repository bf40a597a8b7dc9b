#!/bin/sh
# Runs the JavaScript client tests against the natsd given as $1. Installs the locked npm
# dependencies first if they are missing (CI reaches the npm registry).
set -eu
cd "$(dirname "$0")"
if [ ! -d node_modules/nats ]; then
	npm ci --no-audit --no-fund --loglevel=error
fi
NATSD_BIN="$1" exec node --test --test-reporter=spec client.test.mjs
