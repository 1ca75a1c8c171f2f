#!/usr/bin/env bash
# One command: set up (dev extras) and run the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev

# Tests that need PostgreSQL run whenever it is reachable (and must, under CI=true).
if ! .venv/bin/python -c "import psycopg2; psycopg2.connect(host='127.0.0.1', port=5432, user='postgres', dbname='test', connect_timeout=3).close()" 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "== starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
    for _ in $(seq 1 20); do
      .venv/bin/python -c "import psycopg2; psycopg2.connect(host='127.0.0.1', port=5432, user='postgres', dbname='test', connect_timeout=2).close()" 2>/dev/null && break
      sleep 1
    done
  else
    echo "== PostgreSQL is not reachable and cannot be started here: its tests will skip (fail under CI=true)"
  fi
fi

.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
