"""Set-based NDJSON ingest in DuckDB: no per-row Python.

1. The files' lines are read as text with DuckDB's CSV reader (one VARCHAR column, NUL as the
   delimiter, no quoting) into a temporary table. DuckDB keeps insertion order, so within a file
   ``rowid - first rowid + 1`` is the physical line number; the contiguity of every file's rowid
   range is verified before it is relied upon. gzip is decompressed by DuckDB; a truncated stream
   fails the read and the file is rejected with that reason.
2. One ``try(from_json(line, <struct>))`` per line parses every known key (canonical names,
   aliases, camelCase forms and the key spellings sampled from each file); ``TRY_CAST`` types the
   values and a ``CASE`` chain gives each row its first problem.
3. Good rows become the stage table; the bad rows' quarantine messages are built in SQL from the
   same expressions, applied again to the bad rows only.

Blank lines are not records: they are skipped (their line numbers still count). A key spelled
unusually (``EVENT_TYPE``) is found when it occurs in the first ``KEY_SAMPLE_LINES`` lines of a
file; later, such rows fail visibly (``missing_required``), never silently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb

from funnellens.contract import Column, Source
from funnellens.ingest.csv_reader import RAW_TEXT_LIMIT
from funnellens.ingest.csv_sources import DERIVED_IDS, derived_id_sql
from funnellens.ingest.errors import FileRejected
from funnellens.ingest.headers import column_variants, normalize_header, normalize_key
from funnellens.ingest.landing import LandingFile

LINES = "__fl_lines"
FILES = "__fl_files"
STAGE = "__fl_stage"
QUARANTINE = "__fl_q"
TIMESTAMP_HINT = "expected ISO 8601 such as 2026-03-01T18:00:00Z, or a Unix epoch in seconds or milliseconds"
KEY_SAMPLE_LINES = 2000
"""Lines of each file whose JSON keys are sampled to find key spellings and unknown keys."""
IGNORED_KEYS: dict[str, tuple[str, ...]] = {
    "product_events": ("type", "receivedAt", "originalTimestamp", "integrations", "version", "channel",
                       "writeKey", "traits", "_metadata"),
}
"""Known top-level keys that map to no raw column (Segment's message envelope): not reported."""

_READ_OPTS = (
    "columns={'line': 'VARCHAR'}, delim='\\0', quote='', escape='', header=false, "
    "auto_detect=false, strict_mode=false, max_line_size=67108864"
)


def sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def is_blank_sql(expr: str) -> str:
    """SQL: ``expr`` is empty or white space only (DuckDB's one-argument trim strips spaces only)."""
    return f"(trim({expr}, {sql_str(' ' + chr(9) + chr(10) + chr(11) + chr(12) + chr(13))}) = '')"


@dataclass
class NdjsonBatch:
    """Files read into the lines table, and the ones that could not be read."""

    files: list[tuple[int, LandingFile]]
    failed: dict[int, FileRejected] = field(default_factory=dict)
    warnings: dict[int, list[str]] = field(default_factory=dict)


def _read_error(file: LandingFile, exc: Exception) -> FileRejected:
    text = str(exc).replace(str(file.path), file.rel).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    if "gzip" in first.lower() or "zlib" in first.lower():
        return FileRejected("unreadable_file",
                            f"{file.rel}: cannot be read (the gzip stream is truncated or corrupt): {first}")
    if "invalid unicode" in text.lower():
        line = re.search(r"CSV Error on Line: (\d+)", text)
        where = f" at line {line.group(1)}" if line else ""
        return FileRejected("unreadable_file", f"{file.rel}: cannot be read: invalid UTF-8{where} "
                                               "(NDJSON must be UTF-8)")
    return FileRejected("unreadable_file", f"{file.rel}: cannot be read: {first}")


def read_lines(con: duckdb.DuckDBPyConnection, files: Sequence[LandingFile]) -> NdjsonBatch:
    """Read the files' lines into ``__fl_lines`` (_file_idx = position in ``files``, line) and their
    rowid ranges into ``__fl_files``.

    All files are read in one multi-file scan (parallel gzip decompression; DuckDB's ``file_index``
    names the file); if that fails, each file is read on its own so that only the unreadable ones
    are rejected.
    """
    batch = NdjsonBatch(files=list(enumerate(files)))
    con.execute(f"DROP TABLE IF EXISTS {LINES}")
    try:
        listing = "[" + ", ".join(sql_str(str(f.path)) for f in files) + "]"
        con.execute(
            f"CREATE TEMP TABLE {LINES} AS "
            f"SELECT CAST(file_index AS INTEGER) AS _file_idx, line FROM read_csv({listing}, {_READ_OPTS})"
        )
        ok = _index_files(con, batch.files)
    except duckdb.Error:
        ok = False
    if not ok:
        con.execute(f"DROP TABLE IF EXISTS {LINES}")
        con.execute(f"CREATE TEMP TABLE {LINES} (_file_idx INTEGER, line VARCHAR)")
        for idx, file in batch.files:
            try:  # a failing statement inserts nothing
                con.execute(
                    f"INSERT INTO {LINES} SELECT {idx}, line FROM read_csv({sql_str(str(file.path))}, {_READ_OPTS})"
                )
            except duckdb.Error as exc:
                batch.failed[idx] = _read_error(file, exc)
        if not _index_files(con, batch.files):
            raise RuntimeError("DuckDB did not keep the lines of each file together; cannot number lines")
    return batch


def _index_files(con: duckdb.DuckDBPyConnection, files: Sequence[tuple[int, LandingFile]]) -> bool:
    """Build ``__fl_files`` (_file_idx, rel, _base rowid, ...); False if a file's rows are not contiguous."""
    con.execute(f"DROP TABLE IF EXISTS {FILES}")
    con.execute(f"CREATE TEMP TABLE {FILES} (_file_idx INTEGER, rel VARCHAR)")
    con.executemany(f"INSERT INTO {FILES} VALUES (?, ?)", [(i, f.rel) for i, f in files])
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {FILES} AS
        SELECT f._file_idx, f.rel, coalesce(r.lo, 0) AS _base, coalesce(r.hi, -1) AS _hi, coalesce(r.n, 0) AS _n
        FROM {FILES} f LEFT JOIN (
            SELECT _file_idx, min(rowid) AS lo, max(rowid) AS hi, count(*) AS n FROM {LINES} GROUP BY _file_idx
        ) r USING (_file_idx)
    """)
    bad = con.execute(f"SELECT count(*) FROM {FILES} WHERE _n > 0 AND _hi - _base + 1 <> _n").fetchone()[0]
    return bad == 0


# ---------------------------------------------------------------------------------------------
# Key spellings
# ---------------------------------------------------------------------------------------------


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def key_variants(source: Source) -> dict[str, list[str]]:
    """JSON keys tried for each column: name and aliases as written, snake_case and camelCase."""
    out: dict[str, list[str]] = {}
    for col in source.columns:
        keys: list[str] = []
        for variant in column_variants(col):
            snake = normalize_key(variant)
            for k in (variant, snake, _camel(snake)):
                if k not in keys:
                    keys.append(k)
        out[col.name] = keys
    return out


def sample_keys(con: duckdb.DuckDBPyConnection) -> dict[int, list[str]]:
    """Distinct top-level keys in the first lines of every file, by file index."""
    rows = con.execute(f"""
        SELECT _file_idx, k
        FROM (SELECT l._file_idx, unnest(try(json_keys(l.line))) AS k
              FROM {LINES} l JOIN {FILES} f USING (_file_idx)
              WHERE l.rowid < f._base + {KEY_SAMPLE_LINES})
        GROUP BY ALL ORDER BY 1, 2
    """).fetchall()
    out: dict[int, list[str]] = {}
    for idx, key in rows:
        out.setdefault(idx, []).append(key)
    return out


def resolve_keys(source: Source, sampled: dict[int, list[str]]) -> tuple[dict[str, list[str]], dict[int, list[str]]]:
    """Keys to read per column (known variants plus sampled spellings) and unknown keys per file."""
    variants = key_variants(source)
    by_norm: dict[str, str] = {}
    for col, keys in variants.items():
        for k in keys:
            by_norm.setdefault(normalize_key(k), col)
            by_norm.setdefault(normalize_header(k), col)
    ignored = {normalize_key(k) for k in IGNORED_KEYS.get(source.name, ())}
    unknown: dict[int, list[str]] = {}
    for idx, keys in sampled.items():
        for key in keys:  # "TimeStamp" matches case-insensitively, "eventId" by its camelCase words
            col = by_norm.get(normalize_header(key)) or by_norm.get(normalize_key(key))
            if col is None:
                if normalize_key(key) not in ignored:
                    unknown.setdefault(idx, []).append(key)
            elif key not in variants[col]:
                variants[col].append(key)
    for col in variants:  # exact duplicates only; spellings that differ by case all stay
        variants[col] = list(dict.fromkeys(variants[col]))
    return variants, unknown


# ---------------------------------------------------------------------------------------------
# Typing and checks in SQL
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    condition: str
    code: str
    column: str | None
    detail: str  # SQL expression (VARCHAR)


def _raw(col: str) -> str:
    return sql_ident(f"r__{col}")


def _quoted_sql(expr: str) -> str:
    return f"('''' || left({expr}, 120) || '''')"


def _typed_expr(col: Column) -> str:
    r = _raw(col.name)
    if col.dtype == "TIMESTAMP":
        epoch = (
            f"CASE WHEN regexp_full_match({r}, '\\d{{9,13}}(\\.\\d+)?') THEN to_timestamp("
            f"CASE WHEN CAST({r} AS DOUBLE) >= 1e11 THEN CAST({r} AS DOUBLE) / 1000 ELSE CAST({r} AS DOUBLE) END) END"
        )
        return f"CAST(coalesce(try_cast({r} AS TIMESTAMPTZ), {epoch}) AS TIMESTAMP)"
    if col.dtype == "BIGINT":
        d = f"try_cast({r} AS DOUBLE)"
        return f"CASE WHEN isfinite({d}) AND {d} = trunc({d}) THEN try_cast({r} AS BIGINT) END"
    if col.dtype == "DOUBLE":
        d = f"try_cast({r} AS DOUBLE)"
        return f"CASE WHEN isfinite({d}) THEN {d} END"
    if col.dtype == "BOOLEAN":
        return f"try_cast({r} AS BOOLEAN)"
    if col.dtype == "JSON":
        return r
    if col.allowed is not None:
        return f"lower({r})"
    return r


def _checks(source: Source) -> list[Check]:
    derived = DERIVED_IDS.get(source.name, (None, ()))[0]
    checks = [Check(
        "_bad_json", "invalid_json", None,
        "CASE WHEN _j IS NULL THEN 'the line is not valid JSON' ELSE 'the line is JSON but not an object' END",
    )]
    for col in source.columns:
        name, r, t = col.name, _raw(col.name), sql_ident(col.name)
        if col.required and name != derived:
            checks.append(Check(f"({r} IS NULL OR {is_blank_sql(r)})", "missing_required", name,
                                sql_str(f"{name} is required but empty")))
        if col.dtype == "TIMESTAMP":
            checks.append(Check(f"{r} IS NOT NULL AND {t} IS NULL", "invalid_timestamp", name,
                                f"{_quoted_sql(r)} || {sql_str(' is not a timestamp (' + TIMESTAMP_HINT + ')')}"))
        elif col.dtype in ("BIGINT", "DOUBLE"):
            what = "a whole number" if col.dtype == "BIGINT" else "a number"
            checks.append(Check(f"{r} IS NOT NULL AND {t} IS NULL", "invalid_number", name,
                                f"{_quoted_sql(r)} || {sql_str(' is not ' + what)}"))
        if col.allowed is not None:
            allowed = ", ".join(sql_str(a) for a in col.allowed)
            checks.append(Check(f"{t} IS NOT NULL AND {t} NOT IN ({allowed})", "invalid_value", name,
                                f"{_quoted_sql(r)} || {sql_str(' is not one of: ' + ', '.join(col.allowed))}"))
    if source.name == "product_events":
        either = " AND ".join(is_blank_sql(f"coalesce({_raw(c)}, '')") for c in ("user_id", "anonymous_id"))
        checks.append(Check(either,
                            "missing_required", "user_id",
                            sql_str("one of user_id / anonymous_id is required; both are empty")))
    for name in ("quantity", "cost"):
        if any(c.name == name for c in source.columns):
            checks.append(Check(f"{sql_ident(name)} < 0", "invalid_value", name,
                                f"{_quoted_sql(_raw(name))} || {sql_str(f' is negative; {name} must be >= 0')}"))
    return checks


def _struct_layers(source: Source, keys: dict[str, list[str]]) -> list[list[tuple[str, str]]]:
    """The (column, key) pairs split into structs for ``from_json``.

    DuckDB struct field names are case-insensitive, so keys that differ only by case
    (``event_type`` and ``EVENT_TYPE``) go into separate structs; one struct is the usual case.
    """
    layers: list[list[tuple[str, str]]] = []
    used: list[set[str]] = []
    for col in source.columns:
        for key in keys[col.name]:
            for layer, names in zip(layers, used, strict=True):
                if key.lower() not in names:
                    layer.append((col.name, key))
                    names.add(key.lower())
                    break
            else:
                layers.append([(col.name, key)])
                used.append({key.lower()})
    return layers


def _parse_ctes(source: Source, keys: dict[str, list[str]], src_sql: str) -> str:
    """CTEs ``src`` (given: _file_idx, _line, line) -> ``p`` (parsed) -> ``f`` (raw texts) -> ``t`` (typed)."""
    dtype = {c.name: "JSON" if c.dtype == "JSON" else "VARCHAR" for c in source.columns}
    layers = _struct_layers(source, keys)
    parsed = []
    where: dict[tuple[str, str], str] = {}
    for i, layer in enumerate(layers):
        struct = "{" + ", ".join(f"{_json_str(k)}: {_json_str(dtype[c])}" for c, k in layer) + "}"
        parsed.append(f"try(from_json(line, {sql_str(struct)})) AS _j{i}")
        where.update({(c, k): f"_j{i}" for c, k in layer})
    raws = []
    for col in source.columns:
        refs = [f"{where[(col.name, k)]}.{sql_ident(k)}" for k in keys[col.name]]
        value = f"coalesce({', '.join(refs)})" if len(refs) > 1 else refs[0]
        # nullif, not trim: trimming every value costs a third of the parse; required values are
        # checked for blanks, and staging trims
        raws.append(f"{value} AS {_raw(col.name)}" if col.dtype == "JSON"
                    else f"nullif({value}, '') AS {_raw(col.name)}")
    typed = [f"{_typed_expr(col)} AS {sql_ident(col.name)}" for col in source.columns]
    return f"""
        src AS ({src_sql}),
        p AS (SELECT _file_idx, _line, line, {", ".join(parsed)} FROM src),
        f AS (SELECT _file_idx, _line, line, _j0 AS _j,
                     (_j0 IS NULL OR NOT starts_with(ltrim(line), '{{')) AS _bad_json,
                     {", ".join(raws)}
              FROM p),
        t AS (SELECT *, {", ".join(typed)} FROM f)
    """


def _json_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def build_stage(con: duckdb.DuckDBPyConnection, source: Source, keys: dict[str, list[str]]) -> None:
    """Create ``__fl_stage``: contract columns, _file_idx, _line, _ord, _pidx (first problem) and the
    raw line of bad rows only."""
    checks = _checks(source)
    pidx = "CASE " + " ".join(f"WHEN {c.condition} THEN {i}" for i, c in enumerate(checks)) + " END"
    derived = derived_id_sql(source.name)
    id_col = DERIVED_IDS.get(source.name, (None, ()))[0]
    cols = []
    for col in source.columns:
        expr = sql_ident(col.name)
        if col.name == id_col and derived:
            expr = f"coalesce({expr}, {derived})"
        cols.append(f"{expr} AS {sql_ident(col.name)}")
    # empty lines are NULL here; whitespace-only lines fail as JSON and are dropped from the
    # quarantine (trimming every line here would cost as much as parsing it)
    src = f"""
        SELECT l._file_idx, l.rowid - fl._base + 1 AS _line, l.line
        FROM {LINES} l JOIN {FILES} fl USING (_file_idx)
        WHERE l.line IS NOT NULL
    """
    con.execute(f"DROP TABLE IF EXISTS {STAGE}")
    con.execute(f"""
        CREATE TEMP TABLE {STAGE} AS
        WITH {_parse_ctes(source, keys, src)},
        s AS (SELECT *, {pidx} AS _pidx FROM t)
        SELECT {", ".join(cols)}, _file_idx, _line,
               (CAST(_file_idx AS BIGINT) << 40) + _line AS _ord,
               _pidx, CASE WHEN _pidx IS NOT NULL THEN line END AS _bad_line,
               CAST(NULL AS VARCHAR) AS _raw_text
        FROM s
    """)


def build_quarantine(con: duckdb.DuckDBPyConnection, source: Source, keys: dict[str, list[str]]) -> None:
    """Create ``__fl_q`` (_file_idx, _line, column_name, reason_code, reason, raw_text) for bad rows."""
    checks = _checks(source)
    code = "CASE " + " ".join(f"WHEN {c.condition} THEN {sql_str(c.code)}" for c in checks) + " END"
    column = "CASE " + " ".join(
        f"WHEN {c.condition} THEN {sql_str(c.column) if c.column else 'NULL'}" for c in checks
    ) + " END"
    # a line that is not a JSON object has no columns to complain about: one message only
    json_msg = f"'invalid_json: ' || {checks[0].detail}"
    rendered = ", ".join(
        f"CASE WHEN {c.condition} THEN "
        f"{sql_str((f'column {c.column}: ' if c.column else '') + c.code + ': ')} || {c.detail} END"
        for c in checks[1:]
    )
    src = f"SELECT _file_idx, _line, _bad_line AS line FROM {STAGE} WHERE _pidx IS NOT NULL AND NOT {is_blank_sql('_bad_line')}"
    con.execute(f"DROP TABLE IF EXISTS {QUARANTINE}")
    con.execute(f"""
        CREATE TEMP TABLE {QUARANTINE} AS
        WITH {_parse_ctes(source, keys, src)}
        SELECT t._file_idx, t._line, {column} AS column_name, {code} AS reason_code,
               fl.rel || ':' || t._line || ': ' || CASE WHEN _bad_json THEN {json_msg} ELSE
                 array_to_string(list_filter([{rendered}], lambda x: x IS NOT NULL), '; also ') END AS reason,
               left(t.line, {RAW_TEXT_LIMIT}) AS raw_text
        FROM t JOIN {FILES} fl USING (_file_idx)
    """)


def fill_dup_raw_text(con: duckdb.DuckDBPyConnection, dups: str) -> None:
    """Fill raw_text of the duplicate rows in ``dups`` from the lines table (the stage keeps none)."""
    con.execute(f"""
        UPDATE {dups} d SET raw_text = left(l.line, {RAW_TEXT_LIMIT})
        FROM {FILES} fl, {LINES} l
        WHERE fl._file_idx = d._file_idx AND l._file_idx = fl._file_idx AND l.rowid = fl._base + d._line - 1
    """)


def drop_temp(con: duckdb.DuckDBPyConnection) -> None:
    for table in (LINES, FILES, STAGE, QUARANTINE, "__fl_dups", "__fl_meta"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
