"""Writing landing-zone files byte-exactly, and keeping the books on them.

``LandingWriter`` writes CSV, NDJSON and gzipped NDJSON files under the landing zone and
records, for every file, its source and row count, and for every *planted* bad row or file
its physical line (1-based; the CSV header is line 1, or line 2 after a ``sep=,`` line) and
its quarantine reason code. Planted rows are inserted at known positions among the data
rows, so the truth file and the bytes can never disagree.

Event-scale bodies are rendered in bulk (pandas ``to_csv``, pre-serialised JSON lines); the
csv module only renders the few hand-made rows.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from funnellens.contract import REASON_CODES, SOURCES


@dataclass(frozen=True)
class Planted:
    """A deliberately bad row or file: why the ingest must quarantine it."""

    reason_code: str
    note: str
    column: str | None = None

    def __post_init__(self) -> None:
        if self.reason_code not in REASON_CODES:
            raise ValueError(f"unknown reason code {self.reason_code!r}; known: {sorted(REASON_CODES)}")


@dataclass(frozen=True)
class PlantedRow:
    """A bad row placed at ``position`` among the data rows of the final file (0-based).

    ``value`` is a row of CSV values, a one-row DataFrame (rendered exactly like the body, so a
    duplicate is byte-identical to its original), or one NDJSON line.
    """

    position: int
    value: Sequence[object] | pd.DataFrame | str
    planted: Planted


def _check_text(text: str, what: str) -> None:
    if "\n" in text or "\r" in text:
        # Physical line numbers of every later row would shift; the demo never needs this.
        raise ValueError(f"a demo {what} contains a line break: {text[:60]!r}")


def _render_rows(rows: Sequence[Sequence[object]], newline: str = "\n") -> list[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    for row in rows:
        values = ["" if v is None else str(v) for v in row]
        for v in values:
            _check_text(v, "CSV value")
        writer.writerow(values)
    return buffer.getvalue().splitlines(keepends=True)


def render_frame(frame: pd.DataFrame) -> list[str]:
    """Data lines of ``frame`` (no header), rendered in bulk, each with its ``\\n``."""
    if frame.empty:
        return []
    text = frame.to_csv(index=False, header=False, lineterminator="\n")
    lines = text.splitlines(keepends=True)
    if len(lines) != len(frame):
        raise ValueError("a demo CSV value contains a line break")
    return lines


class LandingWriter:
    """Writes files under ``out_dir`` and records files, row counts and planted bad input."""

    def __init__(self, out_dir: Path, enabled: set[str] | None = None) -> None:
        self.out_dir = Path(out_dir)
        self.enabled = set(SOURCES) if enabled is None else set(enabled)
        self.files: dict[str, list[str]] = {}
        self.rows: dict[str, int] = {}
        self.bad_input: list[dict[str, object]] = []
        self._made: set[Path] = set()

    def wants(self, source: str) -> bool:
        """Whether files of ``source`` are written (``generate_landing_zone(only=...)``)."""
        return source in self.enabled

    # -- bookkeeping -----------------------------------------------------------------------
    def _target(self, source: str, rel_path: str) -> Path:
        if source not in SOURCES:
            raise KeyError(f"unknown source {source!r}")
        folder = SOURCES[source].folder
        if not rel_path.startswith(folder + "/"):
            raise ValueError(f"{rel_path!r} is not inside the {source} folder {folder!r}/")
        path = self.out_dir / rel_path
        if path.parent not in self._made:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(path.parent)
        return path

    def _record(self, source: str, rel_path: str, n_rows: int) -> None:
        self.files.setdefault(source, []).append(rel_path)
        self.rows[source] = self.rows.get(source, 0) + n_rows

    def plant(self, source: str, rel_path: str, line: int | None, planted: Planted) -> None:
        """Record one planted bad row (``line``) or bad file (``line=None``)."""
        if not self.wants(source):
            return
        self.bad_input.append({
            "source": source,
            "file": rel_path,
            "line": line,
            "reason_code": planted.reason_code,
            "column": planted.column,
            "note": planted.note,
        })

    def _insert(self, source: str, rel_path: str, lines: list[str], planted: Sequence[PlantedRow],
                first_line: int, render: object) -> list[str]:
        """Insert the planted rows at their positions (in increasing order) and record them."""
        out = list(lines)
        for row in sorted(planted, key=lambda r: r.position):
            if not 0 <= row.position <= len(out):
                raise ValueError(f"planted position {row.position} outside {rel_path} ({len(out)} rows)")
            out.insert(row.position, render(row.value))
            self.plant(source, rel_path, first_line + row.position, row.planted)
        return out

    # -- writers ---------------------------------------------------------------------------
    def write_rows(self, source: str, rel_path: str, header: Sequence[str], rows: Sequence[Sequence[object]],
                   *, planted: Sequence[PlantedRow] = (), encoding: str = "utf-8") -> Path | None:
        """A small CSV from Python rows (``encoding="utf-8-sig"`` writes a byte-order mark)."""
        if not self.wants(source):
            return None
        return self._write_csv(source, rel_path, header, _render_rows(rows), planted, encoding, False)

    def write_frame(self, source: str, rel_path: str, frame: pd.DataFrame, *, header: Sequence[str] | None = None,
                    planted: Sequence[PlantedRow] = (), encoding: str = "utf-8",
                    sep_line: bool = False) -> Path | None:
        """A CSV whose body is ``frame`` rendered in bulk; ``sep_line`` writes a first ``sep=,``."""
        if not self.wants(source):
            return None
        return self._write_csv(source, rel_path, list(frame.columns) if header is None else header,
                               render_frame(frame), planted, encoding, sep_line)

    def write_csv_lines(self, source: str, rel_path: str, header: Sequence[str], lines: list[str], *,
                        encoding: str = "utf-8", sep_line: bool = False) -> Path | None:
        """A CSV from already-rendered data lines (each ending in ``\\n``)."""
        if not self.wants(source):
            return None
        return self._write_csv(source, rel_path, header, lines, (), encoding, sep_line)

    def _write_csv(self, source: str, rel_path: str, header: Sequence[str], lines: list[str],
                   planted: Sequence[PlantedRow], encoding: str, sep_line: bool) -> Path:
        first_line = 3 if sep_line else 2

        def render(value: object) -> str:
            if isinstance(value, pd.DataFrame):
                rendered = render_frame(value)
                if len(rendered) != 1:
                    raise ValueError("a planted DataFrame row must have exactly one row")
                return rendered[0]
            return _render_rows([value])[0]  # type: ignore[list-item]

        body = self._insert(source, rel_path, lines, planted, first_line, render)
        head = ("sep=,\n" if sep_line else "") + _render_rows([header])[0]
        path = self._target(source, rel_path)
        path.write_bytes((head + "".join(body)).encode(encoding))
        self._record(source, rel_path, len(body))
        return path

    def write_ndjson(self, source: str, rel_path: str, lines: Sequence[str], *,
                     planted: Sequence[PlantedRow] = (), compress: bool = False) -> Path | None:
        """One JSON text per line (already serialised); ``compress`` gzips it (header mtime 0)."""
        if not self.wants(source):
            return None
        for row in planted:
            _check_text(str(row.value), "NDJSON line")
        body = self._insert(source, rel_path, list(lines), planted, 1, str)
        text = "\n".join(body) + "\n" if body else ""
        if text.count("\n") != len(body):
            raise ValueError(f"an NDJSON line of {rel_path} contains a line break")
        data = text.encode("utf-8")
        if compress:
            data = gzip.compress(data, mtime=0)
        path = self._target(source, rel_path)
        path.write_bytes(data)
        self._record(source, rel_path, len(body))
        return path

    def write_bytes(self, source: str, rel_path: str, data: bytes, n_rows: int,
                    planted: Planted | None = None) -> Path | None:
        """Raw bytes (YAML, a broken file); ``planted`` marks the whole file as bad input."""
        if not self.wants(source):
            return None
        path = self._target(source, rel_path)
        path.write_bytes(data)
        self._record(source, rel_path, n_rows)
        if planted is not None:
            self.plant(source, rel_path, None, planted)
        return path

    def adopt(self, source: str, rel_path: str, n_rows: int) -> Path:
        """Record a file that was written by someone else (DuckDB ``COPY``)."""
        path = self._target(source, rel_path)
        if not path.is_file():
            raise FileNotFoundError(path)
        self._record(source, rel_path, n_rows)
        return path
