"""What is in the warehouse: row counts, order-independent content hashes, the quarantine.

Used by ``funnellens status``, by the idempotency tests (a second run must leave every
table's fingerprint unchanged) and by the quickstart's closing summary.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

SCHEMAS = ("raw", "staging", "intermediate", "analytics", "marts")


@dataclass(frozen=True)
class TableFingerprint:
    table: str
    rows: int
    content_hash: str


def list_tables(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...] = SCHEMAS) -> list[str]:
    placeholders = ", ".join("?" for _ in schemas)
    rows = con.execute(
        f"""SELECT table_schema || '.' || table_name FROM information_schema.tables
            WHERE table_schema IN ({placeholders}) ORDER BY 1""",
        list(schemas),
    ).fetchall()
    return [r[0] for r in rows]


def table_fingerprints(
    con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...] = SCHEMAS
) -> dict[str, TableFingerprint]:
    """Row count and an order-independent hash of every row of every table (and view).

    The hash is the sum and the XOR of DuckDB's 64-bit row hashes: equal multisets of rows
    give equal hashes whatever the physical order.
    """
    out: dict[str, TableFingerprint] = {}
    for table in list_tables(con, schemas):
        rows, total, xor = con.execute(
            f"SELECT count(*), coalesce(sum(hash(t)), 0), coalesce(bit_xor(hash(t)), 0) FROM {table} t"
        ).fetchall()[0]
        out[table] = TableFingerprint(table, int(rows), f"{int(total):x}-{int(xor):x}")
    return out


def format_status(con: duckdb.DuckDBPyConnection) -> str:
    """A plain-text summary: tables and row counts per schema, loads and quarantine by reason."""
    lines: list[str] = []
    fingerprints = table_fingerprints(con)
    for schema in SCHEMAS:
        tables = [f for name, f in fingerprints.items() if name.startswith(schema + ".")]
        if not tables:
            continue
        lines.append(f"{schema}: {len(tables)} tables")
        for f in tables:
            lines.append(f"  {f.table:<55} {f.rows:>12,} rows")
    if "raw.load_files" in fingerprints:
        lines.append("files by source and status:")
        for source, status, files, rows in con.execute(
            """SELECT source, status, count(*), sum(rows_loaded) FROM raw.load_files
               GROUP BY ALL ORDER BY source, status"""
        ).fetchall():
            lines.append(f"  {source:<20} {status:<8} {files:>6} files {int(rows or 0):>12,} rows")
    if "raw.quarantine" in fingerprints:
        lines.append("quarantine by source and reason:")
        for source, reason, n in con.execute(
            "SELECT source, reason_code, count(*) FROM raw.quarantine GROUP BY ALL ORDER BY 1, 2"
        ).fetchall():
            lines.append(f"  {source:<20} {reason:<20} {n:>8,}")
    return "\n".join(lines) if lines else "the warehouse is empty"
