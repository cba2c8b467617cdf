#!/usr/bin/env bash
# What only the tests need beyond Python packages, for `make test` (never for `make demo`): libfiu's fiu-run (the
# I/O-error test), PostgreSQL (the second engine of the store contract tests), Node.js 20+ with npm (the official
# MCP conformance suite, installed into .conformance) and Debian's chromium (the web view's browser tests, driven by
# Playwright, which the dev extra installs). Missing packages are installed with apt-get when this runs as
# root on Debian or Ubuntu; whatever is still missing gets one line saying which tests skip and how to install it.
set -uo pipefail
cd "$(dirname "$0")/.."
SUITE_VERSION=0.1.12  # the newest release of the suite that runs on Node 20
INSPECTOR_VERSION=0.15.0  # the MCP Inspector CLI for tests/mcp/test_client_inspector.py: npm's pick for Node 20
SUITE=.conformance/node_modules/@modelcontextprotocol/conformance/package.json
INSPECTOR=.conformance/node_modules/@modelcontextprotocol/inspector/package.json

has_postgres() { [ -n "${POSTMORTEM_TEST_DATABASE_URL:-}" ] || command -v pg_ctl >/dev/null ||
    compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null; }
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
has_suite() { grep -q "\"version\": \"$SUITE_VERSION\"" "$SUITE" 2>/dev/null &&
    grep -q "\"version\": \"$INSPECTOR_VERSION\"" "$INSPECTOR" 2>/dev/null; }

missing=()
command -v fiu-run >/dev/null || missing+=(fiu-utils)
has_postgres || missing+=(postgresql)
command -v npm >/dev/null || missing+=(npm)
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "make test: installing ${missing[*]} with apt-get"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } ||
        echo "make test: apt-get could not install ${missing[*]}"
fi
if ! has_suite && command -v npm >/dev/null && [ "$(node_major)" -ge 20 ]; then
    # Three tries: one failed fetch from the registry (seen once in CI) would otherwise fail the CI run's suite test.
    for try in 1 2 3; do
        npm install --silent --no-audit --no-fund --prefix .conformance "@modelcontextprotocol/conformance@$SUITE_VERSION" \
            "@modelcontextprotocol/inspector@$INSPECTOR_VERSION" && break
        echo "make test: npm could not install the MCP conformance suite and Inspector (try $try of 3)"
        [ "$try" = 3 ] || sleep 10
    done
fi

command -v fiu-run >/dev/null ||
    echo "make test: no fiu-run, so the I/O-error test skips (Debian: apt-get install fiu-utils, or run make test as root)"
has_postgres ||
    echo "make test: no PostgreSQL, so the store contract runs on SQLite only (Debian: apt-get install postgresql," \
        "or run make test as root, or set POSTMORTEM_TEST_DATABASE_URL)"
command -v chromium >/dev/null ||
    echo "make test: no chromium, so the browser tests of the web view skip (Debian: apt-get install chromium, or" \
        "run make test as root)"
has_suite ||
    echo "make test: no MCP conformance suite (it needs Node.js 20+ with npm; found node $(node --version 2>/dev/null ||
        echo none)), so its test and the Inspector test skip"
exit 0
