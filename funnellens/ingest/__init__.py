"""Raw ingest: landing-zone files -> DuckDB ``raw`` schema, with quarantine and load bookkeeping.

Framework-free (no Dagster): the orchestration layer wraps :func:`ingest_source` in one asset per
source. See ``funnellens.contract`` for the sources, columns, aliases and reason codes.

Usage::

    con = duckdb.connect("data/warehouse/funnellens.duckdb")
    report = ingest_source(con, "tracking_events", Path("data/landing"))
    report.as_metadata()  # counts and per-file results for Dagster

What a load guarantees:

- A file is loaded once: its SHA-256 (per source) is recorded in ``raw.load_files``; the same
  bytes under any name are skipped, so re-running over the same landing zone changes nothing.
- Each file commits in one transaction: its raw rows, its quarantine rows and its
  ``raw.load_files`` row. A crash never leaves half a file.
- A bad row goes to ``raw.quarantine`` with the file, the physical line, the column, a reason code
  and a message; the good rows of the file still load. A file that cannot be read at all is
  ``failed`` in ``raw.load_files`` and has one file-level quarantine row (line NULL).
- A row whose natural key (``Source.key``) repeats a raw row, or an earlier row of the same run,
  is quarantined as ``duplicate_row`` naming the ``file:line`` of the row that was kept.
- Ids that a source may omit are the MD5 of documented columns (``csv_sources.DERIVED_IDS``).
"""

from funnellens.ingest.errors import FileRejected, UnknownSourceError
from funnellens.ingest.loader import ensure_raw_schema, ingest_all, ingest_source, new_load_id
from funnellens.ingest.report import FileResult, IngestReport

__all__ = [
    "FileRejected",
    "FileResult",
    "IngestReport",
    "UnknownSourceError",
    "ensure_raw_schema",
    "ingest_all",
    "ingest_source",
    "new_load_id",
]
