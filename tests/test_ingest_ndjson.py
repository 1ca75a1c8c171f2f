"""Set-based NDJSON ingest: exact physical line numbers across DuckDB row groups, threads, files and
batches; gzip, CRLF, blank lines, encodings."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import pytest

from funnellens.ingest import ingest_source

ROW_GROUP = 122_880  # DuckDB's row group size: line numbering must survive its boundaries


def event_line(n: int, tag: str = "n") -> str:
    """A valid tracking event that carries its own physical line number in event_id (``<tag>-<n>``)."""
    return json.dumps({"event_id": f"{tag}-{n}", "event_type": "page_view", "session_id": f"s{n % 97}",
                       "visitor_id": f"v{n % 13}", "timestamp": "2026-03-01T10:00:00Z"}, separators=(",", ":"))


def write_events(
    path: Path, n_lines: int, bad: dict[int, str], blank: set[int], crlf: bool = False, tag: str = "n"
) -> None:
    """Lines 1..n_lines: ``bad[n]`` where given, an empty line where ``n in blank``, else a good event."""
    lines = [bad.get(n, "" if n in blank else event_line(n, tag)) for n in range(1, n_lines + 1)]
    text = ("\r\n" if crlf else "\n").join(lines) + ("\r\n" if crlf else "\n")
    data = text.encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, compresslevel=1) if path.name.endswith(".gz") else data)


def check_lines(con: duckdb.DuckDBPyConnection) -> None:
    """Every loaded row's _line equals the number written into its event_id."""
    wrong = con.execute("SELECT count(*) FROM raw.tracking_events "
                        "WHERE _line <> CAST(split_part(event_id, '-', 2) AS BIGINT)").fetchone()[0]
    assert wrong == 0


def quarantined(con: duckdb.DuckDBPyConnection, file: str) -> dict[int, str]:
    return dict(con.execute("SELECT line, reason_code FROM raw.quarantine WHERE file = ? ORDER BY line",
                            [file]).fetchall())


def test_line_numbers_exact_across_row_groups_threads_and_files(tmp_path: Path) -> None:
    n_big = 2 * ROW_GROUP + 20_000
    bad_big = {1: "garbage", ROW_GROUP: "[1]", ROW_GROUP + 1: '{"event_id":"x"', 2 * ROW_GROUP + 7: "nope",
               n_big: event_line(n_big, "a").replace("page_view", "click")}
    blank_big = {2, 50_000, ROW_GROUP + 2}
    write_events(tmp_path / "tracking/a_big.ndjson.gz", n_big, bad_big, blank_big, tag="a")
    write_events(tmp_path / "tracking/b_crlf.ndjson", 3000, {1500: "{oops"}, {10}, crlf=True, tag="b")
    write_events(tmp_path / "tracking/c_small.ndjson.gz", 10, {10: "[]"}, set(), tag="c")
    con = duckdb.connect()
    con.execute("SET threads = 2")
    report = ingest_source(con, "tracking_events", tmp_path)
    assert report.files_loaded == 3
    check_lines(con)
    assert quarantined(con, "tracking/a_big.ndjson.gz") == {
        1: "invalid_json", ROW_GROUP: "invalid_json", ROW_GROUP + 1: "invalid_json", 2 * ROW_GROUP + 7: "invalid_json",
        n_big: "invalid_value"}
    assert quarantined(con, "tracking/b_crlf.ndjson") == {1500: "invalid_json"}
    assert quarantined(con, "tracking/c_small.ndjson.gz") == {10: "invalid_json"}
    loaded = dict(con.execute("SELECT _source_file, count(*) FROM raw.tracking_events GROUP BY 1").fetchall())
    assert loaded == {"tracking/a_big.ndjson.gz": n_big - len(bad_big) - len(blank_big),
                      "tracking/b_crlf.ndjson": 3000 - 2, "tracking/c_small.ndjson.gz": 9}
    raw = con.execute("SELECT raw_text FROM raw.quarantine WHERE line = ?", [2 * ROW_GROUP + 7]).fetchone()[0]
    assert raw == "nope"


def test_line_numbers_exact_with_small_batches_and_a_broken_file(tmp_path: Path) -> None:
    """Several batches, and a batch whose multi-file read fails (so files are read one by one)."""
    for i in range(4):
        write_events(tmp_path / f"tracking/day{i}.ndjson.gz", 500 + i, {7 + i: "bad"}, {3})
    good = gzip.compress(("\n".join(event_line(n) for n in range(1, 400)) + "\n").encode())
    (tmp_path / "tracking/day2_truncated.ndjson.gz").write_bytes(good[: len(good) // 2])
    con = duckdb.connect()
    report = ingest_source(con, "tracking_events", tmp_path, ndjson_batch_bytes=12_000)
    statuses = {f.file: f.status for f in report.files}
    assert statuses.pop("tracking/day2_truncated.ndjson.gz") == "failed"
    assert set(statuses.values()) == {"loaded"}
    check_lines(con)
    for i in range(4):
        bad = {line for line, code in quarantined(con, f"tracking/day{i}.ndjson.gz").items() if code != "duplicate_row"}
        assert bad == {7 + i}
    # ids repeat across the day files: each later copy is a duplicate of day0's row
    dup = con.execute("SELECT reason FROM raw.quarantine WHERE reason_code = 'duplicate_row' "
                      "AND file = 'tracking/day3.ndjson.gz' AND line = 20").fetchone()[0]
    assert dup.endswith("of the row kept at tracking/day0.ndjson.gz:20")


def test_whitespace_lines_are_not_records_and_empty_files_load(tmp_path: Path) -> None:
    folder = tmp_path / "tracking"
    folder.mkdir()
    (folder / "a.ndjson").write_text(event_line(1) + "\n   \n\t\n" + event_line(4) + "\n")
    (folder / "empty.ndjson").write_text("")
    con = duckdb.connect()
    report = ingest_source(con, "tracking_events", tmp_path)
    assert {f.file: (f.status, f.rows_loaded, f.rows_quarantined) for f in report.files} == {
        "tracking/a.ndjson": ("loaded", 2, 0), "tracking/empty.ndjson": ("loaded", 0, 0)}
    check_lines(con)


def test_invalid_utf8_ndjson_is_unreadable(tmp_path: Path) -> None:
    folder = tmp_path / "product_events"
    folder.mkdir()
    (folder / "bad.ndjson").write_bytes(b'{"event":"a","userId":"\xff\xfe","timestamp":"2026-03-01"}\n')
    (folder / "good.ndjson").write_text('{"event":"a","userId":"u","timestamp":"2026-03-01"}\n')
    con = duckdb.connect()
    report = ingest_source(con, "product_events", tmp_path)
    results = {f.file: f for f in report.files}
    assert results["product_events/good.ndjson"].rows_loaded == 1
    bad = results["product_events/bad.ndjson"]
    assert bad.status == "failed"
    assert bad.reason == "product_events/bad.ndjson: cannot be read: invalid UTF-8 at line 1 (NDJSON must be UTF-8)"


def test_unusual_key_spellings_are_sampled(tmp_path: Path) -> None:
    folder = tmp_path / "tracking"
    folder.mkdir()
    (folder / "a.ndjson").write_text(
        '{"Event-ID":"e1","EVENT_TYPE":"page_view","Session Id":"s","visitor_id":"v","TimeStamp":"2026-03-01"}\n')
    con = duckdb.connect()
    report = ingest_source(con, "tracking_events", tmp_path)
    assert report.rows_loaded == 1 and report.files[0].warnings == []
    assert con.execute("SELECT event_id, event_type, session_id FROM raw.tracking_events").fetchone() == \
        ("e1", "page_view", "s")


@pytest.mark.scale
def test_line_numbers_at_two_million_lines(tmp_path: Path) -> None:
    n = 2_000_000
    bad = {k: "bad" for k in range(1, n, 99_991)}
    write_events(tmp_path / "tracking/big.ndjson.gz", n, bad, {n - 1})
    con = duckdb.connect()
    ingest_source(con, "tracking_events", tmp_path)
    check_lines(con)
    assert quarantined(con, "tracking/big.ndjson.gz") == dict.fromkeys(bad, "invalid_json")
