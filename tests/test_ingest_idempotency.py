"""Idempotency and atomicity: re-runs change nothing, copies are skipped, a failed file commit leaves nothing."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from funnellens.contract import SOURCES
from funnellens.ingest import ingest_all, ingest_source

FIXTURES = Path(__file__).parent / "fixtures" / "landing"
RAW_TABLES = [s.table for s in SOURCES.values()] + ["load_files", "quarantine"]


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    target = tmp_path / "landing"
    shutil.copytree(FIXTURES, target)
    return target


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """Every raw table, rows sorted on all columns."""
    out = {}
    for name in RAW_TABLES:
        df = con.execute(f"SELECT * FROM raw.{name}").df()
        out[name] = df.sort_values(list(df.columns), na_position="first").reset_index(drop=True)
    return out


def assert_same(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame]) -> None:
    for name in RAW_TABLES:
        pd.testing.assert_frame_equal(before[name], after[name], obj=f"raw.{name}")


def test_second_run_changes_nothing(landing: Path, tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    first = ingest_all(con, landing, load_id="run-1")
    before = snapshot(con)
    assert sum(len(df) for df in before.values()) > 100
    second = ingest_all(con, landing, load_id="run-2")
    assert_same(before, snapshot(con))
    for name, report in second.items():
        assert report.files_seen == first[name].files_seen
        assert report.files_skipped == report.files_seen
        assert (report.rows_loaded, report.rows_quarantined, report.files_loaded, report.files_failed) == (0, 0, 0, 0)
    failed = next(f for f in second["tracking_events"].files if f.file.endswith("03-03.ndjson.gz"))
    assert failed.reason == "already recorded as failed"
    con.close()
    # and after reopening the database file
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    ingest_all(con, landing, load_id="run-3")
    assert_same(before, snapshot(con))


def test_renamed_copy_is_skipped(landing: Path) -> None:
    con = duckdb.connect()
    ingest_source(con, "subscribers", landing)
    before = snapshot(con)
    shutil.copy(landing / "subscribers/c_anna/fans_2026-03.csv", landing / "subscribers/c_anna/fans_copy.csv")
    report = ingest_source(con, "subscribers", landing)
    copy = next(f for f in report.files if f.file == "subscribers/c_anna/fans_copy.csv")
    assert copy.status == "skipped"
    assert copy.reason == "same content as subscribers/c_anna/fans_2026-03.csv, already loaded"
    assert_same(before, snapshot(con))


def test_two_copies_in_one_run_load_once(landing: Path) -> None:
    shutil.copy(landing / "creators/roster.csv", landing / "creators/roster_copy.csv")
    con = duckdb.connect()
    report = ingest_source(con, "creators", landing)
    assert [(f.file, f.status) for f in report.files] == [("creators/roster.csv", "loaded"),
                                                          ("creators/roster_copy.csv", "skipped")]
    assert con.execute("SELECT count(*) FROM raw.creators").fetchone()[0] == 2


def test_new_file_repeating_loaded_rows_quarantines_them(landing: Path) -> None:
    con = duckdb.connect()
    ingest_source(con, "subscribers", landing)
    (landing / "subscribers/c_anna/fans_2026-04.csv").write_text(
        "Fan ID,Username,Subscribed at,Price,Currency,Tracking link\n"
        "f9,fan_nine,2026-04-01 10:00,9.99,USD,\n"
        "f2,fan_two,\"Mar 1, 2026\",9.99,USD,grwm1\n"
    )
    report = ingest_source(con, "subscribers", landing)
    new = next(f for f in report.files if f.file.endswith("04.csv"))
    assert (new.status, new.rows_loaded, new.rows_quarantined) == ("loaded", 1, 1)
    code, reason = con.execute("SELECT reason_code, reason FROM raw.quarantine "
                               "WHERE file = 'subscribers/c_anna/fans_2026-04.csv'").fetchone()
    assert code == "duplicate_row"
    assert reason.endswith("of the row kept at subscribers/c_anna/fans_2026-03.csv:3")


def test_edited_file_loads_as_new_content(landing: Path) -> None:
    con = duckdb.connect()
    ingest_source(con, "tracking_links", landing)
    path = landing / "tracking_links/links.csv"
    path.write_text(path.read_text() + "fall25,c_bea,instagram,,,2026-09-01\n")
    report = ingest_source(con, "tracking_links", landing)
    (result,) = report.files
    assert (result.status, result.rows_loaded, result.rows_quarantined) == ("loaded", 1, 3)  # 2 repeats + 1 bad
    assert con.execute("SELECT count(*) FROM raw.load_files WHERE file = 'tracking_links/links.csv'").fetchone()[0] == 2


class FailingConnection:
    """Delegates to a DuckDB connection; the load_files insert of one file raises (a crash mid-commit)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, file: str) -> None:
        self._con, self._file = con, file

    def execute(self, sql: str, params: Any = None):
        if sql.startswith("INSERT INTO raw.load_files") and params and params[1] == self._file:
            raise RuntimeError("simulated crash")
        return self._con.execute(sql, params) if params is not None else self._con.execute(sql)

    def executemany(self, sql: str, rows: Any):
        if sql.startswith("INSERT INTO raw.load_files") and any(row[1] == self._file for row in rows):
            raise RuntimeError("simulated crash")
        return self._con.executemany(sql, rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


@pytest.mark.parametrize("transaction", ["file", "batch"])
@pytest.mark.parametrize(("source", "victim", "before"), [
    ("tracking_events", "tracking/2026-03-02.ndjson.gz", "tracking/2026-03-01.ndjson"),
    ("social_posts", "social/posts_normalized.csv", "social/instagram/c_bea__2026-03-02T0600Z.csv"),
])
def test_a_crash_leaves_no_half_file(landing: Path, source: str, victim: str, before: str, transaction: str) -> None:
    con = duckdb.connect()
    with pytest.raises(RuntimeError, match="simulated crash"):
        ingest_source(FailingConnection(con, victim), source, landing,  # type: ignore[arg-type]
                      transaction=transaction)
    table = SOURCES[source].table
    for sql in (f"SELECT count(*) FROM raw.{table} WHERE _source_file = ?",
                "SELECT count(*) FROM raw.quarantine WHERE file = ?",
                "SELECT count(*) FROM raw.load_files WHERE file = ?"):
        assert con.execute(sql, [victim]).fetchone()[0] == 0, sql
    # an earlier file of the same batch: committed on its own, or rolled back with the batch
    earlier = con.execute("SELECT count(*) FROM raw.load_files WHERE file = ?", [before]).fetchone()[0]
    assert earlier == (1 if transaction == "file" else 0)
    # a re-run loads the rest exactly once
    report = ingest_source(con, source, landing, transaction=transaction)
    victim_result = next(f for f in report.files if f.file == victim)
    assert victim_result.status == "loaded" and victim_result.rows_loaded > 0
    reference = duckdb.connect()
    ingest_source(reference, source, landing)
    for name in (table, "quarantine"):
        cols = "* EXCLUDE (_load_id, _loaded_at)" if name == table else "* EXCLUDE (load_id, quarantined_at)"
        got = con.execute(f"SELECT {cols} FROM raw.{name} ORDER BY ALL").fetchall()
        want = reference.execute(f"SELECT {cols} FROM raw.{name} ORDER BY ALL").fetchall()
        assert got == want, name


def test_batch_transactions_load_the_same_rows(landing: Path) -> None:
    per_file, per_batch = duckdb.connect(), duckdb.connect()
    ingest_all(per_file, landing, load_id="x")
    ingest_all(per_batch, landing, load_id="x", transaction="batch")
    for name in RAW_TABLES:
        drop = {"load_files": "loaded_at", "quarantine": "quarantined_at"}.get(name, "_loaded_at")
        sql = f"SELECT * EXCLUDE ({drop}) FROM raw.{name} ORDER BY ALL"
        assert per_file.execute(sql).fetchall() == per_batch.execute(sql).fetchall(), name
    with pytest.raises(ValueError, match="transaction must be one of"):
        ingest_source(per_file, "creators", landing, transaction="row")


def test_session_settings_are_restored(landing: Path) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/New_York'")
    before = con.execute("SELECT current_setting('checkpoint_threshold')").fetchone()[0]
    ingest_source(con, "tracking_events", landing)
    assert con.execute("SELECT current_setting('TimeZone')").fetchone()[0] == "America/New_York"
    assert con.execute("SELECT current_setting('checkpoint_threshold')").fetchone()[0] == before
    # the naive timestamps were still read as UTC
    ts = con.execute("SELECT occurred_at FROM raw.tracking_events WHERE event_id = 'ev-2'").fetchone()[0]
    assert str(ts) == "2026-03-01 09:01:00"
