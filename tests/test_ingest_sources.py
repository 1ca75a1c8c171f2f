"""Every source's parser on the hand-written landing zone (tests/fixtures/landing), end to end.

Each test names the file and line of a planted problem and checks the quarantine row for it, and
checks the values that the good rows load with.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from funnellens.contract import REASON_CODES, SOURCES
from funnellens.ingest import IngestReport, UnknownSourceError, ensure_raw_schema, ingest_all, ingest_source

FIXTURES = Path(__file__).parent / "fixtures" / "landing"


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("ingest_sources") / "landing"
    shutil.copytree(FIXTURES, target)
    return target


@pytest.fixture(scope="module")
def loaded(landing: Path, tmp_path_factory: pytest.TempPathFactory):
    con = duckdb.connect(str(tmp_path_factory.mktemp("wh") / "wh.duckdb"))
    reports = ingest_all(con, landing, load_id="load-1")
    yield con, reports
    con.close()


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def table(con: duckdb.DuckDBPyConnection, name: str, order: str = "_source_file, _line") -> pd.DataFrame:
    return con.execute(f"SELECT * FROM raw.{name} ORDER BY {order}").df()


def quarantine(con: duckdb.DuckDBPyConnection, file: str) -> dict[int | None, tuple[str, str, str]]:
    """line -> (reason_code, column_name, reason) of one file."""
    out = {}
    for line, code, col, reason in rows(
        con, "SELECT line, reason_code, column_name, reason FROM raw.quarantine WHERE file = ? ORDER BY line", [file]
    ):
        out[line] = (code, col, reason)
    return out


def file_result(reports: dict[str, IngestReport], source: str, file: str):
    return next(f for f in reports[source].files if f.file == file)


# ----------------------------------------------------------------------------------------------


def test_schema_and_every_table_created() -> None:
    con = duckdb.connect()
    ensure_raw_schema(con)
    ensure_raw_schema(con)  # idempotent
    tables = {r[0] for r in rows(con, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'")}
    assert tables == {s.table for s in SOURCES.values()} | {"load_files", "quarantine"}
    cols = [r[0] for r in rows(con, "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' "
                                     "AND table_name = 'tracking_events' ORDER BY ordinal_position")]
    assert cols[-5:] == ["_source_file", "_file_hash", "_line", "_load_id", "_loaded_at"]


def test_unknown_source_and_missing_landing_zone(tmp_path: Path) -> None:
    con = duckdb.connect()
    with pytest.raises(UnknownSourceError, match="unknown source 'tiktok'.*tracking_events"):
        ingest_source(con, "tiktok", tmp_path)
    with pytest.raises(FileNotFoundError, match="landing zone"):
        ingest_source(con, "creators", tmp_path / "nope")


def test_bookkeeping_matches_reports(loaded) -> None:
    con, reports = loaded
    for name, report in reports.items():
        assert report.load_id == "load-1"
        recorded = rows(con, "SELECT count(*), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0) "
                             "FROM raw.load_files WHERE source = ?", [name])[0]
        assert recorded == (report.files_loaded + report.files_failed, report.rows_loaded, report.rows_quarantined)
        raw_rows = rows(con, f"SELECT count(*) FROM raw.{SOURCES[name].table}")[0][0]
        assert raw_rows == report.rows_loaded
        q_rows = rows(con, "SELECT count(*) FROM raw.quarantine WHERE source = ?", [name])[0][0]
        assert q_rows == report.rows_quarantined
        meta = report.as_metadata()
        assert meta["rows_loaded"] == report.rows_loaded and len(meta["files"]) == report.files_seen
        assert json.loads(json.dumps(meta)) == meta  # plain JSON values for Dagster metadata
        assert set(meta["failed_files"]) == {f.file for f in report.files if f.status == "failed"}


def test_ignored_names_are_not_loaded(loaded) -> None:
    con, _ = loaded
    files = [r[0] for r in rows(con, "SELECT file FROM raw.load_files")]
    assert not any("/_" in f or "/." in f or f.startswith("_") for f in files)
    assert "ignored_hidden_folder" not in {r[0] for r in rows(con, "SELECT creator_id FROM raw.creators")}


def test_every_ingest_reason_code_is_exercised(loaded) -> None:
    con, _ = loaded
    codes = {r[0] for r in rows(con, "SELECT DISTINCT reason_code FROM raw.quarantine")}
    issue_6_codes = {"taxonomy_violation", "erased_subject"}  # raised by the product-events issue, not here
    assert codes == set(REASON_CODES) - issue_6_codes


def test_quarantine_reasons_name_file_line_and_column(loaded) -> None:
    con, _ = loaded
    for file, line, col, reason, raw_text in rows(
        con, "SELECT file, line, column_name, reason, raw_text FROM raw.quarantine"
    ):
        assert reason.startswith(f"{file}:{line}: " if line is not None else f"{file}: ")
        if col is not None:
            assert f"column {col}: " in reason
        if line is not None:
            assert raw_text  # the offending line as read


# ----------------------------------------------------------------------------------------------
# Roster, tags, links
# ----------------------------------------------------------------------------------------------


def test_creators(loaded) -> None:
    con, reports = loaded
    df = table(con, "creators")
    assert df["creator_id"].tolist() == ["c_anna", "c_bea"]
    assert df["agency_timezone"].tolist() == ["Europe/Berlin", "Europe/Berlin"]
    assert df["creator_name"].tolist() == ["Anna", "Bea"]  # alias "Display name"
    q = quarantine(con, "creators/roster.csv")
    assert q[4][:2] == ("invalid_value", "agency_timezone") and "'Mars/Olympus'" in q[4][2]
    assert q[5][:2] == ("missing_required", "agency_id")
    assert q[6][0] == "duplicate_row"
    assert "creator_id=c_anna" in q[6][2] and "kept at creators/roster.csv:2" in q[6][2]


def test_content_tags_normalise_types_and_warn_on_unknown_columns(loaded) -> None:
    con, reports = loaded
    df = table(con, "content_tags")
    assert df["content_type"].tolist() == ["storytime", "grwm", "behind_scenes"]
    q = quarantine(con, "content_tags/tags.csv")
    assert q[5][:2] == ("invalid_timestamp", "tagged_at")
    assert q[6][:2] == ("missing_required", "content_type")
    result = file_result(reports, "content_tags", "content_tags/tags.csv")
    assert result.warnings == ["ignored unknown columns: 'notes'"]
    assert rows(con, "SELECT warnings FROM raw.load_files WHERE file = 'content_tags/tags.csv'")[0][0] == \
        "ignored unknown columns: 'notes'"


def test_tracking_links(loaded) -> None:
    con, _ = loaded
    assert table(con, "tracking_links")["link_code"].tolist() == ["spring24", "grwm1"]
    assert quarantine(con, "tracking_links/links.csv")[4][:2] == ("missing_required", "link_code")


# ----------------------------------------------------------------------------------------------
# Social posts: the export variants
# ----------------------------------------------------------------------------------------------


def test_tiktok_studio_export(loaded) -> None:
    con, _ = loaded
    df = table(con, "social_post_snapshots").query("_source_file == 'social/tiktok/c_anna/2026-03-01T0600Z.csv'")
    assert df["post_id"].tolist() == ["7340000000000000001", "7340000000000000002"]
    first = df.iloc[0]
    assert (first.platform, first.creator_id, first.export_format, first.views_metric) == \
        ("tiktok", "c_anna", "tiktok_studio", "views")
    assert first.snapshot_at == pd.Timestamp("2026-03-01 06:00")  # from the file name
    assert first.published_at == pd.Timestamp("2026-02-27 18:00")  # "Feb 27, 2026 6:00 PM"
    assert (first.views, first.likes, first.comments, first.shares) == (15200, 1204, 88, 12)  # "15.2K", "1,204"
    assert first.caption.startswith("Storytime")
    q = quarantine(con, "social/tiktok/c_anna/2026-03-01T0600Z.csv")
    assert q[4][:2] == ("missing_required", "post_id") and "/video/<id>" in q[4][2]
    assert "also" not in q[4][2]  # one message per column and reason
    assert q[5][:2] == ("invalid_value", "views") and "'-5' is negative" in q[5][2]


def test_meta_export_with_views(loaded) -> None:
    con, _ = loaded
    df = table(con, "social_post_snapshots").query("_source_file == 'social/instagram/c_anna/2026-03-01T0600Z.csv'")
    assert df["_line"].tolist() == [2, 3]
    first = df.iloc[0]
    assert (first.platform, first.creator_id, first.export_format, first.views_metric) == \
        ("instagram", "c_anna", "meta_business_suite", "views")
    assert first.snapshot_at == pd.Timestamp("2026-03-01 06:00")  # Date says "Lifetime": the file name counts
    assert (first.views, first.reach, first.likes, first.saves, first.follows) == (12400, 9000, 800, 60, 15)
    assert first.published_at == pd.Timestamp("2026-02-27 18:00")
    assert (first.account_id, first.account_username, first.duration_sec) == ("1784000001", "anna.ig", 32.0)


def test_meta_export_with_impressions_and_creator_from_file_name(loaded) -> None:
    con, reports = loaded
    df = table(con, "social_post_snapshots").query("_source_file == 'social/instagram/c_bea__2026-03-02T0600Z.csv'")
    row = df.iloc[0]
    assert (row.creator_id, row.views, row.views_metric) == ("c_bea", 3000, "impressions")
    assert row.snapshot_at == pd.Timestamp("2026-03-02 06:00")
    assert file_result(reports, "social_posts", "social/instagram/c_bea__2026-03-02T0600Z.csv").warnings == []


def test_meta_utf16_export_with_sep_line_and_dated_date_column(loaded) -> None:
    con, _ = loaded
    df = table(con, "social_post_snapshots").query("_source_file == 'social/instagram/c_bea/meta_export.csv'")
    assert df["_line"].tolist() == [3]  # sep=, is line 1, the header line 2
    row = df.iloc[0]
    assert (row.creator_id, row.post_id, row.views) == ("c_bea", "17900000000000003", 4200)
    assert row.snapshot_at == pd.Timestamp("2026-03-03")  # from Meta's Date column
    q = quarantine(con, "social/instagram/c_bea/meta_export.csv")
    assert q[4][:2] == ("invalid_number", "views") and "'abc'" in q[4][2]
    assert q[4][2].startswith("social/instagram/c_bea/meta_export.csv:4: ")


def test_normalized_export(loaded) -> None:
    con, _ = loaded
    df = table(con, "social_post_snapshots").query("_source_file == 'social/posts_normalized.csv'")
    row = df.iloc[0]
    assert (row.platform, row.creator_id, row.export_format, row.clicks) == ("tiktok", "c_cy", "normalized", 3)
    assert row.published_at == pd.Timestamp("2026-02-27 19:00")  # +01:00 -> UTC
    q = quarantine(con, "social/posts_normalized.csv")
    assert q[3][:2] == ("invalid_number", "views") and "'1.5' is not a whole number" in q[3][2]
    assert q[4][:2] == ("invalid_value", "platform") and "'myspace'" in q[4][2]


@pytest.mark.parametrize(
    ("file", "code", "needle"),
    [
        ("social/tiktok/c_anna/no_time.csv", "no_snapshot_time", "no snapshot time"),
        ("social/tiktok/no_creator_2026-03-01.csv", "no_creator", "social/<platform>/<creator_id>/"),
        ("social/instagram/c_anna/unknown_2026-03-01.csv", "unknown_columns",
         "Unmapped headers: 'Titel', 'Aufrufe', 'Gefällt mir'"),
    ],
)
def test_social_files_rejected_as_a_whole(loaded, file: str, code: str, needle: str) -> None:
    con, reports = loaded
    result = file_result(reports, "social_posts", file)
    assert result.status == "failed" and needle in result.reason
    status, reason, loaded_rows = rows(con, "SELECT status, reason, rows_loaded FROM raw.load_files WHERE file = ?",
                                       [file])[0]
    assert (status, reason, loaded_rows) == ("failed", result.reason, 0)
    q = quarantine(con, file)
    assert list(q) == [None] and q[None][0] == code and q[None][2] == result.reason
    assert rows(con, "SELECT count(*) FROM raw.social_post_snapshots WHERE _source_file = ?", [file])[0][0] == 0


def test_unknown_header_reason_lists_known_variants(loaded) -> None:
    _, reports = loaded
    reason = file_result(reports, "social_posts", "social/instagram/c_anna/unknown_2026-03-01.csv").reason
    assert "required column(s) missing: views (accepted: 'views', 'Total views', 'Views', 'Impressions'" in reason
    assert "Known headers:" in reason and "'Video link'" in reason


# ----------------------------------------------------------------------------------------------
# Fan platform
# ----------------------------------------------------------------------------------------------


def test_subscribers(loaded) -> None:
    con, _ = loaded
    df = table(con, "subscribers")
    assert df["creator_id"].unique().tolist() == ["c_anna"]  # from the folder subscribers/c_anna/
    assert df["fan_id"].tolist() == ["f1", "f2", "f3"]
    assert df["link_code"].tolist()[:2] == ["spring24", "grwm1"]  # ?c= of the URL, bare code
    assert pd.isna(df["link_code"].iloc[2])
    assert df["subscribed_at"].tolist() == [pd.Timestamp("2026-03-01 10:00"), pd.Timestamp("2026-03-01"),
                                            pd.Timestamp("2026-03-01 12:00")]
    assert df["price"].tolist() == [9.99, 9.99, 9.99] and df["currency"].tolist() == ["USD"] * 3
    q = quarantine(con, "subscribers/c_anna/fans_2026-03.csv")
    assert q[5][:2] == ("invalid_timestamp", "subscribed_at")
    assert q[6][:2] == ("invalid_value", "price")
    assert q[7][0] == "duplicate_row" and "kept at subscribers/c_anna/fans_2026-03.csv:2" in q[7][2]


def test_revenue_statement(loaded) -> None:
    con, _ = loaded
    df = table(con, "revenue_events")
    assert df["creator_id"].unique().tolist() == ["c_anna"]  # file-name prefix c_anna__
    assert df["revenue_type"].tolist() == ["subscription", "tip", "message", "refund", "chargeback",
                                           "subscription", "other"]
    assert df["counterparty"].tolist()[:6] == ["fan_one", "fan_two", "fan_three", "fan_one", "fan_four", "fan_two"]
    assert pd.isna(df["counterparty"].iloc[6])
    assert df["amount"].tolist() == [9.99, 20.0, 5.0, -9.99, -9.99, 3.0, 1.0]  # refunds negative
    assert df["net"].tolist()[3:5] == [-7.99, -9.99]
    assert df["currency"].unique().tolist() == ["USD"]  # from "$"
    assert quarantine(con, "revenue/c_anna__statement_2026-03.csv")[7][:2] == ("invalid_number", "amount")


def test_confounders(loaded) -> None:
    con, _ = loaded
    df = table(con, "confounders")
    assert df["confounder_type"].tolist() == ["promo", "price_change"]
    assert df["starts_at"].iloc[1] == pd.Timestamp("2026-03-10")
    q = quarantine(con, "confounders/confounders.csv")
    assert q[4][:2] == ("invalid_value", "ends_at") and "before starts_at" in q[4][2]
    assert q[5][:2] == ("invalid_value", "confounder_type") and "'giveaway'" in q[5][2]


# ----------------------------------------------------------------------------------------------
# Marketing, tracking, product, definitions, privacy
# ----------------------------------------------------------------------------------------------


def test_touchpoints_csv_and_ndjson(loaded) -> None:
    con, _ = loaded
    df = table(con, "touchpoints")
    assert df["user_id"].tolist() == ["u1", "u1", "u3", "u3"]
    assert df["channel"].tolist() == ["paid_social", "email", "organic_search", "direct"]
    assert df["touchpoint_id"].iloc[2] == "tp-100"  # alias "id" in NDJSON
    assert df["cost"].tolist()[0] == 1.25  # alias "spend"
    # a missing id is the MD5 of user_id|touched_at|channel|campaign
    expected = rows(con, "SELECT md5('u1|2026-03-01T10:00:00.000000|paid_social|spring')")[0][0]
    assert df["touchpoint_id"].iloc[0] == expected
    q = quarantine(con, "touchpoints/touchpoints.csv")
    assert q[4][:2] == ("missing_required", "channel")
    assert q[5][0] == "duplicate_row" and f"touchpoint_id={expected}" in q[5][2]
    assert quarantine(con, "touchpoints/touchpoints.ndjson")[3][:2] == ("invalid_value", "cost")


def test_conversions(loaded) -> None:
    con, _ = loaded
    df = table(con, "conversions")
    assert df["conversion_id"].tolist() == ["o1", "o2"]
    assert df["value"].iloc[0] == 49.9 and df["currency"].iloc[0] == "EUR"
    q = quarantine(con, "conversions/conversions.csv")
    assert q[4][:2] == ("invalid_number", "value")
    assert q[5][:2] == ("missing_required", "conversion_id")


def test_tracking_events(loaded) -> None:
    con, reports = loaded
    df = table(con, "tracking_events")
    day1 = df[df["_source_file"] == "tracking/2026-03-01.ndjson"]
    assert day1["_line"].tolist() == [1, 2, 4, 7, 8, 14, 15]
    first = day1.iloc[0]
    assert (first.event_id, first.event_type, first.funnel_step_id, first.session_id, first.visitor_id) == \
        ("ev-1", "page_view", "landing", "s1", "v1")
    assert first.metadata == '{"ab":"x"}' and (first.ab_test_id, first.variant_id) == ("cta_color", "control")
    assert first.occurred_at == pd.Timestamp("2026-03-01 10:00")
    by_line = day1.set_index("_line")
    assert by_line.loc[2, "occurred_at"] == pd.Timestamp("2026-03-01 09:01")  # +01:00 -> UTC
    assert by_line.loc[2, "previous_step_id"] == "landing"  # alias previous_step
    camel = by_line.loc[4]  # camelCase keys, no event_id
    assert (camel.event_type, camel.session_id, camel.next_step_id, camel.exit_outcome) == \
        ("step_exit", "s1", "checkout", "next_step")
    assert camel.event_id == rows(con, "SELECT md5('s1|step_exit|cart||2026-03-01T10:02:00.000000')")[0][0]
    assert (by_line.loc[7, "value_cents"], by_line.loc[7, "quantity"]) == (4990, 1)
    assert by_line.loc[8, "value_cents"] == -4990  # a refund
    assert by_line.loc[14, "occurred_at"] == pd.Timestamp("2026-03-01 10:00")  # epoch seconds 1772359200
    assert by_line.loc[15, "event_type"] == "page_view"  # PAGE_VIEW
    assert file_result(reports, "tracking_events", "tracking/2026-03-01.ndjson").warnings == \
        ["ignored unknown keys: 'color'"]

    q = quarantine(con, "tracking/2026-03-01.ndjson")
    assert sorted(q) == [5, 6, 9, 10, 11, 12, 13, 16]  # line 3 is blank: not a record
    assert q[5] == ("invalid_json", None, "tracking/2026-03-01.ndjson:5: invalid_json: the line is not valid JSON")
    assert q[6][0] == "invalid_json" and q[6][2].endswith("the line is JSON but not an object")
    assert q[9][:2] == ("missing_required", "session_id") and "also column occurred_at: invalid_timestamp" in q[9][2]
    assert q[10][:2] == ("invalid_value", "event_type") and "'click'" in q[10][2]
    assert q[11][:2] == ("invalid_timestamp", "occurred_at")
    assert q[12][:2] == ("invalid_number", "value_cents") and "'12.5' is not a whole number" in q[12][2]
    assert q[13][0] == "duplicate_row" and "kept at tracking/2026-03-01.ndjson:1" in q[13][2]
    assert q[16][0] == "invalid_json"
    raw_text = rows(con, "SELECT raw_text FROM raw.quarantine WHERE file = 'tracking/2026-03-01.ndjson' AND line = 5")
    assert raw_text == [("this is not json",)]


def test_tracking_gzip_and_cross_file_duplicates(loaded) -> None:
    con, reports = loaded
    df = table(con, "tracking_events")
    day2 = df[df["_source_file"] == "tracking/2026-03-02.ndjson.gz"]
    assert day2["event_id"].tolist() == ["ev-20", "ev-21"]
    q = quarantine(con, "tracking/2026-03-02.ndjson.gz")
    assert q[2][0] == "duplicate_row" and "kept at tracking/2026-03-01.ndjson:7" in q[2][2]
    assert '"event_id":"ev-3"' in rows(con, "SELECT raw_text FROM raw.quarantine "
                                            "WHERE file = 'tracking/2026-03-02.ndjson.gz'")[0][0]


def test_truncated_gzip_is_a_file_level_failure(loaded) -> None:
    con, reports = loaded
    result = file_result(reports, "tracking_events", "tracking/2026-03-03.ndjson.gz")
    assert result.status == "failed"
    assert "truncated or corrupt" in result.reason and "GZIP" in result.reason
    assert str(FIXTURES) not in result.reason  # names the file relative to the landing zone
    q = quarantine(con, "tracking/2026-03-03.ndjson.gz")
    assert list(q) == [None] and q[None][0] == "unreadable_file"
    assert rows(con, "SELECT count(*) FROM raw.tracking_events WHERE _source_file LIKE '%03-03%'")[0][0] == 0


def test_product_events(loaded) -> None:
    con, _ = loaded
    df = table(con, "product_events")
    assert df["event_name"].tolist() == ["prompt_submitted", "paywall_shown", "purchase_completed"]
    assert df["event_id"].iloc[0] == "m1" and df["event_id"].iloc[2] == "m4"  # messageId, message_id
    assert df["occurred_at"].iloc[0] == pd.Timestamp("2026-03-01 10:00:00.250")
    assert df["properties"].iloc[0] == '{"prompt_length":42,"model":"gpt"}'
    assert df["context"].iloc[0] == '{"app":{"version":"1.2"}}'
    expected = rows(con, """SELECT md5('paywall_shown||a2|2026-03-01T10:05:00.000000|{"placement":"onboarding"}')""")
    assert df["event_id"].iloc[1] == expected[0][0]
    q = quarantine(con, "product_events/events.ndjson")
    assert q[3][:2] == ("missing_required", "user_id") and "anonymous_id" in q[3][2]
    assert q[5][0] == "invalid_json"


def test_funnel_definitions(loaded) -> None:
    con, reports = loaded
    df = table(con, "funnel_steps", order="funnel_id, step_order")
    assert df[["funnel_id", "step_id", "step_order", "_line"]].values.tolist() == [
        ["checkout", "landing", 1, 8], ["checkout", "cart", 2, 10], ["checkout", "checkout", 3, 12],
        ["checkout", "thanks", 4, 13]]
    assert set(df["order_mode"]) == {"sequential"} and set(df["conversion_window_days"]) == {14.0}
    q = quarantine(con, "funnels/funnels.yaml")
    assert q[14][:2] == ("invalid_value", "order_mode") and "'random'" in q[14][2]
    assert q[18][:2] == ("invalid_value", "step_id") and "'welcome' is used twice" in q[18][2]
    assert q[24][0] == "duplicate_row" and "kept at funnels/funnels.yaml:8" in q[24][2]
    assert file_result(reports, "funnels", "funnels/funnels.yaml").warnings == ["ignored unknown keys: 'owner'"]


def test_ab_test_definitions(loaded) -> None:
    con, reports = loaded
    df = table(con, "ab_test_variants")
    assert df[["ab_test_id", "variant_id", "is_control", "traffic_split"]].values.tolist() == [
        ["cta_color", "control", True, 0.5], ["cta_color", "green", False, 0.5]]
    assert df["started_at"].iloc[0] == pd.Timestamp("2026-03-01") and df["alpha"].iloc[0] == 0.05
    q = quarantine(con, "ab_tests/tests.yaml")
    assert q[11][:2] == ("invalid_value", "is_control") and "exactly one control" in q[11][2]
    assert q[15][:2] == ("invalid_value", "traffic_split") and "sum to 0.9" in q[15][2]
    broken = file_result(reports, "ab_tests", "ab_tests/broken.yaml")
    assert broken.status == "failed" and broken.reason.startswith("ab_tests/broken.yaml: not valid YAML at line 4")
    assert quarantine(con, "ab_tests/broken.yaml")[None][0] == "unreadable_file"


def test_erasure_requests(loaded) -> None:
    con, _ = loaded
    df = table(con, "erasure_requests")
    assert df["subject_id"].tolist() == ["u1", "f9"]
    assert df["request_id"].iloc[0] == rows(con, "SELECT md5('user|u1|2026-03-10T00:00:00.000000')")[0][0]
    assert quarantine(con, "erasure_requests/requests.csv")[4][:2] == ("invalid_value", "subject_type")
