"""Great Expectations suites of the staging models (validation/gx_suites.py).

They run on the warehouse that tests/test_dbt_staging.py builds with dbt (one build per session)
and on copies of it with bad rows injected.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from test_dbt_staging import STAGING_MODELS, BuiltWarehouse, build_staging_warehouse, staging_model_docs

from validation.gx_suites import (
    GX_SUITES,
    SUITE_SPECS,
    Bounds,
    GXResult,
    SuiteSpec,
    build_suite,
    register_suite,
    run_gx_suite,
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltWarehouse:
    warehouse = build_staging_warehouse(tmp_path_factory)
    assert warehouse.build.success, warehouse.build.statuses
    return warehouse


@pytest.fixture(scope="module")
def con(built: BuiltWarehouse, tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    # A writable copy: the tests add corrupted versions of staging tables in a `bad` schema.
    path = tmp_path_factory.mktemp("gx") / "warehouse.duckdb"
    shutil.copyfile(built.path, path)
    connection = duckdb.connect(str(path))
    connection.execute("create schema bad")
    yield connection
    connection.close()


def failures(result: GXResult) -> set[tuple[str, str | None]]:
    return {(f["expectation"], f.get("column")) for f in result.failed_expectations}


def test_registry_has_a_suite_for_every_staging_model() -> None:
    assert set(STAGING_MODELS) <= set(GX_SUITES)
    for model in STAGING_MODELS:
        suite = GX_SUITES[model]()
        assert suite.name == model
        types = {e.expectation_type for e in suite.expectations}
        assert "expect_column_to_exist" in types
        assert types & {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}
        assert "expect_column_values_to_not_be_null" in types


def test_suite_columns_match_the_documented_staging_columns() -> None:
    docs = staging_model_docs()
    for model in STAGING_MODELS:
        assert list(SUITE_SPECS[model].columns) == [c["name"] for c in docs[model]["columns"]], model


@pytest.mark.parametrize("model", STAGING_MODELS)
def test_every_suite_passes_on_the_built_staging_tables(con: duckdb.DuckDBPyConnection, model: str) -> None:
    result = run_gx_suite(con, f"staging.{model}")
    assert result.success, result.failed_expectations
    assert result.failed_expectations == []
    assert result.statistics["unsuccessful_expectations"] == 0
    assert result.statistics["evaluated_expectations"] == len(GX_SUITES[model]().expectations)
    assert result.rows_total == result.rows_validated == con.execute(
        f"select count(*) from staging.{model}").fetchone()[0]
    assert not result.sampled and result.note is None
    json.dumps(result.to_metadata())  # Dagster metadata must be plain values


def test_suite_fails_on_bad_tracking_events(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create table bad.stg_tracking__events as select * from staging.stg_tracking__events")
    con.execute("""
        insert into bad.stg_tracking__events
        select * replace ('click' as event_type) from staging.stg_tracking__events where event_id = 'e1'
        union all
        select * replace ('e-null' as event_id, null as visitor_key) from staging.stg_tracking__events
        where event_id = 'e2'
        union all
        select * replace ('e-clear' as event_id, 'v1' as visitor_key) from staging.stg_tracking__events
        where event_id = 'e3'
    """)
    result = run_gx_suite(con, "bad.stg_tracking__events")
    assert not result.success
    assert failures(result) == {
        ("expect_column_values_to_be_unique", "event_id"),  # e1 twice
        ("expect_column_values_to_be_in_set", "event_type"),  # 'click'
        ("expect_column_values_to_not_be_null", "visitor_key"),
        ("expect_column_values_to_match_regex", "visitor_key"),  # a clear id, not a hash
    }
    by_type = {f["expectation"]: f for f in result.failed_expectations}
    assert by_type["expect_column_values_to_be_in_set"]["unexpected_examples"] == ["click"]
    assert by_type["expect_column_values_to_be_in_set"]["unexpected_count"] == 1
    assert by_type["expect_column_values_to_match_regex"]["unexpected_examples"] == ["v1"]
    assert by_type["expect_column_values_to_be_unique"]["unexpected_count"] == 2
    assert result.statistics["unsuccessful_expectations"] == 4
    assert result.rows_total == 6
    json.dumps(result.to_metadata())


def test_suite_fails_on_a_missing_column_and_an_empty_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create table bad.stg_roster__creators as "
                "select * exclude (agency_timezone) from staging.stg_roster__creators where false")
    result = run_gx_suite(con, "bad.stg_roster__creators")
    assert not result.success
    found = failures(result)
    assert ("expect_column_to_exist", "agency_timezone") in found
    assert ("expect_table_row_count_to_be_between", None) in found
    assert result.rows_total == 0
    # Expectations on the missing column fail with the error, they do not pass silently.
    not_null = [f for f in result.failed_expectations if f["expectation"] == "expect_column_values_to_not_be_null"]
    assert [f["column"] for f in not_null] == ["agency_timezone"]
    assert "agency_timezone" in not_null[0]["exception"]


def test_optional_sources_may_be_empty(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create table bad.stg_agency__confounders as select * from staging.stg_agency__confounders where false")
    assert run_gx_suite(con, "bad.stg_agency__confounders").success


def test_bounds_and_compound_keys(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create table bad.stg_definitions__funnel_steps as select * from staging.stg_definitions__funnel_steps")
    con.execute("""
        insert into bad.stg_definitions__funnel_steps
        select * replace ('upsell' as step_id, 0 as conversion_window_days)
        from staging.stg_definitions__funnel_steps where step_id = 'pay'
    """)
    result = run_gx_suite(con, "bad.stg_definitions__funnel_steps")
    assert failures(result) == {
        ("expect_compound_columns_to_be_unique", None),  # (funnel_id, step_order) = (f-main, 3) twice
        ("expect_column_values_to_be_between", "conversion_window_days"),  # 0 is not > 0
    }
    compound = [f for f in result.failed_expectations if f["expectation"] == "expect_compound_columns_to_be_unique"]
    assert compound[0]["column_list"] == ["funnel_id", "step_order"]


def test_large_relations_are_sampled_deterministically(con: duckdb.DuckDBPyConnection) -> None:
    first = run_gx_suite(con, "staging.stg_tracking__events", max_rows=2)
    second = run_gx_suite(con, "staging.stg_tracking__events", max_rows=2)
    assert first.sampled and first.rows_total == 3 and first.rows_validated == 2
    assert first.note is not None and "sample of 2 of 3 rows" in first.note
    assert first == second
    assert first.to_metadata()["sampled"] is True
    unsampled = run_gx_suite(con, "staging.stg_tracking__events", max_rows=None)
    assert not unsampled.sampled and unsampled.rows_validated == 3


def test_clear_errors_for_unknown_models_and_missing_relations(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="no GX suite is registered for 'stg_nope'"):
        run_gx_suite(con, "staging.stg_nope")
    with pytest.raises(ValueError, match="cannot validate nowhere.stg_roster__creators"):
        run_gx_suite(con, "nowhere.stg_roster__creators")
    with pytest.raises(ValueError, match="schema.table"):
        run_gx_suite(con, "staging.")
    with pytest.raises(ValueError, match="max_rows"):
        run_gx_suite(con, "staging.stg_roster__creators", max_rows=0)
    with pytest.raises(ValueError, match="does not list"):
        SuiteSpec(model="x", columns=("a",), not_null=("b",))


def test_a_new_suite_is_one_registration() -> None:
    mem = duckdb.connect()
    mem.execute("create schema marts")
    mem.execute("create table marts.fct_demo_credit as select * from (values ('paid', 0.7), ('email', 0.3), "
                "('email', 1.2)) t(channel, share)")
    spec = SuiteSpec(model="fct_demo_credit", columns=("channel", "share"), not_null=("channel",),
                     bounds={"share": Bounds(0, 1)})
    register_suite(spec)
    try:
        with pytest.raises(ValueError, match="already registered"):
            register_suite(spec)
        result = run_gx_suite(mem, "marts.fct_demo_credit")
        assert failures(result) == {("expect_column_values_to_be_between", "share")}
        assert result.failed_expectations[0]["unexpected_examples"] == [1.2]
        # An explicit suite overrides the registry.
        assert run_gx_suite(mem, "marts.fct_demo_credit",
                            suite=build_suite(SuiteSpec(model="loose", columns=("channel",)))).success
    finally:
        SUITE_SPECS.pop("fct_demo_credit", None)
        GX_SUITES.pop("fct_demo_credit", None)
        mem.close()


def test_the_ephemeral_context_writes_no_gx_project(con: duckdb.DuckDBPyConnection) -> None:
    run_gx_suite(con, "staging.stg_roster__creators")
    repo = Path(__file__).resolve().parents[1]
    for name in ("gx", "great_expectations", "great_expectations.yml"):
        assert not (repo / name).exists(), name
        assert not (Path.cwd() / name).exists(), name
