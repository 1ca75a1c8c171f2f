"""Loading a source's landing files into the DuckDB ``raw`` schema.

For every source: discover the files, skip the ones whose content hash is already in
``raw.load_files``, parse the rest into a stage table (CSV and YAML: per file a header mapping,
then one vectorised pandas pass over all rows; NDJSON: set-based in DuckDB, in batches), find the
rows that repeat a natural key (of a raw row or of an earlier row in this batch), then commit each
file's raw rows, quarantine rows and ``raw.load_files`` row together, all or nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from funnellens.contract import SOURCES, Source, bookkeeping_ddl, raw_table_ddl
from funnellens.ingest import ndjson
from funnellens.ingest.csv_reader import read_csv_records
from funnellens.ingest.csv_sources import DERIVED_IDS, MappedFile, derived_id_sql, finish_csv, map_csv
from funnellens.ingest.errors import FileRejected, UnknownSourceError
from funnellens.ingest.landing import LandingFile, discover_files, sha256_file
from funnellens.ingest.ndjson import FILES, QUARANTINE, STAGE, sql_ident
from funnellens.ingest.report import FileResult, IngestReport
from funnellens.ingest.yaml_sources import parse_yaml

DUPS = "__fl_dups"
FRAME_FORMATS = ("csv", "yaml")
NDJSON_BATCH_BYTES = 512 * 1024 * 1024
"""NDJSON files are read together up to about this many (uncompressed) bytes per batch."""
GZIP_RATIO_ESTIMATE = 8
TRANSACTION_SCOPES = ("file", "batch")
CHECKPOINT_THRESHOLD = "1GB"
"""WAL size that triggers a checkpoint during a load (DuckDB's default is 16 MB)."""
"""Rough uncompressed/compressed size ratio of gzipped NDJSON, to size batches."""


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create schema ``raw``, every source's raw table and the bookkeeping tables (idempotent)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for source in SOURCES.values():
        con.execute(raw_table_ddl(source))
    for ddl in bookkeeping_ddl():
        con.execute(ddl)


def new_load_id() -> str:
    """A load id: UTC time plus a random suffix, e.g. ``20260301T060000Z-1a2b3c4d``."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def ingest_all(
    con: duckdb.DuckDBPyConnection, landing_dir: Path, *, load_id: str | None = None, transaction: str = "file"
) -> dict[str, IngestReport]:
    """Ingest every source of the contract, in contract order, under one load id."""
    load_id = load_id or new_load_id()
    return {name: ingest_source(con, name, landing_dir, load_id=load_id, transaction=transaction)
            for name in SOURCES}


def ingest_source(
    con: duckdb.DuckDBPyConnection,
    source: str,
    landing_dir: Path,
    *,
    load_id: str | None = None,
    ndjson_batch_bytes: int = NDJSON_BATCH_BYTES,
    transaction: str = "file",
) -> IngestReport:
    """Load the new files of one source from ``landing_dir/<folder>/`` into ``raw.<table>``.

    Args:
        con: a writable DuckDB connection (the raw schema is created if missing).
        source: a source name of ``funnellens.contract.SOURCES``.
        landing_dir: the landing zone root.
        load_id: recorded on every row of this load; default: a new UTC-time-based id.
        ndjson_batch_bytes: NDJSON files are parsed together up to about this many uncompressed
            bytes (memory vs. parallel gzip decompression).
        transaction: ``"file"`` (default): each file's raw rows, quarantine rows and load_files row
            commit in a transaction of their own. ``"batch"``: the files of a batch (all new CSV /
            YAML files of the source; NDJSON files up to ``ndjson_batch_bytes``) commit together;
            a file is still never half loaded, and bulk inserts skip the write-ahead log (measured:
            about a quarter less CPU on event-scale NDJSON).

    Re-running over the same landing zone changes nothing: files already in ``raw.load_files``
    (same source and SHA-256, whatever their name, loaded or failed) are skipped.
    """
    if transaction not in TRANSACTION_SCOPES:
        raise ValueError(f"transaction must be one of {TRANSACTION_SCOPES}, got {transaction!r}")
    if source not in SOURCES:
        raise UnknownSourceError(f"unknown source {source!r}; the contract's sources are: {', '.join(SOURCES)}")
    spec = SOURCES[source]
    landing_dir = Path(landing_dir)
    if not landing_dir.is_dir():
        raise FileNotFoundError(f"landing zone {landing_dir} does not exist or is not a folder")
    ensure_raw_schema(con)
    report = IngestReport(source=source, load_id=load_id or new_load_id())

    known: dict[str, tuple[str, str | None]] = {h: (f, st) for h, f, st in con.execute(
        "SELECT file_hash, min(file), min(status) FROM raw.load_files WHERE source = ? GROUP BY file_hash",
        [source],
    ).fetchall()}
    frame_files: list[_Pending] = []
    ndjson_files: list[_Pending] = []
    for file in discover_files(spec, landing_dir):
        data = file.path.read_bytes() if file.fmt in FRAME_FORMATS else None
        digest = _sha256(data) if data is not None else sha256_file(file.path)
        if digest in known:
            earlier, status = known[digest]
            if status is None:
                why = f"same content as {earlier}, read earlier in this run"
            else:
                what = "loaded" if status == "loaded" else f"recorded as {status}"
                why = f"already {what}" if earlier == file.rel else f"same content as {earlier}, already {what}"
            report.files.append(FileResult(file.rel, digest, "skipped", reason=why))
            continue
        known[digest] = (file.rel, None)
        pending = _Pending(file=file, hash=digest, data=data)
        (frame_files if data is not None else ndjson_files).append(pending)

    with _ingest_session(con):
        if frame_files:
            _ingest_frames(con, spec, _numbered(frame_files), report, transaction)
        for batch in _ndjson_batches(ndjson_files, ndjson_batch_bytes):
            _ingest_ndjson(con, spec, _numbered(batch), report, transaction)
    report.files.sort(key=lambda r: r.file)
    return report


def _numbered(files: list[_Pending]) -> list[_Pending]:
    """Number the files of a batch 0..n-1 (their ``_file_idx`` in the temporary tables)."""
    for position, pending in enumerate(files):
        pending.idx = position
    return files


def _ndjson_batches(files: list[_Pending], budget: int) -> Iterator[list[_Pending]]:
    """Consecutive files up to about ``budget`` uncompressed bytes (gzip estimated at 8x)."""
    batch: list[_Pending] = []
    size = 0
    for pending in files:
        ratio = GZIP_RATIO_ESTIMATE if pending.file.fmt.endswith(".gz") else 1
        est = pending.file.path.stat().st_size * ratio
        if batch and size + est > budget:
            yield batch
            batch, size = [], 0
        batch.append(pending)
        size += est
    if batch:
        yield batch


# ---------------------------------------------------------------------------------------------


@dataclass
class _Pending:
    file: LandingFile
    hash: str
    data: bytes | None = None
    idx: int = -1
    warnings: list[str] = field(default_factory=list)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextlib.contextmanager
def _ingest_session(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Session settings for a load, restored afterwards.

    - TimeZone UTC: a timestamp without an offset is UTC (the contract), and TIMESTAMPTZ -> TIMESTAMP
      casts give UTC wall time.
    - checkpoint_threshold 1 GB, then one CHECKPOINT: many small per-file commits would otherwise
      trigger a checkpoint every 16 MB of WAL, each rewriting the table's last row groups (measured:
      3x the cost of the inserts themselves). Not higher: committed rows stay in memory until a
      checkpoint (with no limit, 10M events held 8.6 GB).
    """
    setting = "SELECT current_setting(?)"
    timezone = con.execute(setting, ["TimeZone"]).fetchone()[0]
    threshold = con.execute(setting, ["checkpoint_threshold"]).fetchone()[0]
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET checkpoint_threshold = {ndjson.sql_str(CHECKPOINT_THRESHOLD)}")
    try:
        yield
    finally:
        con.execute(f"SET TimeZone = {ndjson.sql_str(timezone)}")
        con.execute(f"SET checkpoint_threshold = {ndjson.sql_str(threshold)}")
        with contextlib.suppress(duckdb.Error):  # read-only or in-memory databases
            con.execute("CHECKPOINT")


def _ingest_frames(
    con: duckdb.DuckDBPyConnection, spec: Source, files: list[_Pending], report: IngestReport, transaction: str
) -> None:
    """CSV and YAML files: map each file (or reject it), then type and check all rows at once."""
    failed: dict[int, FileRejected] = {}
    mapped: list[MappedFile] = []
    mapped_idx: list[int] = []
    rows: list[pd.DataFrame] = []
    quarantine: list[pd.DataFrame] = []
    for pending in files:
        assert pending.data is not None
        try:
            if pending.file.fmt == "yaml":
                parsed = parse_yaml(spec, pending.file, pending.data)
                rows.append(parsed.rows.assign(_file_idx=pending.idx))
                quarantine.append(parsed.quarantine.assign(_file_idx=pending.idx))
            else:
                records = read_csv_records(pending.file.path, pending.file.rel, pending.data)
                parsed = map_csv(spec, pending.file, records)
                mapped.append(parsed)
                mapped_idx.append(pending.idx)
        except FileRejected as err:
            failed[pending.idx] = err
            continue
        pending.warnings = parsed.warnings
        pending.data = None  # the bytes are parsed: let them go
    if mapped:
        good, bad = finish_csv(spec, mapped, mapped_idx)
        rows.append(good)
        quarantine.append(bad)

    _files_table(con, files)
    columns = [c.name for c in spec.columns]
    frame = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=[*columns, "_line", "_raw_text",
                                                                                 "_file_idx"])
    qframe = pd.concat(quarantine, ignore_index=True) if quarantine else pd.DataFrame(
        columns=["_file_idx", "_line", "column_name", "reason_code", "reason", "raw_text"])
    id_col = DERIVED_IDS.get(spec.name, (None, ()))[0]
    casts = []
    for col in spec.columns:
        expr = f"CAST(df.{sql_ident(col.name)} AS {col.dtype})"
        casts.append(f"{expr} AS {sql_ident(col.name)}")
    select = ", ".join(casts)
    con.register("__fl_df", frame)
    con.register("__fl_qdf", qframe)
    try:
        con.execute(f"DROP TABLE IF EXISTS {STAGE}")
        con.execute(f"""
            CREATE TEMP TABLE {STAGE} AS
            SELECT *, CAST(NULL AS INTEGER) AS _pidx FROM (
              SELECT {select}, CAST(df._file_idx AS INTEGER) AS _file_idx, CAST(df._line AS BIGINT) AS _line,
                     (CAST(df._file_idx AS BIGINT) << 40) + CAST(df._line AS BIGINT) AS _ord,
                     CAST(df._raw_text AS VARCHAR) AS _raw_text
              FROM __fl_df df)
        """)
        if id_col:
            con.execute(f"UPDATE {STAGE} SET {sql_ident(id_col)} = {derived_id_sql(spec.name)} "
                        f"WHERE {sql_ident(id_col)} IS NULL")
        con.execute(f"DROP TABLE IF EXISTS {QUARANTINE}")
        con.execute(f"""
            CREATE TEMP TABLE {QUARANTINE} AS
            SELECT CAST(_file_idx AS INTEGER) AS _file_idx, CAST(_line AS BIGINT) AS _line,
                   CAST(column_name AS VARCHAR) AS column_name, CAST(reason_code AS VARCHAR) AS reason_code,
                   CAST(reason AS VARCHAR) AS reason, CAST(raw_text AS VARCHAR) AS raw_text
            FROM __fl_qdf
        """)
    finally:
        con.unregister("__fl_df")
        con.unregister("__fl_qdf")
    try:
        _commit(con, spec, files, failed, report, ndjson_batch=False, transaction=transaction)
    finally:
        ndjson.drop_temp(con)


def _files_table(con: duckdb.DuckDBPyConnection, files: list[_Pending]) -> None:
    con.execute(f"DROP TABLE IF EXISTS {FILES}")
    con.execute(f"CREATE TEMP TABLE {FILES} (_file_idx INTEGER, rel VARCHAR)")
    con.executemany(f"INSERT INTO {FILES} VALUES (?, ?)", [(p.idx, p.file.rel) for p in files])


def _ingest_ndjson(
    con: duckdb.DuckDBPyConnection, spec: Source, files: list[_Pending], report: IngestReport, transaction: str
) -> None:
    try:
        batch = ndjson.read_lines(con, [p.file for p in files])
        keys, unknown = ndjson.resolve_keys(spec, ndjson.sample_keys(con))
        for pending in files:
            if unknown.get(pending.idx):
                pending.warnings = ["ignored unknown keys: " + ", ".join(repr(k) for k in unknown[pending.idx])]
        ndjson.build_stage(con, spec, keys)
        ndjson.build_quarantine(con, spec, keys)
        _commit(con, spec, files, batch.failed, report, ndjson_batch=True, transaction=transaction)
    finally:
        ndjson.drop_temp(con)


# ---------------------------------------------------------------------------------------------
# Duplicates and the per-file commit
# ---------------------------------------------------------------------------------------------


def _key_eq(spec: Source, left: str, right: str) -> str:
    parts = []
    for name in spec.key:
        col = spec.column(name)
        op = "=" if col.required else "IS NOT DISTINCT FROM"
        parts.append(f"{left}.{sql_ident(name)} {op} {right}.{sql_ident(name)}")
    return " AND ".join(parts)


def _find_duplicates(con: duckdb.DuckDBPyConnection, spec: Source) -> None:
    """``__fl_dups``: stage rows whose natural key repeats a raw row or an earlier stage row.

    ``kept`` is ``file:line`` of the row that stays: the raw row if there is one, else the first
    occurrence in this batch (files in path order, then lines).
    """
    key_cols = ", ".join(sql_ident(k) for k in spec.key)
    key_text = " || ', ' || ".join(
        f"{ndjson.sql_str(k + '=')} || coalesce(CAST(g.{sql_ident(k)} AS VARCHAR), 'NULL')" for k in spec.key
    )
    mask = "((CAST(1 AS BIGINT) << 40) - 1)"
    con.execute(f"DROP TABLE IF EXISTS {DUPS}")
    con.execute(f"""
        CREATE TEMP TABLE {DUPS} AS
        WITH good AS (SELECT {key_cols}, _file_idx, _line, _ord, _raw_text FROM {STAGE} WHERE _pidx IS NULL),
        existing AS (
            SELECT g._ord, min(r._source_file || ':' || r._line) AS kept
            FROM good g JOIN raw.{spec.table} r ON {_key_eq(spec, 'g', 'r')}
            GROUP BY g._ord
        ),
        firsts AS (SELECT {key_cols}, min(_ord) AS first_ord FROM good GROUP BY ALL HAVING count(*) > 1),
        inbatch AS (
            SELECT g._ord, fl.rel || ':' || (f.first_ord & {mask}) AS kept
            FROM good g JOIN firsts f ON {_key_eq(spec, 'g', 'f')}
            JOIN {FILES} fl ON fl._file_idx = (f.first_ord >> 40)
            WHERE g._ord > f.first_ord
        ),
        d AS (SELECT _ord, arg_min(kept, pri) AS kept
              FROM (SELECT _ord, kept, 0 AS pri FROM existing UNION ALL SELECT _ord, kept, 1 FROM inbatch)
              GROUP BY _ord)
        SELECT g._file_idx, g._line, g._ord, d.kept, {key_text} AS key_text, g._raw_text AS raw_text
        FROM d JOIN good g USING (_ord)
    """)


def _commit(
    con: duckdb.DuckDBPyConnection,
    spec: Source,
    files: list[_Pending],
    failed: dict[int, FileRejected],
    report: IngestReport,
    *,
    ndjson_batch: bool,
    transaction: str,
) -> None:
    """Write the stage to raw: each file's rows, quarantine rows and load_files row commit together,
    in a transaction of their own (``transaction="file"``) or with the other files of the batch
    (``"batch"``)."""
    _find_duplicates(con, spec)
    dup_counts = dict(con.execute(f"SELECT _file_idx, count(*) FROM {DUPS} GROUP BY 1").fetchall())
    bad_counts = dict(con.execute(f"SELECT _file_idx, count(*) FROM {QUARANTINE} GROUP BY 1").fetchall())
    if ndjson_batch and dup_counts:
        ndjson.fill_dup_raw_text(con, DUPS)
    columns = ", ".join(sql_ident(c.name) for c in spec.columns)
    meta = "_source_file, _file_hash, _line, _load_id, _loaded_at"
    q_cols = ("source, file, file_hash, line, column_name, reason_code, reason, raw_text, load_id, "
              "quarantined_at")

    def load(pending: _Pending) -> FileResult:
        """One file's raw rows, quarantine rows and load_files row (inside a transaction)."""
        rel, digest, idx = pending.file.rel, pending.hash, pending.idx
        now = datetime.now(UTC).replace(tzinfo=None)
        if idx in failed:
            err = failed[idx]
            con.execute(f"INSERT INTO raw.quarantine ({q_cols}) VALUES (?, ?, ?, NULL, NULL, ?, ?, NULL, ?, ?)",
                        [spec.name, rel, digest, err.code, err.reason, report.load_id, now])
            result = FileResult(rel, digest, "failed", 0, 1, err.reason, pending.warnings)
        else:
            anti = (f" AND _ord NOT IN (SELECT _ord FROM {DUPS} WHERE _file_idx = {idx})"
                    if dup_counts.get(idx) else "")
            loaded = con.execute(
                f"INSERT INTO raw.{spec.table} ({columns}, {meta}) "
                f"SELECT {columns}, ?, ?, _line, ?, ? FROM {STAGE} "
                f"WHERE _file_idx = {idx} AND _pidx IS NULL{anti}",
                [rel, digest, report.load_id, now],
            ).fetchone()[0]
            bad = 0
            if bad_counts.get(idx):  # (statements skipped when empty: small files are many)
                bad = con.execute(
                    f"INSERT INTO raw.quarantine ({q_cols}) "
                    f"SELECT ?, ?, ?, _line, column_name, reason_code, reason, raw_text, ?, ? "
                    f"FROM {QUARANTINE} WHERE _file_idx = {idx} ORDER BY _line",
                    [spec.name, rel, digest, report.load_id, now],
                ).fetchone()[0]
            dups = 0
            if dup_counts.get(idx):
                dups = con.execute(
                    f"INSERT INTO raw.quarantine ({q_cols}) "
                    f"SELECT ?, ?, ?, _line, NULL, 'duplicate_row', "
                    f"? || ':' || _line || ': duplicate_row: repeats the natural key (' || key_text "
                    f"|| ') of the row kept at ' || kept, raw_text, ?, ? "
                    f"FROM {DUPS} WHERE _file_idx = {idx} ORDER BY _line",
                    [spec.name, rel, digest, rel, report.load_id, now],
                ).fetchone()[0]
            result = FileResult(rel, digest, "loaded", int(loaded), int(bad + dups), None, pending.warnings)
        con.execute(
            "INSERT INTO raw.load_files (source, file, file_hash, status, rows_loaded, rows_quarantined, "
            "reason, warnings, load_id, loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [spec.name, rel, digest, result.status, result.rows_loaded, result.rows_quarantined, result.reason,
             "; ".join(result.warnings) or None, report.load_id, now],
        )
        return result

    def load_batch() -> list[FileResult]:
        """All files of the batch with one statement per table (parallel, and fewer statements)."""
        now = datetime.now(UTC).replace(tzinfo=None)
        con.execute("CREATE OR REPLACE TEMP TABLE __fl_meta (_file_idx INTEGER, rel VARCHAR, file_hash VARCHAR)")
        con.executemany("INSERT INTO __fl_meta VALUES (?, ?, ?)", [(p.idx, p.file.rel, p.hash) for p in files])
        anti = f" AND s._ord NOT IN (SELECT _ord FROM {DUPS})" if dup_counts else ""
        good = dict(con.execute(
            f"SELECT _file_idx, count(*) FROM {STAGE} s WHERE _pidx IS NULL{anti} GROUP BY 1").fetchall())
        con.execute(
            f"INSERT INTO raw.{spec.table} ({columns}, {meta}) "
            f"SELECT {', '.join('s.' + sql_ident(c.name) for c in spec.columns)}, m.rel, m.file_hash, s._line, ?, ? "
            f"FROM {STAGE} s JOIN __fl_meta m USING (_file_idx) WHERE s._pidx IS NULL{anti}",
            [report.load_id, now])
        if bad_counts:
            con.execute(f"INSERT INTO raw.quarantine ({q_cols}) "
                        f"SELECT ?, m.rel, m.file_hash, q._line, q.column_name, q.reason_code, q.reason, q.raw_text, "
                        f"?, ? FROM {QUARANTINE} q JOIN __fl_meta m USING (_file_idx) ORDER BY q._file_idx, q._line",
                        [spec.name, report.load_id, now])
        if dup_counts:
            con.execute(f"INSERT INTO raw.quarantine ({q_cols}) "
                        f"SELECT ?, m.rel, m.file_hash, d._line, NULL, 'duplicate_row', m.rel || ':' || d._line "
                        f"|| ': duplicate_row: repeats the natural key (' || d.key_text || ') of the row kept at ' "
                        f"|| d.kept, d.raw_text, ?, ? FROM {DUPS} d JOIN __fl_meta m USING (_file_idx) "
                        f"ORDER BY d._file_idx, d._line", [spec.name, report.load_id, now])
        results = []
        for pending in files:
            idx = pending.idx
            if idx in failed:
                err = failed[idx]
                results.append(FileResult(pending.file.rel, pending.hash, "failed", 0, 1, err.reason,
                                          pending.warnings))
            else:
                results.append(FileResult(pending.file.rel, pending.hash, "loaded", int(good.get(idx, 0)),
                                          int(bad_counts.get(idx, 0) + dup_counts.get(idx, 0)), None,
                                          pending.warnings))
        if failed:
            con.executemany(
                f"INSERT INTO raw.quarantine ({q_cols}) VALUES (?, ?, ?, NULL, NULL, ?, ?, NULL, ?, ?)",
                [[spec.name, p.file.rel, p.hash, failed[p.idx].code, failed[p.idx].reason, report.load_id, now]
                 for p in files if p.idx in failed])
        con.executemany(
            "INSERT INTO raw.load_files (source, file, file_hash, status, rows_loaded, rows_quarantined, "
            "reason, warnings, load_id, loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [[spec.name, r.file, r.hash, r.status, r.rows_loaded, r.rows_quarantined, r.reason,
              "; ".join(r.warnings) or None, report.load_id, now] for r in results])
        return results

    groups = [[p] for p in files] if transaction == "file" else [files]
    for group in groups:
        con.execute("BEGIN TRANSACTION")
        try:
            results = [load(pending) for pending in group] if transaction == "file" else load_batch()
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        report.files.extend(results)
