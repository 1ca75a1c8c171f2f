"""User-agent parsing: real user-agent strings, distinct-once parsing, the DuckDB lookup table."""

from __future__ import annotations

import hashlib

import duckdb
import numpy as np
import pandas as pd
import pytest
import ua_parser

from funnellens import useragents
from funnellens.useragents import (
    DEVICE_TYPES,
    DIMENSION_COLUMNS,
    parse_user_agent,
    parse_user_agents,
    user_agent_dimension,
)

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)
SAFARI_IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
LENOVO_TABLET = (
    "Mozilla/5.0 (Linux; Android 11; Lenovo TB-X606F) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
FIREFOX_ANDROID_TABLET = "Mozilla/5.0 (Android 14; Tablet; rv:125.0) Gecko/125.0 Firefox/125.0"
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15"
)
CHROMEBOOK = (
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
GOOGLEBOT_SMARTPHONE = (
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)
HEADLESS_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 "
    "Safari/537.36"
)
INSTAGRAM_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 Instagram 330.0.0.31.119 (iPhone15,2; iOS 17_4; en_US; en; scale=3.00; 1179x2556; 603725453)"
)
SAMSUNG_TV = (
    "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/4.0 "
    "Chrome/76.0.3809.146 TV Safari/537.36"
)

CASES = [
    # (user agent, device_type, browser, browser_version, os)
    (CHROME_WINDOWS, "desktop", "Chrome", "124", "Windows"),
    (SAFARI_IPHONE, "mobile", "Mobile Safari", "17", "iOS"),
    (SAFARI_IPAD, "tablet", "Mobile Safari", "16", "iOS"),
    (ANDROID_PHONE, "mobile", "Chrome Mobile", "124", "Android"),
    (ANDROID_TABLET, "tablet", "Chrome", "124", "Android"),
    (LENOVO_TABLET, "tablet", "Chrome", "120", "Android"),
    (FIREFOX_ANDROID_TABLET, "tablet", "Firefox Mobile", "125", "Android"),
    (FIREFOX_LINUX, "desktop", "Firefox", "125", "Linux"),
    (SAFARI_MAC, "desktop", "Safari", "17", "Mac OS X"),
    (CHROMEBOOK, "desktop", "Chrome", "124", "Chrome OS"),
    (GOOGLEBOT, "bot", "Googlebot", "2", "Other"),
    (GOOGLEBOT_SMARTPHONE, "bot", "Googlebot", "2", "Android"),
    ("curl/8.5.0", "bot", "curl", "8", "Other"),
    ("python-requests/2.31.0", "bot", "Python Requests", "2", "Other"),
    (HEADLESS_CHROME, "bot", "HeadlessChrome", "124", "Linux"),
    (INSTAGRAM_IOS, "mobile", "Instagram", "330", "iOS"),
    (SAMSUNG_TV, "other", "Samsung Internet", "4", "Tizen"),
    ("", "other", "Other", None, "Other"),
    ("   ", "other", "Other", None, "Other"),
    ("definitely not a browser", "other", "Other", None, "Other"),
]


@pytest.mark.parametrize(("ua", "device_type", "browser", "version", "os_family"), CASES)
def test_parse_user_agent_real_strings(ua, device_type, browser, version, os_family):
    assert parse_user_agent(ua) == (device_type, browser, version, os_family)


def test_browser_and_os_are_ua_parsers_own_families():
    """The browser/OS/version columns are exactly what ua-parser reports (no re-labelling)."""
    for ua, *_ in CASES:
        if not ua.strip():
            continue
        result = ua_parser.parse(ua)
        _, browser, version, os_family = parse_user_agent(ua)
        assert browser == (result.user_agent.family if result.user_agent else "Other")
        assert version == (result.user_agent.major if result.user_agent else None)
        assert os_family == (result.os.family if result.os else "Other")


def test_parse_user_agents_series_keeps_index_and_handles_missing():
    series = pd.Series([SAFARI_IPHONE, None, np.nan, "", CHROME_WINDOWS], index=list("abcde"))
    out = parse_user_agents(series)
    assert list(out.columns) == ["device_type", "browser", "browser_version", "os"]
    assert list(out.index) == list("abcde")
    assert out["device_type"].tolist() == ["mobile", "other", "other", "other", "desktop"]
    assert out.loc["b"].tolist()[:2] == ["other", "Other"]
    assert out["browser_version"].isna().tolist() == [False, True, True, True, False]
    assert set(out["device_type"]) <= set(DEVICE_TYPES)


def test_parse_user_agents_empty_series():
    out = parse_user_agents(pd.Series([], dtype=object))
    assert out.empty and list(out.columns) == ["device_type", "browser", "browser_version", "os"]


def test_each_distinct_user_agent_is_parsed_once(monkeypatch):
    calls: list[str] = []
    real_parse = ua_parser.parse

    def counting_parse(ua: str):
        calls.append(ua)
        return real_parse(ua)

    monkeypatch.setattr(useragents.ua_parser, "parse", counting_parse)
    rng = np.random.default_rng(7)
    pool = np.array([CHROME_WINDOWS, SAFARI_IPHONE, ANDROID_TABLET, GOOGLEBOT, None], dtype=object)
    series = pd.Series(pool[rng.integers(0, len(pool), size=20_000)])
    out = parse_user_agents(series)

    assert len(out) == 20_000
    assert sorted(calls) == sorted([CHROME_WINDOWS, SAFARI_IPHONE, ANDROID_TABLET, GOOGLEBOT, ""])
    # Mapping back is right row by row: compare with a direct per-string parse of each distinct value.
    expected = {ua: parse_user_agent(ua) for ua in pool}
    for ua, row in zip(series.head(500), out.head(500).itertuples(index=False), strict=True):
        key = None if pd.isna(ua) else ua
        assert tuple(None if pd.isna(v) else v for v in row) == expected[key]


# ---------------------------------------------------------------------------------------
# DuckDB lookup table
# ---------------------------------------------------------------------------------------


@pytest.fixture
def con():
    connection = duckdb.connect()
    connection.execute("CREATE SCHEMA staging")
    events = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(9)],
            "user_agent": [CHROME_WINDOWS, CHROME_WINDOWS, SAFARI_IPHONE, None, "", GOOGLEBOT,
                           SAFARI_IPAD, SAFARI_IPHONE, "curl/8.5.0"],
        }
    )
    connection.register("events_df", events)
    connection.execute("CREATE TABLE staging.events AS SELECT * FROM events_df")
    connection.unregister("events_df")
    yield connection
    connection.close()


def test_user_agent_dimension_writes_lookup_that_sql_joins(con):
    result = user_agent_dimension(con, "staging.events", "staging.dim_user_agents")
    assert result.parsed == 6  # 5 distinct strings + '' for NULL and the empty string
    assert result.total_rows == 6

    columns = [r[0] for r in con.execute("DESCRIBE staging.dim_user_agents").fetchall()]
    assert tuple(columns) == DIMENSION_COLUMNS
    dim = con.execute("SELECT * FROM staging.dim_user_agents").df()
    assert dim["user_agent"].is_unique
    for row in dim.itertuples(index=False):
        assert row.ua_hash == hashlib.md5(row.user_agent.encode("utf-8")).hexdigest()
        expected = parse_user_agent(row.user_agent)
        got = (row.device_type, row.browser, None if pd.isna(row.browser_version) else row.browser_version, row.os)
        assert got == expected

    # Every event joins exactly one lookup row, set-based.
    joined = con.execute(
        """
        SELECT e.event_id, d.device_type
        FROM staging.events e
        JOIN staging.dim_user_agents d ON d.user_agent = coalesce(e.user_agent, '')
        ORDER BY e.event_id
        """
    ).fetchall()
    assert [device for _, device in joined] == [
        "desktop", "desktop", "mobile", "other", "other", "bot", "tablet", "mobile", "bot"
    ]
    by_hash = con.execute(
        "SELECT count(*) FROM staging.events e JOIN staging.dim_user_agents d "
        "ON d.ua_hash = md5(coalesce(e.user_agent, ''))"
    ).fetchall()[0][0]
    assert by_hash == 9


def test_user_agent_dimension_is_incremental(con, monkeypatch):
    user_agent_dimension(con, "staging.events", "staging.dim_user_agents")
    con.execute(f"INSERT INTO staging.events VALUES ('e9', '{FIREFOX_LINUX}'), ('e10', '{CHROME_WINDOWS}')")

    calls: list[str] = []
    real_parse = ua_parser.parse
    monkeypatch.setattr(useragents.ua_parser, "parse", lambda ua: calls.append(ua) or real_parse(ua))
    result = user_agent_dimension(con, "staging.events", "staging.dim_user_agents")
    assert calls == [FIREFOX_LINUX]
    assert (result.parsed, result.total_rows) == (1, 7)
    assert con.execute(
        "SELECT count(*), count(DISTINCT user_agent) FROM staging.dim_user_agents"
    ).fetchall()[0] == (7, 7)

    calls.clear()
    result = user_agent_dimension(con, "staging.events", "staging.dim_user_agents", replace=True)
    assert (result.parsed, result.total_rows) == (7, 7)
    assert len(calls) == 7


def test_user_agent_dimension_creates_the_target_schema_and_handles_empty_source(con):
    con.execute("CREATE TABLE staging.no_events (user_agent VARCHAR)")
    result = user_agent_dimension(con, "staging.no_events", "lookup.user_agents")
    assert (result.parsed, result.total_rows) == (0, 0)
    assert con.execute("SELECT count(*) FROM lookup.user_agents").fetchall()[0][0] == 0


@pytest.mark.parametrize(
    ("source", "target", "column", "message"),
    [
        ("staging.events; DROP TABLE x", "staging.dim", "user_agent", "source_relation must be a table"),
        ("staging.events", "a.b.c.d", "user_agent", "target_table must be a table"),
        ("staging.events", "staging.dim", "ua; --", "column must be a plain column name"),
        ("staging.missing", "staging.dim", "user_agent", "cannot read column 'user_agent' of 'staging.missing'"),
        ("staging.events", "staging.dim", "agent", "cannot read column 'agent'"),
    ],
)
def test_user_agent_dimension_rejects_bad_names(con, source, target, column, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        user_agent_dimension(con, source, target, column=column)
