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
    data: pd.DataFrame
    """one ``str`` column per header position (named by the header text, made unique); NA = empty"""
    line: np.ndarray
    """1-based physical line where each record starts"""
    raw_text: pd.Series
    """each record's text as read (truncated to RAW_TEXT_LIMIT)"""
    extra_fields: pd.Series
    """True where a record has non-empty fields beyond the header's columns"""
    n_fields: pd.Series
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
    width = max(len(header), max(map(len, body), default=0))
    columns = list(itertools.zip_longest(*body, fillvalue=None)) if body else [() for _ in range(width)]
    while len(columns) < width:
        columns.append((None,) * len(body))
    names = _unique_names(header, width)
    frame = pd.DataFrame({name: pd.Series(col, dtype="str") for name, col in zip(names, columns, strict=True)})
    frame = frame.apply(lambda c: c.mask(c.fillna("").str.strip() == ""))

    n_fields = pd.Series(np.fromiter(map(len, body), dtype=np.int64, count=len(body)))
    newlines = (
        sum((frame[c].str.count("\n").fillna(0).astype("int64") for c in frame.columns),
            start=pd.Series(0, index=frame.index, dtype="int64"))
        if len(frame) else pd.Series(dtype="int64")
    )
    header_lines = 1 + sum(h.count("\n") for h in records[0])
    first_data_line = header_line_no + header_lines
    start = first_data_line + np.arange(len(body), dtype=np.int64) + (newlines.cumsum() - newlines).to_numpy()

    line_arr = np.asarray(lines, dtype=object)
    raw_text = pd.Series(line_arr[start - 1] if len(body) else [], dtype="str")
    multi = np.flatnonzero(newlines.to_numpy() > 0)
    if multi.size:  # quoted multi-line fields are rare: join their lines
        raw_text.iloc[multi] = ["\n".join(lines[s - 1 : s + n]) for s, n in
                                zip(start[multi], newlines.to_numpy()[multi], strict=True)]
    raw_text = raw_text.str.slice(0, RAW_TEXT_LIMIT)

    extra = frame.iloc[:, len(header):].notna().any(axis=1) if width > len(header) else \
        pd.Series(False, index=frame.index)
    keep = (n_fields > 0).to_numpy() & frame.notna().any(axis=1).to_numpy()  # blank lines are not records
    frame = frame.iloc[:, : len(header)]
    sel = np.flatnonzero(keep)
    return CsvRecords(
        header=header,
        data=frame.iloc[sel].reset_index(drop=True),
        line=start[sel],
        raw_text=raw_text.iloc[sel].reset_index(drop=True),
        extra_fields=extra.iloc[sel].reset_index(drop=True),
        n_fields=n_fields.iloc[sel].reset_index(drop=True),
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
