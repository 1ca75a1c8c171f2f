"""The pandera raw gates: every schema accepts the ingested fixture data and rejects planted bad frames."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pandera.pandas as pa
import pytest

from funnellens.contract import LOAD_FILES_COLUMNS, QUARANTINE_COLUMNS, SOURCES, Column
from funnellens.ingest import ensure_raw_schema, ingest_all
from validation.raw_schemas import NON_NEGATIVE, RAW_SCHEMAS, gate_columns, validate_frame, validate_raw_table

FIXTURES = Path(__file__).parent / "fixtures" / "landing"
COLUMNS: dict[str, tuple[Column, ...]] = {
    **{s.table: s.columns for s in SOURCES.values()},
    "load_files": LOAD_FILES_COLUMNS,
    "quarantine": QUARANTINE_COLUMNS,
}


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("raw_schemas")
    shutil.copytree(FIXTURES, root / "landing")
    connection = duckdb.connect(str(root / "wh.duckdb"))
    ingest_all(connection, root / "landing", load_id="fixture-load")
    yield connection
    connection.close()


def frame(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    return con.execute(f"SELECT * FROM raw.{table}").fetch_df_chunk(10)


def rejects(table: str, df: pd.DataFrame) -> pd.DataFrame:
    with pytest.raises(pa.errors.SchemaErrors) as err:
        validate_frame(table, df)
    return err.value.failure_cases


def test_every_raw_table_has_a_schema() -> None:
    assert set(RAW_SCHEMAS) == set(COLUMNS)


@pytest.mark.parametrize("table", sorted(COLUMNS))
def test_ingested_fixture_data_passes(con, table: str) -> None:
    df = frame(con, table)
    assert len(df) >= 2
    validate_frame(table, df)
    result = validate_raw_table(con, table)
    assert result.passed, result.as_metadata()
    assert result.rows_checked == len(df)


@pytest.mark.parametrize("table", sorted(COLUMNS))
def test_null_in_each_required_column_is_rejected(con, table: str) -> None:
    good = frame(con, table)
    required = [c.name for c in COLUMNS[table] if c.required]
    if table in {s.table for s in SOURCES.values()}:
        required += ["_source_file", "_file_hash", "_line", "_load_id", "_loaded_at"]
    for name in required:
        bad = good.astype({name: "object"})  # numpy bool / int columns cannot hold a null
        bad.loc[0, name] = None
        cases = rejects(table, bad)
        assert ((cases["column"] == name) & (cases["check"] == "not_nullable")).any(), name


@pytest.mark.parametrize("table", sorted(COLUMNS))
def test_value_outside_each_vocabulary_is_rejected(con, table: str) -> None:
    good = frame(con, table)
    for col in (c for c in COLUMNS[table] if c.allowed):
        bad = good.copy()
        bad.loc[1, col.name] = "bogus_value"
        cases = rejects(table, bad)
        assert ((cases["column"] == col.name) & (cases["failure_case"] == "bogus_value")).any(), col.name


@pytest.mark.parametrize("table", sorted(NON_NEGATIVE))
def test_negative_counts_are_rejected(con, table: str) -> None:
    good = frame(con, table)
    for name in NON_NEGATIVE[table]:
        bad = good.astype({name: "object"})
        bad.loc[0, name] = -1
        cases = rejects(table, bad)
        assert ((cases["column"] == name) & cases["check"].astype(str).str.contains("greater_than")).any(), name


@pytest.mark.parametrize("table", sorted(COLUMNS))
def test_wrong_type_missing_and_extra_columns_are_rejected(con, table: str) -> None:
    good = frame(con, table)
    typed = next((c.name for c in COLUMNS[table] if c.dtype in ("BIGINT", "TIMESTAMP", "DOUBLE", "BOOLEAN")),
                 "_line" if "_line" in good else None)
    bad = good.copy().astype({typed: "object"})
    bad.loc[0, typed] = "not a value"
    cases = rejects(table, bad)
    assert (cases["column"] == typed).any()
    cases = rejects(table, good.drop(columns=[COLUMNS[table][0].name]))
    assert (cases["check"] == "column_in_dataframe").any()
    cases = rejects(table, good.assign(surprise=1))
    assert (cases["check"] == "column_in_schema").any()


@pytest.mark.parametrize(
    ("table", "change", "check"),
    [
        ("creators", {"agency_timezone": "Mars/Olympus"}, "iana_time_zone"),
        ("confounders", {"ends_at": pd.Timestamp("2000-01-01")}, "ends_not_before_starts"),
        ("revenue_events", {"revenue_type": "refund", "amount": 5.0}, "refunds_not_positive"),
        ("product_events", {"user_id": None, "anonymous_id": None}, "user_or_anonymous_id"),
        ("funnel_steps", {"step_order": 0}, "greater_than_or_equal_to(1)"),
        ("funnel_steps", {"conversion_window_days": 0.0}, "greater_than(0)"),
        ("ab_test_variants", {"traffic_split": 1.5}, "in_range"),
        ("ab_test_variants", {"alpha": 1.0}, "in_range"),
        ("tracking_events", {"event_id": "   "}, "not_blank"),
        ("tracking_events", {"_line": 0}, "greater_than_or_equal_to(1)"),
        ("tracking_events", {"_file_hash": "abc"}, "str_matches"),
        ("load_files", {"status": "failed", "reason": None}, "failed_has_reason"),
        ("load_files", {"rows_loaded": -1}, "greater_than_or_equal_to(0)"),
        ("quarantine", {"reason_code": "unreadable_file", "line": 3}, "file_level_has_no_line"),
        ("quarantine", {"source": "nowhere"}, "isin"),
    ],
)
def test_row_rules_and_ranges(con, table: str, change: dict, check: str) -> None:
    bad = frame(con, table)
    for name, value in change.items():
        bad = bad.astype({name: "object"})
        bad.loc[0, name] = value
    cases = rejects(table, bad)
    assert cases["check"].astype(str).str.startswith(check).any(), cases[["column", "check"]]


# ----------------------------------------------------------------------------------------------
# validate_raw_table: the gate over DuckDB, chunk by chunk
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def scratch(con):
    """An in-memory copy of the fixture warehouse that a test may break."""
    db = duckdb.connect()
    ensure_raw_schema(db)
    for table in COLUMNS:
        df = con.execute(f"SELECT * FROM raw.{table}").df()  # noqa: F841 - read by the SQL below
        db.execute(f"INSERT INTO raw.{table} SELECT * FROM df")
    yield db
    db.close()


def test_gate_fails_on_a_planted_bad_row_and_names_its_file_and_line(scratch) -> None:
    scratch.execute("""
        INSERT INTO raw.tracking_events
        SELECT * REPLACE ('click' AS event_type, 'ev-planted' AS event_id, 'tracking/planted.ndjson' AS _source_file,
                          77 AS _line, 'other-load' AS _load_id)
        FROM raw.tracking_events LIMIT 1
    """)
    result = validate_raw_table(scratch, "raw.tracking_events", chunk_rows=2)
    assert not result.passed and result.failure_count == 1
    assert result.rows_checked == scratch.execute("SELECT count(*) FROM raw.tracking_events").fetchone()[0]
    (case,) = result.failure_cases
    assert (case["column"], case["failure_case"], case["file"], case["line"]) == \
        ("event_type", "click", "tracking/planted.ndjson", 77)
    meta = result.as_metadata()
    assert meta["passed"] is False and meta["failures_by_check"] == {"isin(['page_view', 'step_entry', "
                                                                      "'step_exit', 'conversion'])": 1}
    # one load only: the fixture load passes, the other load fails
    fixture_only = validate_raw_table(scratch, "tracking_events", load_id="fixture-load")
    assert fixture_only.passed and fixture_only.rows_checked == result.rows_checked - 1
    only_other = validate_raw_table(scratch, "tracking_events", load_id="other-load")
    assert only_other.rows_checked == 1 and only_other.failure_count == 1


def test_gate_finds_duplicate_natural_keys_over_the_whole_table(scratch) -> None:
    scratch.execute("INSERT INTO raw.creators SELECT * FROM raw.creators LIMIT 1")
    result = validate_raw_table(scratch, "creators", chunk_rows=1)
    assert not result.passed
    assert result.failures_by_check == {"natural_key_unique(creator_id)": 1}
    assert result.failure_cases[0]["creator_id"] == "c_anna" and result.failure_cases[0]["n"] == 2


def test_gate_checks_ab_test_groups(scratch) -> None:
    scratch.execute("UPDATE raw.ab_test_variants SET is_control = true, traffic_split = 0.7")
    result = validate_raw_table(scratch, "ab_test_variants")
    assert result.failures_by_check == {"one_control_per_test": 1, "splits_sum_to_1": 1}


def test_gate_chunks_keep_row_positions(scratch) -> None:
    scratch.execute("UPDATE raw.revenue_events SET amount = 5 WHERE revenue_type = 'chargeback'")
    for chunk_rows in (1, 3, 1_000_000):
        result = validate_raw_table(scratch, "revenue_events", chunk_rows=chunk_rows)
        assert result.failure_count == 1
        assert result.failure_cases[0]["line"] == 6  # the chargeback line of the statement


def test_gate_checks_declared_column_types(scratch) -> None:
    scratch.execute("ALTER TABLE raw.conversions ALTER value TYPE VARCHAR")
    scratch.execute("ALTER TABLE raw.conversions ADD COLUMN surprise INTEGER")
    result = validate_raw_table(scratch, "conversions")
    assert not result.passed and result.failures_by_check == {"column_type": 2}
    assert {"check": "column_type", "column": "value", "expected": "DOUBLE", "found": "VARCHAR"} in result.failure_cases


def test_gate_reads_only_checked_columns() -> None:
    cols = gate_columns("tracking_events")
    assert {"event_id", "event_type", "occurred_at", "_line", "_file_hash"} <= set(cols)
    assert not {"url", "user_agent", "referrer", "metadata"} & set(cols)  # type-only: DuckDB guarantees them
    assert {"user_id", "anonymous_id"} <= set(gate_columns("product_events"))  # read by a frame check


def test_unknown_table() -> None:
    with pytest.raises(KeyError, match="no raw schema for table 'raw.nope'"):
        validate_raw_table(duckdb.connect(), "raw.nope")
