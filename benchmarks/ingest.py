"""Benchmark: tracking events from the landing zone to staging, against DuckDB's bare read_json.

    python benchmarks/ingest.py --events 1000000 [--events 10000000] [--days 30] [--threads 2]

For every N it writes N tracking events as daily gzipped NDJSON (``funnellens.demo.
write_tracking_events`` when it exists, else the vectorised generator below), then times, each
in its own process so that peak RSS is per step:

(a) the floor: ``CREATE TABLE t AS SELECT * FROM read_json('<files>', format='newline_delimited')``;
(b) ``funnellens.ingest.ingest_source(con, 'tracking_events', landing)`` into a fresh warehouse;
(c) when ``dbt_project.yml`` and the model ``stg_tracking__events`` exist, the staging step
    ``dbt run --select stg_tracking__events`` (dbt's Python runner, no Dagster) on that warehouse.

It prints each step's wall and CPU time (user + sys of the child process), landing -> staging
(b + c) and its ratio to the floor, and peak RSS. The target is landing -> staging within 2x of the
floor on 2 cores. On a shared machine the CPU ratio is the steadier of the two.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START_DAY = "2026-01-01"


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def write_events(landing: Path, n_events: int, days: int, seed: int) -> str:
    """Write ``n_events`` tracking events as ``landing/tracking/<day>.ndjson.gz``; returns the generator used.

    The demo generator's ``write_tracking_events`` when it exists (realistic sessions and funnels),
    else a set-based DuckDB generator of the same SPEC-FUN-004 fields.
    """
    try:
        from funnellens.demo import write_tracking_events
    except ImportError:
        write_tracking_events = None
    if write_tracking_events is not None:
        write_tracking_events(landing, n_events, seed, days=days)
        return "funnellens.demo.write_tracking_events"

    import duckdb

    out_dir = landing / "tracking"
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"""
        CREATE TABLE ev AS
        WITH base AS (
            SELECT i, i * {days} // {n_events} AS day,
                   CAST(hash(i, {seed}) >> 1 AS BIGINT) AS h1, CAST(hash(i, {seed} + 1) >> 1 AS BIGINT) AS h2,
                   CAST(hash(i // 6, {seed} + 2) >> 1 AS BIGINT) AS hs
            FROM range({n_events}) t(i)
        )
        SELECT day,
               md5(i::VARCHAR || '-' || {seed}) AS event_id,
               ['page_view', 'page_view', 'step_entry', 'step_exit', 'step_entry', 'conversion'][1 + h1 % 6]
                   AS event_type,
               'checkout' AS funnel_id,
               'page-' || (h1 % 12) AS page_id,
               ['landing', 'cart', 'checkout', 'thanks'][1 + h2 % 4] AS funnel_step_id,
               CASE WHEN h2 % 4 > 0 THEN ['landing', 'cart', 'checkout'][h2 % 4] END AS previous_step,
               CASE WHEN h2 % 4 < 3 THEN ['cart', 'checkout', 'thanks'][1 + h2 % 4] END AS next_step,
               'sess-' || (hs % 5000000) AS session_id,
               'vis-' || (hs % 2000000) AS visitor_id,
               'https://shop.example.com/' || ['landing', 'cart', 'checkout', 'thanks'][1 + h2 % 4]
                   || '?utm_source=' || ['tiktok', 'instagram', 'google', 'newsletter'][1 + hs % 4] AS url,
               ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
                'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
                'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36']
                   [1 + hs % 3] AS user_agent,
               '198.51.' || (hs % 256) || '.' || (h1 % 256) AS ip_address,
               ['https://www.tiktok.com/', 'https://www.instagram.com/', 'https://www.google.com/', NULL][1 + hs % 4]
                   AS referrer,
               ['tiktok', 'instagram', 'google', 'newsletter'][1 + hs % 4] AS utm_source,
               ['social', 'social', 'cpc', 'email'][1 + hs % 4] AS utm_medium,
               'spring_' || (hs % 5) AS utm_campaign,
               CASE WHEN h1 % 6 = 5 THEN ['purchase', 'signup', 'form_submit', 'purchase'][1 + h2 % 4] END
                   AS conversion_type,
               CASE WHEN h1 % 6 = 5 THEN CAST(500 + h2 % 20000 AS BIGINT) END AS value_cents,
               CASE WHEN h1 % 6 = 3 THEN ['next_step', 'bounce', 'close', 'next_step'][1 + h2 % 4] END
                   AS exit_outcome,
               {{'scroll_depth': CAST(h2 % 100 AS INTEGER), 'viewport': ['mobile', 'desktop'][1 + h1 % 2]}}
                   AS metadata,
               strftime(TIMESTAMP '{START_DAY}' + to_days(CAST(day AS INTEGER))
                        + to_seconds(CAST(h1 % 86400 AS BIGINT)), '%Y-%m-%dT%H:%M:%SZ') AS "timestamp",
               CASE WHEN hs % 3 = 0 THEN 'cta_color' END AS ab_test_id,
               CASE WHEN hs % 3 = 0 THEN ['control', 'green'][1 + hs % 2] END AS variant_id
        FROM base
    """)
    for day in range(days):
        name = con.execute(f"SELECT strftime(DATE '{START_DAY}' + {day}, '%Y-%m-%d')").fetchone()[0]
        target = out_dir / f"{name}.ndjson.gz"
        con.execute(
            f"COPY (SELECT * EXCLUDE (day) FROM ev WHERE day = {day} ORDER BY \"timestamp\") "
            f"TO '{target}' (FORMAT json, COMPRESSION gzip)"
        )
    con.close()
    return "benchmarks/ingest.py (built-in)"


# ---------------------------------------------------------------------------------------------
# Steps (each runs in a child process: `python benchmarks/ingest.py --step <name> ...`)
# ---------------------------------------------------------------------------------------------


def tracking_files(landing: Path) -> list[Path]:
    """The files the ingest reads for tracking_events (the floor reads exactly the same)."""
    from funnellens.contract import SOURCES
    from funnellens.ingest.landing import discover_files

    return [f.path for f in discover_files(SOURCES["tracking_events"], landing)]


def step_floor(db: Path, landing: Path, threads: int) -> None:
    import duckdb

    listing = landing / "_files.txt"  # written by the parent: the floor process imports duckdb only
    paths = listing.read_text().splitlines() if listing.exists() else [str(p) for p in tracking_files(landing)]
    con = duckdb.connect(str(db))
    con.execute(f"SET threads = {threads}")
    files = "[" + ", ".join(f"'{p}'" for p in paths) + "]"
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_json({files}, format='newline_delimited')")
    con.close()


def step_ingest(db: Path, landing: Path, threads: int) -> None:
    import duckdb

    from funnellens.ingest import ensure_raw_schema, ingest_source

    con = duckdb.connect(str(db))
    con.execute(f"SET threads = {threads}")
    ensure_raw_schema(con)
    report = ingest_source(con, "tracking_events", landing, transaction=os.environ.get("BENCH_TRANSACTION", "file"))
    con.close()
    print(json.dumps({"rows_loaded": report.rows_loaded, "rows_quarantined": report.rows_quarantined,
                      "files_loaded": report.files_loaded, "files_failed": report.files_failed}))


def step_staging(db: Path, landing: Path, threads: int) -> None:
    from dbt.cli.main import dbtRunner

    os.environ["FUNNELLENS_WAREHOUSE"] = str(db)
    result = dbtRunner().invoke([
        "run", "--select", "stg_tracking__events", "--project-dir", str(ROOT),
        "--profiles-dir", str(ROOT / "profiles"), "--target-path", str(db.parent / "dbt_target"),
        "--quiet",
    ])
    if not result.success:
        raise SystemExit(f"dbt run failed: {result.exception or result.result}")


STEPS = {"floor": step_floor, "ingest": step_ingest, "staging": step_staging}


def run_step(step: str, db: Path, landing: Path, threads: int, transaction: str = "file") -> dict:
    """Run a step in a child process; wall time and the child's peak RSS (from wait4)."""
    cmd = [sys.executable, __file__, "--step", step, "--db", str(db), "--landing", str(landing),
           "--threads", str(threads)]
    start = time.perf_counter()
    env = {**os.environ, "BENCH_TRANSACTION": transaction}
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env)
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    out = proc.stdout.read() if proc.stdout else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"step {step} failed (exit {proc.returncode})")
    info = {"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024}
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    if lines:
        info.update(json.loads(lines[-1]))
    return info


def has_staging_model() -> bool:
    return (ROOT / "dbt_project.yml").is_file() and any(
        (ROOT / "dbt_project" / "models").rglob("stg_tracking__events.sql")
    )


def bench(n_events: int, days: int, seed: int, threads: int, workdir: Path, skip_dbt: bool,
          transaction: str) -> dict:
    landing = workdir / f"landing_{n_events}_{days}_{seed}"
    marker = landing / "_complete"
    if not marker.exists():
        shutil.rmtree(landing, ignore_errors=True)
        t0 = time.perf_counter()
        generator = write_events(landing, n_events, days, seed)
        marker.write_text(generator)
        print(f"  generated {n_events:,} events with {generator} in {time.perf_counter() - t0:.1f}s", flush=True)
    files = tracking_files(landing)
    (landing / "_files.txt").write_text("\n".join(str(p) for p in files))
    size = sum(p.stat().st_size for p in files)
    result: dict = {"events": n_events, "files": len(files), "file_mb": size / 2**20, "threads": threads,
                    "generator": marker.read_text(), "transaction": transaction}

    for db in workdir.glob("bench_*.duckdb*"):
        db.unlink()
    result["floor"] = run_step("floor", workdir / "bench_floor.duckdb", landing, threads)
    result["ingest"] = run_step("ingest", workdir / "bench_ingest.duckdb", landing, threads, transaction)
    if not skip_dbt and has_staging_model():
        result["staging"] = run_step("staging", workdir / "bench_ingest.duckdb", landing, threads)
    floor = result["floor"]["seconds"]
    to_raw = result["ingest"]["seconds"]
    to_staging = to_raw + (result["staging"]["seconds"] if "staging" in result else 0.0)
    result["landing_to_raw_ratio"] = to_raw / floor
    floor_cpu = result["floor"]["cpu_seconds"]
    result["landing_to_raw_cpu_ratio"] = result["ingest"]["cpu_seconds"] / floor_cpu
    if "staging" in result:
        result["landing_to_staging_seconds"] = to_staging
        result["landing_to_staging_ratio"] = to_staging / floor
        result["landing_to_staging_cpu_ratio"] = (
            result["ingest"]["cpu_seconds"] + result["staging"]["cpu_seconds"]) / floor_cpu
    return result


def print_result(r: dict) -> None:
    print(f"\n{r['events']:,} events in {r['files']} daily NDJSON files ({r['file_mb']:.0f} MiB on disk, "
          f"from {r['generator']}), DuckDB threads={r['threads']}")
    rows = [("(a) floor: read_json -> table", r["floor"]),
            (f"(b) ingest_source -> raw [{r['transaction']}]", r["ingest"])]
    if "staging" in r:
        rows.append(("(c) dbt stg_tracking__events", r["staging"]))
    for label, step in rows:
        print(f"  {label:<34} {step['seconds']:8.1f} s wall {step['cpu_seconds']:8.1f} s CPU   "
              f"peak RSS {step['peak_rss_mb']:7.0f} MiB")
    print(f"  landing -> raw      {r['ingest']['seconds']:8.1f} s   = {r['landing_to_raw_ratio']:.2f}x the floor "
          f"(CPU: {r['landing_to_raw_cpu_ratio']:.2f}x)")
    if "staging" in r:
        print(f"  landing -> staging  {r['landing_to_staging_seconds']:8.1f} s   = "
              f"{r['landing_to_staging_ratio']:.2f}x the floor (CPU: {r['landing_to_staging_cpu_ratio']:.2f}x; "
              "target <= 2x)")
    print(f"  rows loaded {r['ingest'].get('rows_loaded', '?'):,}, quarantined {r['ingest'].get('rows_quarantined')}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, action="append", help="events to generate (repeatable)")
    parser.add_argument("--days", type=int, default=30, help="days, one file each (default 30)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads (default 2)")
    parser.add_argument("--workdir", type=Path, help="keep data here (default: a temporary folder)")
    parser.add_argument("--skip-dbt", action="store_true", help="do not time the dbt staging step")
    parser.add_argument("--transaction", choices=("file", "batch"), default="file",
                        help="ingest_source's transaction scope (default: file)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--landing", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.step:
        STEPS[args.step](args.db, args.landing, args.threads)
        return
    sizes = args.events or [1_000_000]
    tmp = None
    workdir = args.workdir
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="funnellens-bench-")
        workdir = Path(tmp.name)
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for n in sizes:
            print(f"benchmark: {n:,} events", flush=True)
            r = bench(n, args.days, args.seed, args.threads, workdir, args.skip_dbt, args.transaction)
            print_result(r)
            results.append(r)
    finally:
        if tmp is not None:
            tmp.cleanup()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
