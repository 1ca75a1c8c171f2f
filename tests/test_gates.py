"""Every gate fails on bad data and blocks what is downstream of it, in a real Dagster run.

- raw: the pandera gate (bad rows that bypassed the parser, e.g. a bug or a manual insert);
- staging: dbt tests (a time zone DuckDB does not know);
- staging: the GX suite (an empty roster, which dbt's key tests accept).
"""

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from funnellens.contract import SOURCES
from funnellens.ingest import ensure_raw_schema
from orchestration.defs.raw import build_raw_asset
from orchestration.defs.transform import staging_definitions
from orchestration.lib.warehouse import DuckDBWarehouse, LandingZone

ROSTER = "agency_id,agency_name,agency_timezone,creator_id,creator_name\nag1,Agency One,Europe/Berlin,cr1,Creator One\n"


def _downstream_of(key: dg.AssetKey) -> dg.AssetsDefinition:
    @dg.asset(key=["test", "downstream_of_" + key.path[-1]], deps=[key])
    def downstream() -> None:
        return None

    return downstream


def _materialised(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def _check_results(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {
        f"{e.asset_check_evaluation_data.asset_key.to_user_string()}:{e.asset_check_evaluation_data.check_name}":
            e.asset_check_evaluation_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }


@pytest.fixture
def setup(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("FUNNELLENS_DATA_DIR", str(tmp_path / "data"))
    warehouse = tmp_path / "data" / "warehouse" / "funnellens.duckdb"
    monkeypatch.setenv("FUNNELLENS_WAREHOUSE", str(warehouse))
    warehouse.parent.mkdir(parents=True)
    landing = tmp_path / "landing"
    (landing / "creators").mkdir(parents=True)
    with duckdb.connect(str(warehouse)) as con:
        ensure_raw_schema(con)
    resources = {
        "warehouse": DuckDBWarehouse(path=str(warehouse)),
        "landing": LandingZone(path=str(landing)),
    }
    return warehouse, landing, resources


def test_raw_pandera_gate_blocks_downstream(setup):
    warehouse, landing, resources = setup
    (landing / "creators" / "roster.csv").write_text(ROSTER)
    with duckdb.connect(str(warehouse)) as con:  # a row no parser would let through
        con.execute("""INSERT INTO raw.creators (agency_id, creator_id, _source_file, _file_hash, _line,
                       _load_id, _loaded_at) VALUES ('ag1', NULL, 'manual', 'x', 2, 'manual', now())""")
    raw = build_raw_asset(SOURCES["creators"])
    key = dg.AssetKey(["raw", "creators"])
    downstream = _downstream_of(key)
    result = dg.materialize([*raw.assets, *raw.asset_checks, downstream], resources=resources,
                            raise_on_error=False)
    assert _check_results(result) == {"raw/creators:pandera_raw_gate": False}
    assert "raw/creators" in _materialised(result)
    assert "test/downstream_of_creators" not in _materialised(result)


def test_raw_pandera_gate_passes_clean_data(setup):
    warehouse, landing, resources = setup
    (landing / "creators" / "roster.csv").write_text(ROSTER)
    raw = build_raw_asset(SOURCES["creators"])
    downstream = _downstream_of(dg.AssetKey(["raw", "creators"]))
    result = dg.materialize([*raw.assets, *raw.asset_checks, downstream], resources=resources)
    assert _check_results(result) == {"raw/creators:pandera_raw_gate": True}
    assert "test/downstream_of_creators" in _materialised(result)


def _run_staging_roster(resources) -> dg.ExecuteInProcessResult:
    staging = staging_definitions()
    key = dg.AssetKey(["staging", "stg_roster__creators"])
    downstream = _downstream_of(key)
    return dg.materialize(
        [*staging.assets, *staging.asset_checks, downstream],
        resources={**resources, **staging.resources},
        selection=dg.AssetSelection.assets(key, downstream.key),
        raise_on_error=False,
    )


def test_dbt_test_gate_blocks_downstream(setup):
    warehouse, _, resources = setup
    with duckdb.connect(str(warehouse)) as con:
        con.execute("""INSERT INTO raw.creators (agency_id, agency_timezone, creator_id, _source_file,
                       _file_hash, _line, _load_id, _loaded_at)
                       VALUES ('ag1', 'Mars/Olympus_Mons', 'cr1', 'f.csv', 'h', 2, 'l', now())""")
    result = _run_staging_roster(resources)
    assert not result.success
    assert "test/downstream_of_stg_roster__creators" not in _materialised(result)


def test_gx_gate_blocks_downstream(setup):
    _, _, resources = setup  # an empty roster: dbt's key tests pass, GX's row count does not
    result = _run_staging_roster(resources)
    checks = _check_results(result)
    assert checks["staging/stg_roster__creators:gx_suite"] is False
    assert all(passed for name, passed in checks.items() if not name.endswith(":gx_suite"))
    assert "staging/stg_roster__creators" in _materialised(result)
    assert "test/downstream_of_stg_roster__creators" not in _materialised(result)
