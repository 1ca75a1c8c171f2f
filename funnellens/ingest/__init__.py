"""Raw ingest: landing-zone files -> DuckDB ``raw`` schema, with quarantine and load bookkeeping.

Framework-free (no Dagster): the orchestration layer wraps :func:`ingest_source` in one asset per
source. See ``funnellens.contract`` for the sources, columns, aliases and reason codes.

    >>> import duckdb
    >>> con = duckdb.connect("warehouse.duckdb")
    >>> ensure_raw_schema(con)
    >>> report = ingest_source(con, "tracking_events", Path("data/landing"))
    >>> report.as_metadata()["rows_loaded"]
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
