#!/usr/bin/env bash
# System packages and services that some tests need, from Debian's registry (run as root):
#   - PostgreSQL 15, started on 127.0.0.1:5432, with role/database `harmscope` (the audit store's tests);
#   - Chromium, for the playground's end-to-end test (headless, via Playwright's executable_path).
# Idempotent: installs only what is missing, (re)starts the cluster, creates the role/database once.
# Afterwards:  export HARMSCOPE_TEST_POSTGRES=postgresql://harmscope:harmscope@127.0.0.1:5432/harmscope
set -euo pipefail

need=()
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if ((${#need[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | grep -q "^${version} main"; then
    pg_createcluster "${version}" main >/dev/null
fi
pg_ctlcluster "${version}" main start 2>/dev/null || true
for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 1
done
pg_isready -h 127.0.0.1 -p 5432

as_postgres() { su postgres -c "psql -v ON_ERROR_STOP=1 -qtAc \"$1\""; }
if [[ -z "$(as_postgres "SELECT 1 FROM pg_roles WHERE rolname='harmscope'")" ]]; then
    as_postgres "CREATE ROLE harmscope LOGIN PASSWORD 'harmscope'"
fi
if [[ -z "$(as_postgres "SELECT 1 FROM pg_database WHERE datname='harmscope'")" ]]; then
    as_postgres "CREATE DATABASE harmscope OWNER harmscope"
fi
echo "PostgreSQL ${version} ready: postgresql://harmscope:harmscope@127.0.0.1:5432/harmscope; chromium: $(command -v chromium)"
