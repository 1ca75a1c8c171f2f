"""pandera gates of the raw layer: one DataFrameSchema per raw table, built from the contract.

Every schema checks, for its table (``funnellens.contract``):

- every contract column and the load metadata columns are present, with their types;
- required columns are not null, and required text is not blank;
- vocabularies (``allowed``) hold;
- counts, prices and costs are >= 0, and the ranges of the definitions hold (traffic split in
  [0, 1], alpha in (0, 1), step order >= 1, conversion window > 0);
- row rules: a confounder does not end before it starts, refunds and chargebacks are not positive,
  a product event has a user or an anonymous id;
- the bookkeeping tables: statuses and reason codes from the contract, non-negative row counts.

:func:`validate_raw_table` runs a schema over a table (or one load of it) chunk by chunk and adds
the set-based checks that a chunk cannot see: the natural key is unique over the whole table,
and each A/B test has exactly one control and splits that sum to 1.
"""

from __future__ import annotations

import math
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd
import pandera.pandas as pa

from funnellens.contract import (
    LOAD_FILES_COLUMNS,
    LOAD_METADATA,
    QUARANTINE_COLUMNS,
    REASON_CODES,
    SOURCES,
    Column,
    Source,
)

PANDAS_DTYPES = {
    "VARCHAR": "str",
    "JSON": "str",
    "TIMESTAMP": "datetime64[us]",
    "DOUBLE": "float64",
    "BIGINT": "Int64",
    "BOOLEAN": "boolean",
}
"""pandas dtypes of DuckDB types as ``fetch_df_chunk`` returns them."""

NON_NEGATIVE: dict[str, tuple[str, ...]] = {
    "social_post_snapshots": ("views", "reach", "likes", "comments", "shares", "saves", "follows", "clicks",
                              "duration_sec"),
    "subscribers": ("price",),
    "touchpoints": ("cost",),
    "tracking_events": ("quantity",),
}
SPLIT_TOLERANCE = 1e-6
FAILURE_SAMPLE = 20


def _not_blank() -> pa.Check:
    return pa.Check(lambda s: s.str.strip().str.len() > 0, ignore_na=True, name="not_blank")


def _column(col: Column, extra: list[pa.Check] | None = None) -> pa.Column:
    checks: list[pa.Check] = list(extra or [])
    if col.allowed is not None:
        checks.append(pa.Check.isin(list(col.allowed)))
    if col.required and col.dtype in ("VARCHAR", "JSON"):
        checks.append(_not_blank())
    return pa.Column(PANDAS_DTYPES[col.dtype], checks=checks, nullable=not col.required, coerce=True,
                     required=True, description=col.description or None)


def _range_checks(table: str) -> dict[str, list[pa.Check]]:
    out: dict[str, list[pa.Check]] = {name: [pa.Check.ge(0)] for name in NON_NEGATIVE.get(table, ())}
    if table == "creators":
        out["agency_timezone"] = [pa.Check.isin(sorted(zoneinfo.available_timezones() | {"UTC"}),
                                                error="iana_time_zone")]
    if table == "funnel_steps":
        out["step_order"] = [pa.Check.ge(1)]
        out["conversion_window_days"] = [pa.Check.gt(0)]
    if table == "ab_test_variants":
        out["traffic_split"] = [pa.Check.in_range(0, 1)]
        out["alpha"] = [pa.Check.in_range(0, 1, include_min=False, include_max=False)]
    return out


def _row_checks(table: str) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if table == "confounders":
        checks.append(pa.Check(lambda df: ~(df["ends_at"] < df["starts_at"]).fillna(False),
                               name="ends_not_before_starts"))
    if table == "revenue_events":
        checks.append(pa.Check(
            lambda df: ~(df["revenue_type"].isin(["refund", "chargeback"]) & (df["amount"] > 0)).fillna(False),
            name="refunds_not_positive"))
    if table == "product_events":
        checks.append(pa.Check(lambda df: df["user_id"].notna() | df["anonymous_id"].notna(),
                               name="user_or_anonymous_id"))
    return checks


def _metadata_columns() -> dict[str, pa.Column]:
    out = {c.name: _column(c) for c in LOAD_METADATA}
    out["_line"] = _column(next(c for c in LOAD_METADATA if c.name == "_line"), [pa.Check.ge(1)])
    out["_file_hash"] = _column(next(c for c in LOAD_METADATA if c.name == "_file_hash"),
                                [pa.Check.str_matches(r"^[0-9a-f]{64}$")])
    return out


def source_schema(source: Source) -> pa.DataFrameSchema:
    """The pandera schema of a source's raw table."""
    ranges = _range_checks(source.table)
    columns = {c.name: _column(c, ranges.get(c.name)) for c in source.columns}
    columns.update(_metadata_columns())
    return pa.DataFrameSchema(columns, checks=_row_checks(source.table), name=f"raw.{source.table}",
                              strict=True, ordered=False)


def _bookkeeping_schema(table: str, cols: tuple[Column, ...]) -> pa.DataFrameSchema:
    extra: dict[str, list[pa.Check]] = {}
    if table == "load_files":
        extra = {"rows_loaded": [pa.Check.ge(0)], "rows_quarantined": [pa.Check.ge(0)],
                 "file_hash": [pa.Check.str_matches(r"^[0-9a-f]{64}$")],
                 "source": [pa.Check.isin(list(SOURCES))]}
    else:
        extra = {"line": [pa.Check.ge(1)], "reason_code": [], "source": [pa.Check.isin(list(SOURCES))]}
    columns = {c.name: _column(c, extra.get(c.name)) for c in cols}
    checks: list[pa.Check] = []
    if table == "load_files":
        checks.append(pa.Check(lambda df: (df["status"] != "failed") | df["reason"].notna(),
                               name="failed_has_reason"))
    else:
        file_level = [c for c in REASON_CODES if "(file-level)" in REASON_CODES[c]]
        checks.append(pa.Check(lambda df: ~df["reason_code"].isin(file_level) | df["line"].isna(),
                               name="file_level_has_no_line"))
    return pa.DataFrameSchema(columns, checks=checks, name=f"raw.{table}", strict=True)


RAW_SCHEMAS: dict[str, pa.DataFrameSchema] = {
    **{s.table: source_schema(s) for s in SOURCES.values()},
    "load_files": _bookkeeping_schema("load_files", LOAD_FILES_COLUMNS),
    "quarantine": _bookkeeping_schema("quarantine", QUARANTINE_COLUMNS),
}
"""Schema of every table in the raw schema, by table name."""


# ---------------------------------------------------------------------------------------------
# The gate
# ---------------------------------------------------------------------------------------------


@dataclass
class RawGateResult:
    """Outcome of :func:`validate_raw_table` (``as_metadata()`` for a Dagster asset check)."""

    table: str
    load_id: str | None
    rows_checked: int = 0
    failure_count: int = 0
    failures_by_check: dict[str, int] = field(default_factory=dict)
    failure_cases: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.failure_count == 0

    def as_metadata(self) -> dict[str, Any]:
        return {
            "table": f"raw.{self.table}",
            "load_id": self.load_id or "all loads",
            "rows_checked": self.rows_checked,
            "passed": self.passed,
            "failure_count": self.failure_count,
            "failures_by_check": dict(self.failures_by_check),
            "failure_sample": self.failure_cases,
        }


def _table_name(table: str) -> str:
    name = table.split(".", 1)[1] if table.startswith("raw.") else table
    if name not in RAW_SCHEMAS:
        raise KeyError(f"no raw schema for table {table!r}; raw tables: {', '.join(sorted(RAW_SCHEMAS))}")
    return name


def _jsonable(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value if isinstance(value, str | int | float | bool) else str(value)


def _record_failures(result: RawGateResult, cases: pd.DataFrame, chunk: pd.DataFrame) -> None:
    """Count failing rows per check (a frame-level check reports every column of a row: once) and
    keep a sample of them with their file and line."""
    cases = cases.copy()
    frame_level = cases["schema_context"] == "DataFrameSchema"
    cases.loc[frame_level, "column"] = None
    cases.loc[frame_level, "failure_case"] = None
    cases["check"] = cases["check"].astype("str")
    cases = cases.drop_duplicates(subset=["schema_context", "column", "check", "index"])
    result.failure_count += len(cases)
    for check, n in cases.groupby("check").size().items():
        result.failures_by_check[str(check)] = result.failures_by_check.get(str(check), 0) + int(n)
    room = FAILURE_SAMPLE - len(result.failure_cases)
    if room <= 0:
        return
    file_col = "_source_file" if "_source_file" in chunk else ("file" if "file" in chunk else None)
    line_col = "_line" if "_line" in chunk else ("line" if "line" in chunk else None)
    for row in cases.head(room).itertuples(index=False):  # a sample of at most FAILURE_SAMPLE rows
        case = {"column": _jsonable(row.column), "check": row.check, "failure_case": _jsonable(row.failure_case)}
        idx = row.index
        if idx is not None and not pd.isna(idx) and idx in chunk.index:
            if file_col:
                case["file"] = _jsonable(chunk.at[idx, file_col])
            if line_col:
                case["line"] = _jsonable(chunk.at[idx, line_col])
        result.failure_cases.append(case)


def _set_checks(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, int, list[dict[str, Any]]]]:
    """Checks over the whole table: (name, failing rows, sample)."""
    out: list[tuple[str, int, list[dict[str, Any]]]] = []
    source = next((s for s in SOURCES.values() if s.table == table), None)
    queries: list[tuple[str, str]] = []
    if source is not None:
        key = ", ".join(f'"{k}"' for k in source.key)
        queries.append((f"natural_key_unique({', '.join(source.key)})",
                        f"SELECT {key}, count(*) AS n FROM raw.{table} GROUP BY ALL HAVING count(*) > 1"))
    if table == "ab_test_variants":
        queries.append(("one_control_per_test",
                        "SELECT ab_test_id, count(*) FILTER (WHERE is_control) AS controls FROM raw.ab_test_variants "
                        "GROUP BY ab_test_id HAVING count(*) FILTER (WHERE is_control) <> 1"))
        queries.append(("splits_sum_to_1",
                        "SELECT ab_test_id, sum(traffic_split) AS total FROM raw.ab_test_variants GROUP BY ab_test_id "
                        f"HAVING abs(sum(traffic_split) - 1) > {SPLIT_TOLERANCE}"))
    for name, sql in queries:
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description]
        rows = cur.fetchall()
        if rows:
            sample = [{c: _jsonable(v) for c, v in zip(cols, r, strict=True)} for r in rows[:FAILURE_SAMPLE]]
            out.append((name, len(rows), sample))
    return out


FRAME_CHECK_COLUMNS: dict[str, tuple[str, ...]] = {
    "confounders": ("starts_at", "ends_at"),
    "revenue_events": ("revenue_type", "amount"),
    "product_events": ("user_id", "anonymous_id"),
    "load_files": ("status", "reason"),
    "quarantine": ("reason_code", "line"),
}
"""Columns that a frame-level check of the table reads."""


def gate_columns(table: str) -> list[str]:
    """Columns the gate reads from DuckDB: those with a check, a not-null rule or a frame check.

    A nullable column without checks can only fail on its type, which DuckDB's column type already
    guarantees (compared with the contract in :func:`_catalog_checks`); not converting it to pandas
    (long text: urls, user agents) makes the gate about 3x cheaper on event tables.
    """
    schema = RAW_SCHEMAS[table]
    needed = set(FRAME_CHECK_COLUMNS.get(table, ()))
    return [n for n, c in schema.columns.items() if c.checks or not c.nullable or n in needed]


def _catalog_checks(con: duckdb.DuckDBPyConnection, table: str) -> list[dict[str, Any]]:
    """Contract columns missing from the DuckDB table or declared with another type."""
    declared = dict(con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'raw' "
        "AND table_name = ?", [table]).fetchall())
    source = next((s for s in SOURCES.values() if s.table == table), None)
    if source is not None:
        columns = (*source.columns, *LOAD_METADATA)
    else:
        columns = LOAD_FILES_COLUMNS if table == "load_files" else QUARANTINE_COLUMNS
    problems = []
    for col in columns:
        found = declared.get(col.name)
        if found != col.dtype:
            problems.append({"check": "column_type", "column": col.name, "expected": col.dtype, "found": found})
    problems.extend({"check": "column_type", "column": extra, "expected": None, "found": dtype}
                    for extra, dtype in declared.items() if extra not in {c.name for c in columns})
    return problems


def validate_raw_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    load_id: str | None = None,
    chunk_rows: int = 1_000_000,
) -> RawGateResult:
    """Validate ``raw.<table>`` (all rows, or those of one load) against its pandera schema.

    Rows are read in chunks of about ``chunk_rows`` so memory stays bounded on event-scale tables;
    only the columns that a check reads are converted (:func:`gate_columns`), and the table's
    declared column types are compared with the contract. The whole-table checks (natural key
    unique, A/B test rules) run in SQL. Returns the number of failing rows per check and a sample of
    failing cases with their file and line.
    """
    name = _table_name(table)
    result = RawGateResult(table=name, load_id=load_id)
    catalog = _catalog_checks(con, name)
    if catalog:  # the table does not have the contract's shape: the row checks cannot run
        result.failure_count = len(catalog)
        result.failures_by_check["column_type"] = len(catalog)
        result.failure_cases = catalog[:FAILURE_SAMPLE]
        return result
    columns = gate_columns(name)
    schema = RAW_SCHEMAS[name].select_columns(columns)
    load_col = "load_id" if name in ("load_files", "quarantine") else "_load_id"
    where = f" WHERE {load_col} = ?" if load_id is not None else ""
    select = ", ".join(f'"{c}"' for c in columns)
    cursor = con.cursor()
    try:
        cursor.execute(f"SELECT {select} FROM raw.{name}{where}", [load_id] if load_id is not None else [])
        vectors = max(1, math.ceil(chunk_rows / 2048))
        offset = 0
        while True:
            chunk = cursor.fetch_df_chunk(vectors)
            if chunk is None or len(chunk) == 0:
                break
            chunk.index = pd.RangeIndex(offset, offset + len(chunk))
            offset += len(chunk)
            result.rows_checked += len(chunk)
            try:
                schema.validate(chunk, lazy=True)
            except pa.errors.SchemaErrors as err:
                _record_failures(result, err.failure_cases, chunk)
    finally:
        cursor.close()
    for check, n, sample in _set_checks(con, name):
        result.failure_count += n
        result.failures_by_check[check] = result.failures_by_check.get(check, 0) + n
        room = FAILURE_SAMPLE - len(result.failure_cases)
        result.failure_cases.extend({"check": check, **case} for case in sample[: max(room, 0)])
    return result


def validate_frame(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Validate a frame against a raw table's schema (raises ``pandera.errors.SchemaErrors``)."""
    return RAW_SCHEMAS[_table_name(table)].validate(frame, lazy=True)

