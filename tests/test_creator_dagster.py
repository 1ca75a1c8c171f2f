"""The creator Dagster module end to end on the synthetic world: both dbt segments, the three
Python assets and every blocking check, materialised in process against a copy of the warehouse."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from test_creator_world import build_creator_warehouse
from test_dbt_staging import TEST_SALT, _release_dbt_duckdb

from orchestration.defs.creator import creator_definitions
from orchestration.lib.warehouse import DuckDBWarehouse, LandingZone


def test_creator_assets_materialise_with_their_checks(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = build_creator_warehouse(tmp_path_factory)
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(built.path, path)
    monkeypatch.setenv("FUNNELLENS_WAREHOUSE", str(path))
    monkeypatch.setenv("FUNNELLENS_ID_SALT", TEST_SALT)
    monkeypatch.setenv("FUNNELLENS_PLACEBO_WINDOWS", str(tmp_path / "none.csv"))
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    defs = creator_definitions()
    resources = {
        **defs.resources,
        "warehouse": DuckDBWarehouse(path=str(path)),
        "landing": LandingZone(path=str(tmp_path / "landing")),
    }
    try:
        result = dg.materialize([*defs.assets, *defs.asset_checks], resources=resources, raise_on_error=False,
                                instance=dg.DagsterInstance.ephemeral())
    finally:
        _release_dbt_duckdb()
    failed_checks = [
        e.asset_check_key.to_user_string()
        for e in result.get_asset_check_evaluations() if not e.passed
    ]
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    assert failed_checks == []
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"analytics/content_type_confidence", "analytics/recommendations", "analytics/pilot_validation",
            "marts/fct_content_type_performance", "marts/fct_fan_attribution", "marts/fct_recommendations",
            "marts/fct_pilot_validation", "intermediate/int_content_type_windows"} <= materialized
    checks = {e.asset_check_key.name for e in result.get_asset_check_evaluations()}
    assert {"pandera_schema", "gx_suite"} <= checks
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_pilot_validation").fetchone()[0] >= 6
