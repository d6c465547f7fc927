#!/usr/bin/env bash
# Creates .venv and installs batchgate with its dev tools, and makes sure a redis-server exists (and, as root,
# the tools the suite's deploy checks run: promtool, docker-compose).
# Used by every Makefile target, so `make run` and `make test` work on a fresh Debian machine.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.installed

ensure_redis() {
    if command -v redis-server >/dev/null 2>&1; then
        return 0
    fi
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "bootstrap: redis-server is missing; installing it with apt-get" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
        return 0
    fi
    echo "bootstrap: redis-server is not installed. Install it with:" >&2
    echo "    sudo apt-get install -y redis-server" >&2
    exit 1
}

# The deploy checks run these instead of skipping: `promtool check rules|config` (Debian's `prometheus` package
# ships promtool) and `docker-compose config` (reads the compose file; it needs no Docker engine). Only root can
# install them; anyone else gets the tests' skip reasons, which name what is missing.
ensure_deploy_tools() {
    local missing=()
    command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
    command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
    if [ "${#missing[@]}" = 0 ] || [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
        return 0
    fi
    echo "bootstrap: installing ${missing[*]} with apt-get (for the deploy checks)" >&2
    # policy-rc.d 101: the packages must not start their daemons (prometheus, node exporter) here.
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
    fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null || echo "bootstrap: could not install ${missing[*]}; their checks will skip" >&2
    [ "$created_policy" = 1 ] && rm -f "$policy"
    return 0
}

ensure_venv() {
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "bootstrap: batchgate needs Python 3.11 or newer ($PYTHON is $("$PYTHON" -V 2>&1))" >&2
        exit 1
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
            echo "bootstrap: '$PYTHON -m venv' failed. Install it with: sudo apt-get install -y python3-venv" >&2
            exit 1
        fi
    fi
    # Reinstall only when pyproject.toml changed since the last install.
    if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        "$VENV/bin/python" -m pip install --quiet -e '.[dev]'
        touch "$STAMP"
    fi
}

ensure_redis
ensure_deploy_tools
ensure_venv
