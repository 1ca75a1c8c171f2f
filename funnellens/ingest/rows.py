"""Vectorised row validation for the frame-based (CSV and YAML) sources.

A :class:`RowChecks` collects checks as boolean masks over all rows; the first failing check of
a row decides its quarantine reason code and column, and the reason text names the others too.
The contract's columns are typed by :func:`type_columns` with the parsers of ``values``.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from funnellens.contract import Source
from funnellens.ingest.csv_reader import RAW_TEXT_LIMIT
from funnellens.ingest.values import (
    clean_text,
    parse_integers,
    parse_numbers,
    parse_timestamps,
    snake_vocab,
)

TIMESTAMP_HINT = "expected ISO 8601 such as 2026-03-01T18:00:00Z, or a form like 'Mar 1, 2026' / '03/01/2026 18:00'"
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
QUARANTINE_FRAME_COLUMNS = ("_line", "column_name", "reason_code", "reason", "raw_text")


def quoted(s: pd.Series, limit: int = 120) -> pd.Series:
    """``'value'`` for messages, shortened."""
    text = s.astype("str").fillna("")
    short = text.str.slice(0, limit) + np.where(text.str.len() > limit, "...", "")
    return "'" + short + "'"


@dataclass
class RowChecks:
    """Failing-row masks in the order they were added."""

    index: pd.Index
    items: list[tuple[pd.Series, str | None, str, pd.Series]] = field(default_factory=list)

    def add(self, mask: pd.Series, column: str | None, code: str, detail: str | pd.Series) -> None:
        mask = mask.fillna(False).astype(bool).reindex(self.index, fill_value=False)
        if not mask.any():
            return
        if isinstance(detail, str):
            detail = pd.Series(detail, index=self.index, dtype="str")
        self.items.append((mask, column, code, detail.reindex(self.index).astype("str")))

    def first_problems(self) -> pd.DataFrame:
        """Per failing row: the first problem's reason_code and column_name, and a message naming
        every problem: ``column views: invalid_number: '12x' is not a whole number; also ...``."""
        code = pd.Series(pd.NA, index=self.index, dtype="str")
        column = pd.Series(pd.NA, index=self.index, dtype="str")
        message = pd.Series(pd.NA, index=self.index, dtype="str")
        reported: dict[tuple[str | None, str], pd.Series] = {}
        for mask, col, c, d in self.items:
            # one message per (column, reason) and row: a specific check may precede a generic one
            seen = reported.get((col, c))
            reported[(col, c)] = mask if seen is None else (seen | mask)
            if seen is not None:
                mask = mask & ~seen
            rendered = (f"column {col}: " if col else "") + f"{c}: " + d
            new = mask & code.isna()
            code = code.mask(new, c)
            if col is not None:
                column = column.mask(new, col)
            message = message.mask(new, rendered)
            more = mask & ~new
            if more.any():
                message = message.mask(more, message + "; also " + rendered)
        failed = code.notna()
        return pd.DataFrame({"reason_code": code, "column_name": column, "detail": message})[failed]


def type_columns(
    source: Source,
    frame: pd.DataFrame,
    checks: RowChecks,
    *,
    derived: set[str] | frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """Type every contract column present in ``frame`` (strings) and check it.

    Checks in contract column order: required values present (``missing_required``), then types
    (``invalid_timestamp``, ``invalid_number``, ``invalid_value`` for booleans), then vocabularies
    (``invalid_value``). ``derived`` columns are filled later (e.g. an MD5 id) and are not required
    here. Columns absent from ``frame`` come back as all-NA of the right type.
    """
    out = pd.DataFrame(index=frame.index)
    for col in source.columns:
        raw = frame[col.name] if col.name in frame else pd.Series(pd.NA, index=frame.index, dtype="str")
        text = clean_text(raw)
        missing = text.isna()
        if col.required and col.name not in derived:
            checks.add(missing, col.name, "missing_required", f"{col.name} is required but empty")
        if col.dtype == "TIMESTAMP":
            values, bad = parse_timestamps(text)
            checks.add(bad, col.name, "invalid_timestamp", quoted(text) + f" is not a timestamp ({TIMESTAMP_HINT})")
        elif col.dtype == "DOUBLE":
            values, bad, _abbr = parse_numbers(text)
            checks.add(bad, col.name, "invalid_number", quoted(text) + " is not a number")
        elif col.dtype == "BIGINT":
            values, bad = parse_integers(text)
            checks.add(bad, col.name, "invalid_number", quoted(text) + " is not a whole number")
        elif col.dtype == "BOOLEAN":
            low = text.str.lower()
            values = pd.Series(pd.NA, index=frame.index, dtype="boolean")
            values = values.mask(low.isin(_TRUE), True).mask(low.isin(_FALSE), False)
            checks.add(text.notna() & values.isna(), col.name, "invalid_value",
                       quoted(text) + " is not a boolean (true/false)")
        elif col.allowed is not None:
            values = snake_vocab(text)
            checks.add(values.notna() & ~values.isin(col.allowed), col.name, "invalid_value",
                       quoted(text) + f" is not one of: {', '.join(col.allowed)}")
        else:
            values = text
        out[col.name] = values
    return out


def check_non_negative(
    checks: RowChecks, typed: pd.DataFrame, raw: pd.DataFrame, columns: tuple[str, ...]
) -> None:
    """Counts, prices and costs must be >= 0 (the message quotes the value as written)."""
    for name in columns:
        if name in typed:
            shown = clean_text(raw[name]) if name in raw else typed[name].astype("str")
            checks.add(typed[name] < 0, name, "invalid_value", quoted(shown) + f" is negative; {name} must be >= 0")


def check_timezones(checks: RowChecks, typed: pd.DataFrame, column: str) -> None:
    zones = zoneinfo.available_timezones() | {"UTC"}
    values = typed[column]
    checks.add(values.notna() & ~values.isin(zones), column, "invalid_value",
               quoted(values) + " is not an IANA time zone name (e.g. Europe/Berlin, America/New_York)")


def check_order(checks: RowChecks, typed: pd.DataFrame, start: str, end: str) -> None:
    checks.add(typed[end] < typed[start], end, "invalid_value",
               f"{end} " + quoted(typed[end].astype("str")) + f" is before {start} "
               + quoted(typed[start].astype("str")))


def split_rows(typed: pd.DataFrame, meta: pd.DataFrame, checks: RowChecks) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Good rows and quarantine rows.

    ``meta`` has, per row, ``_file_idx``, ``_rel`` (the file), ``_line`` and ``_raw_text``. Good rows
    keep the typed columns plus ``_file_idx``, ``_line`` and ``_raw_text``; quarantine rows have
    ``_file_idx`` and :data:`QUARANTINE_FRAME_COLUMNS`, with a reason ``<file>:<line>: <message>``.
    """
    typed = typed.copy()
    for name in ("_file_idx", "_line", "_raw_text"):
        typed[name] = meta[name].to_numpy()
    problems = checks.first_problems()
    bad = typed.index.isin(problems.index)
    at = meta.loc[problems.index]
    q = pd.DataFrame({
        "_file_idx": at["_file_idx"].to_numpy(),
        "_line": at["_line"].astype("int64").to_numpy(),
        "column_name": problems["column_name"].to_numpy(),
        "reason_code": problems["reason_code"].to_numpy(),
        "reason": (at["_rel"].astype("str") + ":" + at["_line"].astype("str") + ": " + problems["detail"]).to_numpy(),
        "raw_text": at["_raw_text"].astype("str").str.slice(0, RAW_TEXT_LIMIT).to_numpy(),
    })
    return typed[~bad].reset_index(drop=True), q


@dataclass
class ParsedFile:
    """One frame-source file after parsing: good rows, quarantine rows and file warnings."""

    rows: pd.DataFrame
    """typed contract columns + ``_line`` + ``_raw_text``"""
    quarantine: pd.DataFrame
    """``QUARANTINE_FRAME_COLUMNS``"""
    warnings: list[str] = field(default_factory=list)
