#!/usr/bin/env bash
# One command: set up, generate demo data if the landing zone is empty, run the whole
# warehouse job in embedded DuckDB, and say where the results are.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
bash scripts/setup.sh

export DAGSTER_HOME="${DAGSTER_HOME:-$root/.dagster_home}"
mkdir -p "$DAGSTER_HOME"
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cp deploy/dagster.yaml "$DAGSTER_HOME/dagster.yaml"

landing="${FUNNELLENS_LANDING_DIR:-$root/data/landing}"
if [ -z "$(ls -A "$landing" 2>/dev/null)" ]; then
  echo "== The landing zone $landing is empty: writing DEMO DATA with the demo generator"
  .venv/bin/funnellens demo --out "$landing" --seed "${FUNNELLENS_DEMO_SEED:-42}" --scale "${FUNNELLENS_DEMO_SCALE:-1}"
fi

echo "== Running the warehouse job (landing -> raw -> staging -> ... -> marts)"
.venv/bin/dagster job execute -m orchestration.definitions -a defs -j warehouse_job

echo
.venv/bin/funnellens status
cat <<MSG

Open the Dagster UI (asset graph, checks, runs, schedules, sensors):
  DAGSTER_HOME=$DAGSTER_HOME .venv/bin/dagster dev -w workspace.yaml   # then http://127.0.0.1:3000
Query the warehouse:
  .venv/bin/python -c "import duckdb; print(duckdb.connect('${FUNNELLENS_WAREHOUSE:-$root/data/warehouse/funnellens.duckdb}', read_only=True).sql('show all tables'))"
MSG
