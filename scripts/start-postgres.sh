#!/usr/bin/env bash
# Start a local PostgreSQL server for the tests (Debian's package; needs root) and print the URL to use as
# CLEARSIGHT_TEST_POSTGRES. Used by .ci/run; safe to run again.
set -euo pipefail
if ! command -v pg_lsclusters >/dev/null 2>&1; then
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
cluster=$(pg_lsclusters --no-header | head -n 1)
if [ -z "$cluster" ]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  pg_createcluster "$version" main >/dev/null
  cluster=$(pg_lsclusters --no-header | head -n 1)
fi
read -r version name port status _ <<<"$cluster"
if [ "$status" != "online" ]; then
  # Only the URL goes to standard output: what pg_ctlcluster says (e.g. "Removed stale pid file.") goes to stderr.
  pg_ctlcluster "$version" "$name" start >&2
fi
su postgres -c "psql -p $port -tAc \"SELECT 1 FROM pg_roles WHERE rolname = 'clearsight'\"" | grep -q 1 ||
  su postgres -c "psql -p $port -qc \"CREATE ROLE clearsight LOGIN SUPERUSER PASSWORD 'clearsight'\""
su postgres -c "psql -p $port -tAc \"SELECT 1 FROM pg_database WHERE datname = 'clearsight_test'\"" | grep -q 1 ||
  su postgres -c "createdb -p $port -O clearsight clearsight_test"
echo "postgresql://clearsight:clearsight@127.0.0.1:$port/clearsight_test"
