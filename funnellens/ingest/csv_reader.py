"""Reading real-world CSV exports: encodings, ``sep=`` lines, delimiters and exact line numbers.

Physical line numbers are exact: the header is line 1 (line 2 after a ``sep=,`` line), blank
lines count, and a record with a quoted multi-line field starts at its first line and takes up
as many lines as it spans.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from funnellens.ingest.errors import FileRejected

RAW_TEXT_LIMIT = 2000
"""raw_text in the quarantine keeps at most this many characters (the contract's limit)."""

_SEP_LINE = re.compile(r'^\s*"?sep=(.)"?\s*$', re.IGNORECASE)
_DELIMITERS = (",", ";", "\t", "|")

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass
class CsvRecords:
    """The records of a CSV file, as strings, with their physical line numbers."""

    header: list[str]
    data: dict[str, np.ndarray]
    """one object array of strings (None past a short record's end) per header column, by header
    text (a repeated header gets a ``__<n>`` suffix)"""
    line: np.ndarray
    """1-based physical line where each record starts"""
    raw_text: np.ndarray
    """each record's text as read (truncated to RAW_TEXT_LIMIT)"""
    extra_fields: np.ndarray
    """True where a record has non-empty fields beyond the header's columns"""
    n_fields: np.ndarray
    """number of fields in each record"""
    encoding: str
    delimiter: str


def decode_bytes(data: bytes, rel: str) -> tuple[str, str]:
    """Decode a file's bytes: a BOM decides (UTF-8, UTF-16, UTF-32); without one, UTF-16 is
    recognised by its NUL bytes, and anything else must be valid UTF-8."""
    boms = (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    )
    encoding = "utf-8"
    for bom, enc in boms:
        if data.startswith(bom):
            encoding = enc
            break
    else:
        head = data[:200]
        odd, even = head[1::2], head[0::2]  # ASCII text in UTF-16 has a NUL in every other byte
        if len(head) >= 4 and odd.count(0) >= max(2, len(odd) // 2):
            encoding = "utf-16-le"
        elif len(head) >= 4 and even.count(0) >= max(2, len(even) // 2):
            encoding = "utf-16-be"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 4].hex(" ")
        line = data[: exc.start].count(b"\n") + 1 if encoding.startswith("utf-8") else None
        where = f"line {line}, byte offset {exc.start}" if line else f"byte offset {exc.start}"
        raise FileRejected(
            "unreadable_file",
            f"{rel}: not valid {encoding.upper()} text ({exc.reason} at {where}: bytes {bad}). "
            "Save the export as UTF-8 (or UTF-16 with a BOM).",
        ) from None


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def read_csv_records(path: Path, rel: str, data: bytes | None = None) -> CsvRecords:
    """Read a CSV export. Raises :class:`FileRejected` when the file cannot be read at all."""
    raw = path.read_bytes() if data is None else data
    text, encoding = decode_bytes(raw, rel)
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()

    idx = 0
    while idx < len(lines) and not lines[idx].strip():
        idx += 1
    delimiter: str | None = None
    if idx < len(lines) and (m := _SEP_LINE.match(lines[idx])):
        delimiter = m.group(1)
        idx += 1
        while idx < len(lines) and not lines[idx].strip():
            idx += 1
    if idx >= len(lines):
        raise FileRejected("unreadable_file", f"{rel}: the file is empty (no header line)")
    delimiter = delimiter or _sniff_delimiter(lines[idx])
    header_line_no = idx + 1

    reader = csv.reader(io.StringIO("\n".join(lines[idx:]), newline=""), delimiter=delimiter, strict=True)
    records: list[list[str]] = []
    try:
        records.extend(reader)
    except csv.Error as exc:
        # the failing record starts after the lines of the records read so far (error path only)
        consumed = sum(1 + sum(f.count("\n") for f in rec) for rec in records)
        raise FileRejected(
            "unreadable_file",
            f"{rel}: malformed CSV in the record starting at line {header_line_no + consumed}: {exc}"
            + (" (an unterminated quoted field runs to the end of the file)" if "end of data" in str(exc) else ""),
        ) from None

    header = [h.replace("\ufeff", "").strip() for h in records[0]]
    body = records[1:]
    n = len(body)
    n_fields = np.fromiter(map(len, body), dtype=np.int64, count=n)
    width = max(len(header), int(n_fields.max()) if n else 0)
    names = _unique_names(header, width)
    columns = [np.array(col, dtype=object) for col in itertools.zip_longest(*body, fillvalue=None)] if n else \
        [np.empty(0, dtype=object) for _ in names]

    first_data_line = header_line_no + 1 + sum(h.count("\n") for h in records[0])
    body_lines = lines[first_data_line - 1:]
    if len(body_lines) == n:  # no record spans several lines: record i is on line first + i
        start = first_data_line + np.arange(n, dtype=np.int64)
        raw_text = np.asarray(body_lines, dtype=object)
    else:  # quoted multi-line fields: count the line breaks inside each record's fields
        newlines = np.zeros(n, dtype=np.int64)
        for col in columns:
            newlines += pd.Series(col, dtype=object).str.count("\n").fillna(0).to_numpy(dtype=np.int64)
        start = first_data_line + np.arange(n, dtype=np.int64) + np.cumsum(newlines) - newlines
        raw_text = np.asarray(lines, dtype=object)[start - 1]
        multi = np.flatnonzero(newlines > 0)
        raw_text[multi] = ["\n".join(lines[s - 1 : s + k]) for s, k in zip(start[multi], newlines[multi], strict=True)]
    if n and max(map(len, raw_text)) > RAW_TEXT_LIMIT:
        raw_text = pd.Series(raw_text, dtype=object).str.slice(0, RAW_TEXT_LIMIT).to_numpy()

    filled = [(col != "") & (col != None) for col in columns]  # noqa: E711 - elementwise on object arrays
    extra = np.logical_or.reduce(filled[len(header):]) if width > len(header) else np.zeros(n, dtype=bool)
    keep = np.flatnonzero(np.logical_or.reduce(filled)) if n else np.empty(0, dtype=np.int64)
    return CsvRecords(  # blank lines (and ",,,") are not records
        header=header,
        data={name: col[keep] for name, col in zip(names[: len(header)], columns, strict=False)},
        line=start[keep],
        raw_text=raw_text[keep],
        extra_fields=extra[keep],
        n_fields=n_fields[keep],
        encoding=encoding,
        delimiter=delimiter,
    )


def _unique_names(header: list[str], width: int) -> list[str]:
    names: list[str] = []
    seen: dict[str, int] = {}
    for i in range(width):
        base = header[i] if i < len(header) else f"__extra_{i}"
        count = seen.get(base, 0)
        seen[base] = count + 1
        names.append(base if count == 0 else f"{base}__{count}")
    return names
