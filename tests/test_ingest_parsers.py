"""Unit tests of the ingest's building blocks: value parsers, header mapping, CSV reading, naming rules."""

from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from funnellens.contract import SOCIAL_POSTS, SOURCES, TRACKING_EVENTS
from funnellens.ingest.csv_reader import read_csv_records
from funnellens.ingest.csv_sources import DERIVED_IDS, derived_id_sql, detect_social_variant
from funnellens.ingest.errors import FileRejected
from funnellens.ingest.headers import map_headers, normalize_header, normalize_key
from funnellens.ingest.landing import (
    creator_from_filename,
    creator_from_folders,
    discover_files,
    file_format,
    snapshot_from_filename,
)
from funnellens.ingest.ndjson import key_variants
from funnellens.ingest.values import (
    link_codes,
    parse_integers,
    parse_numbers,
    parse_timestamps,
    revenue_types,
)

# ----------------------------------------------------------------------------------------------
# Values
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01T18:00:00Z", datetime(2026, 3, 1, 18)),
        ("2026-03-01T18:00:00+02:00", datetime(2026, 3, 1, 16)),
        ("2026-03-01T18:00:00.250-05:00", datetime(2026, 3, 1, 23, 0, 0, 250000)),
        ("2026-03-01 18:00", datetime(2026, 3, 1, 18)),
        ("2026-03-01", datetime(2026, 3, 1)),
        ("Mar 1, 2026", datetime(2026, 3, 1)),
        ("March 1, 2026 6:30 PM", datetime(2026, 3, 1, 18, 30)),
        ("Feb 27, 2026 6:00 PM", datetime(2026, 2, 27, 18)),
        ("03/01/2026 18:00", datetime(2026, 3, 1, 18)),  # Meta: month first
        ("03/01/2026", datetime(2026, 3, 1)),
        ("1 Mar 2026", datetime(2026, 3, 1)),
        ("2026-03-01 18:00 UTC", datetime(2026, 3, 1, 18)),
        ("1772388000", datetime(2026, 3, 1, 18)),  # epoch seconds
        ("1772388000000", datetime(2026, 3, 1, 18)),  # epoch milliseconds
    ],
)
def test_parse_timestamps_accepts_export_formats(text: str, expected: datetime) -> None:
    values, bad = parse_timestamps(pd.Series([text], dtype="str"))
    assert not bad.iloc[0]
    assert values.iloc[0] == pd.Timestamp(expected)
    assert str(values.dtype) == "datetime64[us]"


@pytest.mark.parametrize("text", ["yesterday", "13/01/2026", "2026-02-30", "2026-13-01T00:00:00Z", "12"])
def test_parse_timestamps_flags_garbage(text: str) -> None:
    values, bad = parse_timestamps(pd.Series([text], dtype="str"))
    assert bad.iloc[0]
    assert pd.isna(values.iloc[0])


def test_parse_timestamps_missing_is_not_bad() -> None:
    values, bad = parse_timestamps(pd.Series(["", None, "  "], dtype="str"))
    assert values.isna().all()
    assert not bad.any()


@pytest.mark.parametrize(
    ("text", "expected", "abbreviated"),
    [
        ("1234", 1234.0, False),
        ("1,234", 1234.0, False),
        ("1,234,567.5", 1234567.5, False),
        ("1.2K", 1200.0, True),
        ("15.2k", 15200.0, True),
        ("3M", 3_000_000.0, True),
        ("$12.50", 12.5, False),
        ("-$3", -3.0, False),
        ("(12.50)", -12.5, False),
        ("12.50 USD", 12.5, False),
        ("€7", 7.0, False),
        ("1\u00a0000", 1000.0, False),
    ],
)
def test_parse_numbers(text: str, expected: float, abbreviated: bool) -> None:
    values, bad, abbr = parse_numbers(pd.Series([text], dtype="str"))
    assert not bad.iloc[0]
    assert values.iloc[0] == pytest.approx(expected, rel=0, abs=1e-9)
    assert bool(abbr.iloc[0]) is abbreviated


@pytest.mark.parametrize("text", ["12abc", "nan", "inf", "1,2", "12..5", "--3"])
def test_parse_numbers_flags_garbage(text: str) -> None:
    values, bad, _ = parse_numbers(pd.Series([text], dtype="str"))
    assert bad.iloc[0]
    assert pd.isna(values.iloc[0])


def test_parse_integers_requires_whole_numbers_except_abbreviations() -> None:
    values, bad = parse_integers(pd.Series(["12", "12.0", "12.5", "1.25K", "-5", ""], dtype="str"))
    assert values.tolist()[:5] == [12, 12, pd.NA, 1250, -5]
    assert bad.tolist() == [False, False, True, False, False, False]
    assert str(values.dtype) == "Int64"


def test_link_codes_from_bare_codes_and_urls() -> None:
    s = pd.Series(["spring24", "https://onlyfans.com/anna?c=spring24&x=1", "https://x.com/a?utm=1&c=abc",
                   "https://onlyfans.com/anna", None, " "], dtype="str")
    out = link_codes(s)
    assert out.iloc[:4].tolist() == ["spring24", "spring24", "abc", "https://onlyfans.com/anna"]
    assert out.iloc[4:].isna().all()


@pytest.mark.parametrize(
    ("description", "rtype", "party"),
    [
        ("Subscription from Anna K", "subscription", "Anna K"),
        ("Recurring subscription from bob_99", "subscription", "bob_99"),
        ("Tip from @carl", "tip", "@carl"),
        ("Payment for message from Dee", "message", "Dee"),
        ("Refund for tip from Eve", "refund", "Eve"),
        ("REFUND", "refund", None),
        ("Chargeback from Fay", "chargeback", "Fay"),
        ("Payout to bank", "other", None),
        ("", "other", None),
    ],
)
def test_revenue_types(description: str, rtype: str, party: str | None) -> None:
    types, parties = revenue_types(pd.Series([description], dtype="str"))
    assert types.iloc[0] == rtype
    assert (parties.iloc[0] if pd.notna(parties.iloc[0]) else None) == party


# ----------------------------------------------------------------------------------------------
# Headers
# ----------------------------------------------------------------------------------------------


def test_normalize_header_rule() -> None:
    assert normalize_header("\ufeff Total-Views ") == "total_views"
    assert normalize_header("Total   views") == normalize_header("total_views")
    assert normalize_key("eventId") == "event_id"
    assert normalize_key("previousStep") == "previous_step"


def test_map_headers_aliases_priority_and_unknowns() -> None:
    headers = ["Post ID", "Impressions", "Views", "Account name", "Mystery"]
    mapping = map_headers(headers, SOCIAL_POSTS.columns, ignored=("Account name",))
    assert mapping.mapped["Post ID"] == "post_id"
    assert mapping.mapped["Views"] == "views"  # Views outranks Impressions
    assert "Impressions" not in mapping.mapped
    assert mapping.unknown == ["Mystery"]
    assert mapping.ignored == ["Account name"]
    warnings = " ".join(mapping.warnings())
    assert "'Mystery'" in warnings and "'Impressions'" in warnings


@pytest.mark.parametrize(
    ("headers", "variant"),
    [
        (["Video title", "Video link", "Post time", "Total likes", "Total comments", "Total shares", "Total views"],
         "tiktok_studio"),
        (["Post ID", "Account ID", "Account username", "Account name", "Description", "Duration (sec)",
          "Publish time", "Permalink", "Post type", "Data comment", "Date", "Views", "Reach", "Likes", "Shares",
          "Follows", "Comments", "Saves"], "meta_business_suite"),
        (["Post ID", "Account ID", "Permalink", "Publish time", "Impressions"], "meta_business_suite"),
        (["platform", "creator_id", "snapshot_at", "post_id", "views"], "normalized"),
    ],
)
def test_detect_social_variant(headers: list[str], variant: str) -> None:
    assert detect_social_variant(headers) == variant


def test_json_key_variants_cover_camel_case_and_aliases() -> None:
    keys = key_variants(TRACKING_EVENTS)
    assert {"event_id", "eventId"} <= set(keys["event_id"])
    assert {"timestamp", "occurred_at", "occurredAt"} <= set(keys["occurred_at"])
    assert {"previous_step", "previousStep"} <= set(keys["previous_step_id"])


def test_derived_ids_name_existing_columns() -> None:
    for source, (id_col, parts) in DERIVED_IDS.items():
        spec = SOURCES[source]
        assert spec.column(id_col).required
        for part in parts:
            spec.column(part)
        assert derived_id_sql(source).startswith("md5(concat_ws('|'")


# ----------------------------------------------------------------------------------------------
# CSV reading
# ----------------------------------------------------------------------------------------------


def test_utf16_meta_export_with_sep_line_has_exact_line_numbers(tmp_path: Path) -> None:
    text = "sep=,\r\nPost ID,Views,Description\r\n1,\"1,234\",\"multi\r\nline\"\r\n\r\n2,5,x,,\r\n3,6,y,extra\r\n"
    path = tmp_path / "meta.csv"
    path.write_bytes(text.encode("utf-16"))
    rec = read_csv_records(path, "meta.csv")
    assert rec.encoding == "utf-16" and rec.delimiter == ","
    assert rec.header == ["Post ID", "Views", "Description"]
    # sep= is line 1, header line 2, the quoted field spans lines 3-4, line 5 is blank
    assert rec.line.tolist() == [3, 6, 7]
    assert rec.data["Description"].tolist() == ["multi\nline", "x", "y"]
    assert rec.raw_text.tolist() == ['1,"1,234","multi\nline"', "2,5,x,,", "3,6,y,extra"]
    assert rec.extra_fields.tolist() == [False, False, True]  # trailing empty fields are harmless


def test_bom_semicolon_csv(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"\xef\xbb\xbfFan ID;Price\r\nf1;9,99\r\n")
    rec = read_csv_records(path, "x.csv")
    assert rec.header == ["Fan ID", "Price"] and rec.delimiter == ";"
    assert rec.line.tolist() == [2]


def test_undecodable_csv_is_rejected_with_position(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a,b\n1,\xff\n")
    with pytest.raises(FileRejected) as err:
        read_csv_records(path, "bad.csv")
    assert err.value.code == "unreadable_file"
    assert "line 2" in err.value.reason and "UTF-8" in err.value.reason


def test_unterminated_quote_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('a,b\n1,"open\n2,3\n')
    with pytest.raises(FileRejected, match="malformed CSV in the record starting at line 2"):
        read_csv_records(path, "q.csv")


def test_empty_csv_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("\n\n")
    with pytest.raises(FileRejected, match="empty"):
        read_csv_records(path, "e.csv")


def test_line_numbers_of_many_multiline_records(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    spans = rng.integers(0, 3, size=500)  # embedded newlines per record
    rows = ["id,text"]
    expected = []
    line = 2
    for i, n in enumerate(spans):
        expected.append(line)
        body = "\n".join(f"part{k}" for k in range(n + 1))
        rows.append(f'{i},"{body}"')
        line += n + 1
    path = tmp_path / "m.csv"
    path.write_text("\n".join(rows) + "\n")
    rec = read_csv_records(path, "m.csv")
    assert rec.line.tolist() == expected


# ----------------------------------------------------------------------------------------------
# Landing zone rules
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("c1__2026-03-01T0600Z.csv", datetime(2026, 3, 1, 6)),
        ("2026-03-01T06-00-00.csv", datetime(2026, 3, 1, 6)),
        ("export_2026-03-01.csv", datetime(2026, 3, 1)),
        ("c1__2026-03-01T06:30.csv", datetime(2026, 3, 1, 6, 30)),
        ("posts.csv", None),
        ("c1__2026-02-30.csv", None),
    ],
)
def test_snapshot_from_filename(name: str, expected: datetime | None) -> None:
    assert snapshot_from_filename(name) == expected


def test_creator_naming_rules() -> None:
    assert creator_from_filename("c_anna__2026-03-01.csv") == "c_anna"
    assert creator_from_filename("2026-03-01.csv") is None
    assert creator_from_folders(("tiktok", "c_anna")) == "c_anna"
    assert creator_from_folders(("instagram",)) is None
    assert creator_from_folders(("c_bea",)) == "c_bea"


def test_discovery_formats_and_ignored_names(tmp_path: Path) -> None:
    root = tmp_path / "tracking"
    (root / "2026").mkdir(parents=True)
    (root / "_tmp").mkdir()
    (root / "b.ndjson").write_text("{}\n")
    (root / "2026" / "a.ndjson.gz").write_bytes(gzip.compress(b"{}\n"))
    (root / "c.JSONL").write_text("{}\n")
    (root / ".hidden.ndjson").write_text("{}\n")
    (root / "_skip.ndjson").write_text("{}\n")
    (root / "_tmp" / "x.ndjson").write_text("{}\n")
    (root / "notes.txt").write_text("x")
    found = discover_files(TRACKING_EVENTS, tmp_path)
    assert [(f.rel, f.fmt) for f in found] == [
        ("tracking/2026/a.ndjson.gz", "ndjson.gz"),
        ("tracking/b.ndjson", "ndjson"),
        ("tracking/c.JSONL", "ndjson"),
    ]
    assert file_format("x.ndjson.gz", ("ndjson", "ndjson.gz")) == "ndjson.gz"
    assert file_format("x.yml", ("yaml",)) == "yaml"
