"""The production Dagster instance: runs, events and schedules in PostgreSQL (dagster-postgres).

Uses the documented deploy/dagster.postgres.yaml as is, against the real server at
127.0.0.1:5432, in a throw-away database.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from funnellens.config import PROJECT_ROOT
from orchestration.defs.raw import build_raw_asset
from orchestration.lib.warehouse import DuckDBWarehouse, LandingZone

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_database(require_postgres: dict):
    name = f"funnellens_dagster_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(**require_postgres)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    try:
        yield {**require_postgres, "dbname": name}
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_materialise_with_postgres_storage_and_read_back(pg_database, tmp_path: Path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_PG_HOST", pg_database["host"])
    monkeypatch.setenv("DAGSTER_PG_PORT", str(pg_database["port"]))
    monkeypatch.setenv("DAGSTER_PG_USER", pg_database["user"])
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "")
    monkeypatch.setenv("DAGSTER_PG_DB", pg_database["dbname"])

    landing = tmp_path / "landing"
    shutil.copytree(PROJECT_ROOT / "docs" / "examples" / "creators", landing / "creators")
    shutil.copytree(PROJECT_ROOT / "docs" / "examples" / "confounders", landing / "confounders")

    from funnellens.contract import SOURCES

    defs = dg.Definitions.merge(build_raw_asset(SOURCES["creators"]), build_raw_asset(SOURCES["confounders"]))
    assets = list(defs.assets) + list(defs.asset_checks)
    resources = {
        "warehouse": DuckDBWarehouse(path=str(tmp_path / "wh.duckdb")),
        "landing": LandingZone(path=str(landing)),
    }
    with dg.DagsterInstance.get() as instance:
        assert "Postgres" in type(instance.run_storage).__name__
        result = dg.materialize(assets, instance=instance, resources=resources)
        assert result.success
        run_id = result.run_id

    # A fresh instance (a new process would do the same) reads the run back from PostgreSQL.
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        materialised = instance.get_latest_materialization_event(dg.AssetKey(["raw", "creators"]))
        assert materialised is not None and materialised.run_id == run_id
        rows = materialised.asset_materialization.metadata["rows_loaded"].value
        assert rows > 0

    with psycopg2.connect(**pg_database) as con, con.cursor() as cur:
        cur.execute("SELECT count(*) FROM runs WHERE run_id = %s", (run_id,))
        assert cur.fetchone()[0] == 1
        cur.execute("SELECT count(*) FROM event_logs WHERE run_id = %s", (run_id,))
        assert cur.fetchone()[0] > 10
