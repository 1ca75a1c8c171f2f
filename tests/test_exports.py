"""Funnel exports: request validation, file naming, CSV/XLSX/PDF writers, cleanup, run_export."""

from __future__ import annotations

import csv
import io
import os
import re
import struct
import zlib
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from PIL import Image

from funnellens.exports import (
    MAX_RANGE_DAYS,
    REPORT_COLUMNS,
    REPORT_QUERIES,
    REPORT_TYPES,
    ExportError,
    ExportRequest,
    ExportRequestError,
    cleanup_exports,
    export_path,
    run_export,
    validate_export_request,
    write_export,
)

NOW = datetime(2026, 2, 1, 6, 30, 15, tzinfo=UTC)


def request(report_type: str = "overview", fmt: str = "csv", **kw) -> ExportRequest:
    args = {"funnel_id": "checkout", "report_type": report_type, "date_from": "2026-01-01",
            "date_to": "2026-01-31", "format": fmt}
    args.update(kw)
    return validate_export_request(**args)


# ---------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------


def test_valid_request_is_normalised():
    req = validate_export_request(" checkout ", "DropOffs", "2026-01-01", date(2026, 1, 31), "PDF")
    assert req == ExportRequest("checkout", "dropoffs", date(2026, 1, 1), date(2026, 1, 31), "pdf")
    assert req.days == 31
    assert req.as_dict() == {"funnel_id": "checkout", "report_type": "dropoffs", "date_from": "2026-01-01",
                             "date_to": "2026-01-31", "days": "31", "format": "pdf"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"report_type": "funnel"}, "report_type 'funnel' is not one of overview, conversions, dropoffs, revenue"),
        ({"format": "docx"}, "format 'docx' is not one of csv, xlsx, pdf"),
        ({"date_from": "2026-02-02", "date_to": "2026-02-01"}, "date_from 2026-02-02 is after date_to 2026-02-01"),
        ({"date_from": "2025-01-01", "date_to": "2026-01-02"},
         "the range 2025-01-01 to 2026-01-02 covers 367 days; one export covers at most 366 days"),
        ({"date_from": "2026-13-01"}, "date_from '2026-13-01' is not a date (expected YYYY-MM-DD)"),
        ({"date_to": None}, "date_to None is not a date"),
        ({"funnel_id": "../etc"}, "funnel_id '../etc' must be 1-128 letters, digits"),
        ({"funnel_id": ""}, "funnel_id '' must be"),
        ({"funnel_id": "a/b"}, "funnel_id 'a/b' must be"),
    ],
)
def test_each_invalid_request_fails_with_a_clear_message(overrides, message):
    with pytest.raises(ExportRequestError) as info:
        request(**{("fmt" if k == "format" else k): v for k, v in overrides.items()})
    assert len(info.value.problems) == 1
    assert message in info.value.problems[0]
    assert str(info.value).startswith("invalid export request: ")
    assert isinstance(info.value, ValueError)


def test_every_problem_is_reported_at_once():
    with pytest.raises(ExportRequestError) as info:
        validate_export_request("checkout", "sales", "2026-03-01", "2026-02-01", "doc")
    problems = info.value.problems
    assert len(problems) == 3
    assert any("report_type 'sales'" in p for p in problems)
    assert any("format 'doc'" in p for p in problems)
    assert any("date_from 2026-03-01 is after date_to 2026-02-01" in p for p in problems)


def test_range_limit_is_366_days_inclusive():
    assert request(date_from="2024-01-01", date_to="2024-12-31").days == 366  # a leap year
    assert request(date_from="2026-01-01", date_to="2027-01-01").days == MAX_RANGE_DAYS
    assert request(date_from="2026-01-05", date_to="2026-01-05").days == 1
    with pytest.raises(ExportRequestError, match="covers 367 days"):
        request(date_from="2024-01-01", date_to="2025-01-01")


def test_constructing_the_dataclass_directly_also_validates():
    with pytest.raises(ExportRequestError, match="report_type"):
        ExportRequest("checkout", "nope", date(2026, 1, 1), date(2026, 1, 2), "csv")


# ---------------------------------------------------------------------------------------
# File naming
# ---------------------------------------------------------------------------------------


def test_export_path_follows_the_documented_name(tmp_path):
    path = export_path(tmp_path, request("dropoffs", "xlsx"), NOW)
    assert path == tmp_path / "checkout" / "dropoffs_2026-01-01_2026-01-31_20260201T063015Z.xlsx"
    # A naive time is UTC; an aware time is converted to UTC.
    assert export_path(tmp_path, request(), datetime(2026, 2, 1, 6, 30, 15)).name.endswith("20260201T063015Z.csv")
    cet = timezone(timedelta(hours=1))
    assert export_path(tmp_path, request(), datetime(2026, 2, 1, 7, 30, 15, tzinfo=cet)).name.endswith(
        "20260201T063015Z.csv"
    )


# ---------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------

TRICKY = ["plain", "comma, inside", 'quote "here"', "new\nline", "Grüße 🚀 日本語", "  spaced  ", "semi;colon",
          "crlf\r\nline"]


def test_csv_round_trip_escapes_commas_quotes_newlines_and_unicode(tmp_path):
    df = pd.DataFrame({"text": TRICKY, "n": range(len(TRICKY)), "rate": np.linspace(0, 1, len(TRICKY))})
    path = write_export(df, request(), tmp_path / "x" / "overview.csv", now=NOW)

    raw = path.read_bytes()
    raw.decode("utf-8")  # valid UTF-8
    assert not raw.startswith(b"\xef\xbb\xbf")  # no BOM
    assert b'"quote ""here"""' in raw and b'"comma, inside"' in raw and b'"new\nline"' in raw

    back = pd.read_csv(path, dtype={"text": str}, keep_default_na=False)
    assert back["text"].tolist() == TRICKY
    assert back["n"].tolist() == list(range(len(TRICKY)))
    np.testing.assert_allclose(back["rate"], df["rate"], rtol=0, atol=1e-15)
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["text", "n", "rate"]
    assert [r[0] for r in rows[1:]] == TRICKY


def test_csv_guards_formula_injection_unless_disabled(tmp_path):
    df = pd.DataFrame({"utm_source": ["=HYPERLINK(\"http://x\")", "+1", "-direct-", "@sum", "ok"], "n": [-1, 2, 3, 4, 5]})
    guarded = pd.read_csv(write_export(df, request(), tmp_path / "a.csv"), keep_default_na=False)
    assert guarded["utm_source"].tolist() == ["'=HYPERLINK(\"http://x\")", "'+1", "'-direct-", "'@sum", "ok"]
    assert guarded["n"].tolist() == [-1, 2, 3, 4, 5]  # numbers are never touched
    raw = pd.read_csv(write_export(df, request(), tmp_path / "b.csv", guard_formulas=False), keep_default_na=False)
    assert raw["utm_source"].tolist() == df["utm_source"].tolist()


def test_write_is_atomic_and_checks_the_suffix(tmp_path):
    df = pd.DataFrame({"a": [1]})
    with pytest.raises(ExportError, match=r"does not end in \.csv"):
        write_export(df, request(), tmp_path / "wrong.xlsx")
    write_export(df, request(), tmp_path / "ok.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.csv"]  # no .partial file left behind


# ---------------------------------------------------------------------------------------
# XLSX
# ---------------------------------------------------------------------------------------


def test_xlsx_has_a_styled_sheet_with_every_row_and_a_parameters_sheet(tmp_path):
    df = pd.DataFrame(
        {
            "period_start": pd.date_range("2026-01-01", periods=40).date,
            "visitors_unique": np.arange(40) + 100,
            "conversions": np.arange(40) % 7,
            "conversion_rate": (np.arange(40) % 7) / (np.arange(40) + 100),
            "note": ["=1+1", "Grüße, \"x\"", None] + ["a much longer piece of text for the width"] * 37,
            "seen_at": pd.date_range("2026-01-01 12:00", periods=40, tz="Europe/Berlin"),
        }
    )
    path = write_export(df, request("overview", "xlsx"), tmp_path / "o.xlsx", title="Overview test", now=NOW)
    book = load_workbook(path)
    assert book.sheetnames == ["overview", "parameters"]
    sheet = book["overview"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == tuple(df.columns)
    assert len(rows) == 41
    assert [r[1] for r in rows[1:]] == df["visitors_unique"].tolist()
    assert rows[1][0] == datetime(2026, 1, 1)
    assert rows[1][4] == "=1+1" and sheet["E2"].data_type == "s"  # text, never a formula
    assert rows[2][4] == 'Grüße, "x"' and rows[3][4] is None
    assert rows[1][5] == datetime(2026, 1, 1, 11, 0)  # 12:00 Berlin in UTC, naive
    assert sheet["A1"].font.bold and sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["E"].width > sheet.column_dimensions["C"].width
    assert sheet["D2"].number_format == "0.0%"
    params = dict(list(book["parameters"].iter_rows(values_only=True))[1:])
    assert params["title"] == "Overview test"
    assert params["funnel_id"] == "checkout" and params["date_to"] == "2026-01-31" and params["rows"] == 40
    assert params["generated_at_utc"] == "2026-02-01 06:30:15"


# ---------------------------------------------------------------------------------------
# PDF
# ---------------------------------------------------------------------------------------

_IMAGE = re.compile(rb"\n(?P<num>\d+) 0 obj\s*<<\s*/Type /XObject /Subtype /Image (?P<dict>.*?)>>\s*stream\r?\n", re.S)
_PDF_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "(": "(", ")": ")", "\\": "\\"}


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))


def _pdf_literal(text: str) -> bytes:
    """Unescape a PDF literal string (the palette of an indexed image)."""
    out = re.sub(r"\\([0-7]{1,3}|.)", lambda m: chr(int(m.group(1), 8)) if m.group(1).isdigit()
                 else _PDF_ESCAPES.get(m.group(1), m.group(1)), text, flags=re.S)
    return out.encode("latin-1")


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def pdf_images(data: bytes) -> list[Image.Image]:
    """The colour images of a matplotlib PDF, composited over white with their soft masks.

    matplotlib writes images as FlateDecode streams with a PNG predictor, i.e. PNG IDAT payloads:
    each is wrapped in a minimal PNG (IHDR, PLTE for indexed colour, IDAT, IEND) for Pillow.
    """
    decoded: dict[int, tuple[Image.Image, int | None]] = {}
    for match in _IMAGE.finditer(data):
        head = match.group("dict").decode("latin-1")
        assert "/Predictor 10" in head and "/FlateDecode" in head
        width = int(re.search(r"/Width (\d+)", head).group(1))
        height = int(re.search(r"/Height (\d+)", head).group(1))
        bits = int(re.search(r"/BitsPerComponent (\d+)", head).group(1))
        length = re.search(r"/Length (\d+)( 0 R)?", head)
        size = int(length.group(1))
        if length.group(2):  # an indirect object holds the length
            size = int(re.search(rb"\n%d 0 obj\s*(\d+)\s*endobj" % size, data).group(1))
        stream = data[match.end():match.end() + size]
        indexed = re.search(r"/Indexed /DeviceRGB \d+ \(((?:\\.|[^\\)])*)\)", head, re.S)
        colour_type = 3 if indexed else (0 if "/DeviceGray" in head else 2)
        png = b"\x89PNG\r\n\x1a\n" + _png_chunk(
            b"IHDR", struct.pack(">IIBBBBB", width, height, bits, colour_type, 0, 0, 0)
        )
        if indexed:
            png += _png_chunk(b"PLTE", _pdf_literal(indexed.group(1)))
        png += _png_chunk(b"IDAT", stream) + _png_chunk(b"IEND", b"")
        smask = re.search(r"/SMask (\d+) 0 R", head)
        decoded[int(match.group("num"))] = (Image.open(io.BytesIO(png)), int(smask.group(1)) if smask else None)
    masks = {ref for _, ref in decoded.values() if ref is not None}
    images = []
    for num, (image, smask) in decoded.items():
        if num in masks:
            continue
        rgb = image.convert("RGB")
        if smask is not None:
            white = Image.new("RGB", rgb.size, "white")
            rgb = Image.composite(rgb, white, decoded[smask][0].convert("L"))
        images.append(rgb)
    return images


def colour_pixels(image: Image.Image, hex_colour: str, tolerance: int = 12) -> int:
    target = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    pixels = np.asarray(image, dtype=int)
    return int((np.abs(pixels - target).max(axis=2) <= tolerance).sum())


REPORT_FRAMES = {
    "overview": pd.DataFrame({"period_start": pd.date_range("2026-01-01", periods=31).date,
                              "visitors_unique": np.arange(31) * 10 + 200, "conversions": np.arange(31) + 5}),
    "conversions": pd.DataFrame({"period_start": [date(2026, 1, 1)] * 3 + [date(2026, 1, 2)] * 3,
                                 "conversion_type": ["purchase", "signup", "form_submit"] * 2,
                                 "conversions": [5, 9, 2, 6, 8, 3]}),
    "dropoffs": pd.DataFrame({"funnel_id": "checkout", "step_order": [1, 2, 3], "step_id": ["a", "b", "c"],
                              "step_name": ["Landing", "Form", "Pay"], "entries": [1000, 700, 300],
                              "dropoffs": [300, 400, 30], "dropoff_rate": [0.3, 400 / 700, 0.1],
                              "severity": ["medium", "high", "low"],
                              "suggestions": ["", "'Form' loses 55% of all visitors lost in this funnel", ""]}),
    "revenue": pd.DataFrame({"period_start": pd.date_range("2026-01-01", periods=31).date,
                             "revenue": np.linspace(100, 300, 31), "refunds": np.full(31, 20.0),
                             "net_revenue": np.linspace(80, 280, 31)}),
}


CHART_COLOURS = {
    "overview": ("#305496", "#ED7D31"),
    "conversions": ("#305496",),
    "dropoffs": ("#C00000", "#FFC000", "#70AD47"),  # high, medium, low severity
    "revenue": ("#A9C4EB", "#C00000", "#203864"),  # revenue, refunds, net revenue
}


@pytest.mark.parametrize("report_type", REPORT_TYPES)
def test_pdf_has_a_title_page_a_chart_and_a_table(tmp_path, report_type):
    df = REPORT_FRAMES[report_type]
    path = write_export(df, request(report_type, "pdf"), tmp_path / f"{report_type}.pdf", now=NOW)
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert pdf_pages(data) >= 3  # title, chart, table (+ suggestions for dropoffs)
    assert b"/Subtype /Image" in data
    images = [im for im in pdf_images(data) if im.width > 200 and im.height > 100]
    assert images, "the chart page holds no chart image"
    for colour in CHART_COLOURS[report_type]:  # every data series is drawn, in its colour
        assert sum(colour_pixels(im, colour) for im in images) > 300, colour


def test_dropoff_pdf_has_a_suggestions_page_and_bars_sized_by_rate(tmp_path):
    path = write_export(REPORT_FRAMES["dropoffs"], request("dropoffs", "pdf"), tmp_path / "d.pdf")
    data = path.read_bytes()
    assert pdf_pages(data) == 4  # title, chart, suggestions, table
    chart = max(pdf_images(data), key=lambda im: im.width * im.height)
    # Same bar widths, so the drawn areas are proportional to the rates 30% : 57% : 10%.
    areas = np.array([colour_pixels(chart, c) for c in ("#FFC000", "#C00000", "#70AD47")], dtype=float)
    np.testing.assert_allclose(areas / areas.sum(), np.array([0.3, 400 / 700, 0.1]) / (0.4 + 400 / 700),
                               rtol=0.05)


def test_pdf_of_an_empty_report_is_still_valid(tmp_path):
    empty = REPORT_FRAMES["revenue"].iloc[0:0]
    data = write_export(empty, request("revenue", "pdf"), tmp_path / "e.pdf").read_bytes()
    assert data.startswith(b"%PDF-") and pdf_pages(data) == 3


def test_pdf_needs_the_chart_columns(tmp_path):
    with pytest.raises(ExportError, match="lacks the column.*net_revenue"):
        write_export(pd.DataFrame({"period_start": [date(2026, 1, 1)], "revenue": [1.0], "refunds": [0.0]}),
                     request("revenue", "pdf"), tmp_path / "r.pdf")


def test_long_tables_are_paginated(tmp_path):
    df = pd.DataFrame({"period_start": pd.date_range("2025-01-01", periods=61).date,
                       "visitors_unique": range(61), "conversions": range(61)})
    data = write_export(df, request("overview", "pdf"), tmp_path / "o.pdf").read_bytes()
    assert pdf_pages(data) == 2 + 3  # title, chart, table pages of 30 + 30 + 1 rows


# ---------------------------------------------------------------------------------------
# Cleanup
# ---------------------------------------------------------------------------------------


def _touch(path: Path, age_hours: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    stamp = NOW.timestamp() - age_hours * 3600
    os.utime(path, (stamp, stamp))
    return path


def test_cleanup_removes_only_old_export_files_inside_the_folder(tmp_path):
    root = tmp_path / "exports"
    old = _touch(root / "checkout" / "overview_2026-01-01_2026-01-31_20260130T060000Z.csv", 25)
    old_partial = _touch(root / "checkout" / f".revenue_x.pdf.partial-{'a' * 32}", 30)
    old_alone = _touch(root / "signup" / "dropoffs_2026-01-01_2026-01-31_20260130T060000Z.pdf", 48)
    fresh = _touch(root / "checkout" / "revenue_2026-01-01_2026-01-31_20260201T050000Z.xlsx", 1)
    unrelated = _touch(root / "checkout" / "notes.txt", 500)
    outside = _touch(tmp_path / "elsewhere" / "overview_2026-01-01_2026-01-31_20250101T000000Z.csv", 500)
    (root / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)

    deleted = cleanup_exports(root, max_age_hours=24, now=NOW)

    assert deleted == sorted([old, old_partial, old_alone])
    assert not old.exists() and not old_partial.exists() and not old_alone.exists()
    assert fresh.exists() and unrelated.exists() and outside.exists()
    assert not (root / "signup").exists()  # emptied funnel folder removed
    assert (root / "checkout").is_dir() and root.is_dir()


def test_cleanup_age_is_configurable_and_validated(tmp_path):
    root = tmp_path / "exports"
    two_hours = _touch(root / "f" / "overview_2026-01-01_2026-01-31_20260201T043000Z.csv", 2)
    assert cleanup_exports(root, max_age_hours=3, now=NOW) == []
    assert cleanup_exports(root, max_age_hours=1.5, now=NOW) == [two_hours]
    assert cleanup_exports(tmp_path / "missing", now=NOW) == []
    with pytest.raises(ValueError, match="max_age_hours must be a non-negative number"):
        cleanup_exports(root, max_age_hours=-1)


# ---------------------------------------------------------------------------------------
# run_export against a small DuckDB shaped like the documented marts
# ---------------------------------------------------------------------------------------


@pytest.fixture
def marts():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    days = "SELECT CAST(d AS DATE) AS period_start, row_number() OVER (ORDER BY d) AS i " \
           "FROM range(DATE '2025-12-25', DATE '2026-02-06', INTERVAL 1 DAY) t(d)"
    con.execute(f"""
        CREATE TABLE marts.fct_funnel_overview AS
        SELECT f.funnel_id, g.grain, period_start, 100 + i AS visitors_total, 80 + i AS visitors_unique,
               30 AS visitors_new, 50 + i AS visitors_returning, 10 + i % 5 AS conversions,
               (10 + i % 5) / (80 + i) AS conversion_rate, 25.0 * (10 + i % 5) AS conversion_value,
               25.0 * (10 + i % 5) / (80 + i) AS revenue_per_visitor, 25.0 AS revenue_per_conversion
        FROM ({days}), (VALUES ('checkout'), ('signup')) f(funnel_id), (VALUES ('day'), ('week')) g(grain)
    """)
    con.execute(f"""
        CREATE TABLE marts.fct_funnel_conversions AS
        SELECT 'checkout' AS funnel_id, 'day' AS grain, period_start, t.conversion_type, s.step_id,
               i % 3 + 1 AS conversions, 10.0 * (i % 3 + 1) AS conversion_value
        FROM ({days}), (VALUES ('purchase'), ('signup')) t(conversion_type), (VALUES ('pay'), ('form')) s(step_id)
    """)
    con.execute(f"""
        CREATE TABLE marts.fct_funnel_dropoffs AS
        SELECT 'checkout' AS funnel_id, 'day' AS grain, period_start, s.step_order, s.step_id, s.step_name,
               100 AS entries, s.dropoffs
        FROM ({days}),
             (VALUES (1, 'landing', 'Landing', 30), (2, 'form', 'Form, "long"', 60), (3, 'pay', 'Pay', 5))
               s(step_order, step_id, step_name, dropoffs)
    """)
    con.execute(f"""
        CREATE TABLE marts.fct_funnel_revenue AS
        SELECT 'checkout' AS funnel_id, 'day' AS grain, period_start, 100.0 + i AS revenue, 5.0 AS refunds,
               95.0 + i AS net_revenue, 200 AS visitors, 10 AS conversions
        FROM ({days})
    """)
    yield con
    con.close()


@pytest.mark.parametrize("report_type", REPORT_TYPES)
def test_run_export_writes_the_filtered_report(marts, tmp_path, report_type):
    req = request(report_type, "csv", date_from="2026-01-10", date_to="2026-01-20")
    path = run_export(marts, req, tmp_path, now=NOW)
    assert path == tmp_path / "checkout" / f"{report_type}_2026-01-10_2026-01-20_20260201T063015Z.csv"
    out = pd.read_csv(path)
    assert set(REPORT_COLUMNS[report_type]) <= set(out.columns)
    if "period_start" in out.columns:
        days = pd.to_datetime(out["period_start"]).dt.date
        assert days.min() == date(2026, 1, 10) and days.max() == date(2026, 1, 20)
    if report_type == "overview":
        assert len(out) == 11  # one funnel, day grain only
    if report_type == "conversions":
        assert len(out) == 22 and out["conversion_type"].value_counts().to_dict() == {"purchase": 11, "signup": 11}
    if report_type == "dropoffs":
        assert out["step_id"].tolist() == ["landing", "form", "pay"]
        assert out["entries"].tolist() == [1100, 1100, 1100] and out["dropoffs"].tolist() == [330, 660, 55]
        assert out["dropoff_rate"].tolist() == pytest.approx([0.3, 0.6, 0.05])
        assert out["severity"].tolist() == ["medium", "high", "low"]
        assert out["suggestions"].fillna("").tolist()[1].startswith("'Form, \"long\"' loses 63% of all visitors")
    if report_type == "revenue":
        assert out["refund_rate"].iloc[0] == pytest.approx(5 / (100 + 17))


def test_run_export_pdf_and_xlsx(marts, tmp_path):
    pdf = run_export(marts, request("overview", "pdf"), tmp_path, now=NOW)
    assert pdf.suffix == ".pdf" and b"/Subtype /Image" in pdf.read_bytes()
    xlsx = run_export(marts, request("revenue", "xlsx"), tmp_path, now=NOW)
    assert load_workbook(xlsx)["revenue"].max_row == 32


def test_run_export_uses_the_configured_export_dir(marts, funnellens_env):
    path = run_export(marts, request("overview", "csv"), now=NOW)
    assert path.is_relative_to(funnellens_env / "exports")


def test_run_export_reports_a_missing_or_misshapen_mart(tmp_path):
    con = duckdb.connect()
    with pytest.raises(ExportError, match="cannot read its mart.*build the funnel marts first"):
        run_export(con, request("overview"), tmp_path)
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.fct_funnel_revenue (funnel_id VARCHAR, grain VARCHAR, period_start DATE)")
    with pytest.raises(ExportError, match=r"does not match its mart.*REPORT_QUERIES\['revenue'\]"):
        run_export(con, request("revenue"), tmp_path)
    assert not any(tmp_path.rglob("*.csv"))


def test_report_queries_use_only_the_documented_parameters():
    assert set(REPORT_QUERIES) == set(REPORT_TYPES) == set(REPORT_COLUMNS)
    for sql in REPORT_QUERIES.values():
        assert set(re.findall(r"\$(\w+)", sql)) == {"funnel_id", "date_from", "date_to"}
