"""The dbt staging layer: models, dedup, PII hashing, documentation and the dbt test gates.

One `dbt build` of the staging layer runs per test session (cached in `build_staging_warehouse`,
which tests/test_gx_suites.py reuses) over a temporary DuckDB whose raw tables hold a few
hand-written rows each. The gate tests copy that warehouse, inject bad rows into raw and run dbt
again on the copy.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from funnellens.config import DEV_SALT
from funnellens.contract import LOAD_METADATA, SOURCES, bookkeeping_ddl, raw_table_ddl

REPO_ROOT = Path(__file__).resolve().parents[1]
STAGING_DIR = REPO_ROOT / "dbt_project" / "models" / "staging"

# The staging layer only: intermediate and marts models (other modules' tests) are not built here.
STAGING_SELECTOR = "path:dbt_project/models/staging"

TEST_SALT = "test-salt-for-the-staging-tests"
TEST_TENANT = "tenant-under-test"

STAGING_MODELS = (
    "stg_roster__creators",
    "stg_social__post_snapshots",
    "stg_social__content_tags",
    "stg_social__tracking_links",
    "stg_fan_platform__subscribers",
    "stg_fan_platform__revenue_events",
    "stg_agency__confounders",
    "stg_marketing__touchpoints",
    "stg_marketing__conversions",
    "stg_tracking__events",
    "stg_product__events",
    "stg_definitions__funnel_steps",
    "stg_definitions__ab_test_variants",
    "stg_privacy__erasure_requests",
)

T0 = datetime(2026, 3, 2, 9, 0, 0)
LOAD_1 = datetime(2026, 3, 10, 6, 0, 0)
LOAD_2 = datetime(2026, 3, 11, 6, 0, 0)


# ---------------------------------------------------------------------------------------
# Raw fixture rows: a few per table, each one there for a reason (see the comments).
# ---------------------------------------------------------------------------------------
def _h(days: float = 0, hours: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


RAW_ROWS: dict[str, list[dict[str, Any]]] = {
    "creators": [
        {"agency_id": "a1", "agency_name": "Agency One", "agency_timezone": "Europe/Berlin",
         "creator_id": "c1", "creator_name": "Anna", "tiktok_handle": "@Anna_B", "instagram_handle": " anna.b "},
        {"agency_id": "a2", "agency_name": "Agency Two", "agency_timezone": "",
         "creator_id": "c2", "creator_name": "Bea", "tiktok_handle": "bea", "instagram_handle": None},
        # A later roster repeats c1 with another name: the first loaded row wins.
        {"agency_id": "a1", "agency_name": "Agency One", "agency_timezone": "Europe/Berlin",
         "creator_id": " c1 ", "creator_name": "Anna RENAMED", "_loaded_at": LOAD_2},
    ],
    "social_post_snapshots": [
        {"platform": "TikTok ", "creator_id": "c1", "snapshot_at": _h(1), "post_id": "7001", "views": 100,
         "likes": 10, "caption": "storytime: how I met", "published_at": _h(0),
         "export_format": "tiktok_studio", "views_metric": "views"},
        {"platform": "tiktok", "creator_id": "c1", "snapshot_at": _h(2), "post_id": "7001", "views": 250,
         "likes": 20, "export_format": "tiktok_studio", "views_metric": "views"},
        {"platform": "instagram", "creator_id": "c2", "snapshot_at": _h(1), "post_id": "IG9",
         "views": 40, "reach": 30, "post_type": "IG reel", "account_username": "@Bea",
         "export_format": "meta_business_suite", "views_metric": "impressions"},
        # Same platform/post/snapshot as the first row, loaded later: dropped.
        {"platform": "tiktok", "creator_id": "c1", "snapshot_at": _h(1), "post_id": "7001", "views": 999,
         "export_format": "tiktok_studio", "views_metric": "views", "_loaded_at": LOAD_2},
    ],
    "content_tags": [
        {"platform": "tiktok", "post_id": "7001", "content_type": "Storytime", "creator_id": "c1"},
        {"platform": "instagram", "post_id": "IG9", "content_type": " Behind Scenes ", "creator_id": "c2"},
    ],
    "tracking_links": [
        {"link_code": "https://onlyfans.com/anna?c=spring24&utm=x", "creator_id": "c1",
         "platform": "tiktok", "post_id": "7001"},
        {"link_code": "bio1", "creator_id": "c2", "platform": "instagram", "content_type": "GRWM"},
    ],
    "subscribers": [
        # The same platform fan id under two agencies: two different fan_keys.
        {"creator_id": "c1", "fan_id": "f1", "fan_username": "@FanOne", "subscribed_at": _h(1, 3),
         "price": 9.99, "currency": "usd", "link_code": "https://onlyfans.com/anna?c=spring24"},
        {"creator_id": "c2", "fan_id": "f1", "fan_username": "fanone", "subscribed_at": _h(1, 4),
         "price": 4.99, "currency": "USD", "link_code": "bio1"},
        {"creator_id": "c1", "fan_id": "f2", "fan_username": None, "subscribed_at": _h(1, 5), "price": 0.0},
        # Duplicate of the first subscription, loaded later: dropped.
        {"creator_id": "c1", "fan_id": " f1 ", "fan_username": "@FanOne", "subscribed_at": _h(1, 3),
         "price": 19.99, "_loaded_at": LOAD_2},
    ],
    "revenue_events": [
        {"creator_id": "c1", "occurred_at": _h(1, 6), "amount": 5.0, "fee": 1.0, "net": 4.0, "currency": "usd",
         "description": "Tip from FanOne", "revenue_type": "Tip", "counterparty": "FanOne"},
        {"creator_id": "c1", "occurred_at": _h(2), "amount": -9.99, "fee": -2.0, "net": -7.99,
         "description": "Refund for subscription", "revenue_type": "refund", "counterparty": None},
        # A one-letter username: only the trailing name is redacted, not every 'a' in the text.
        {"creator_id": "c2", "occurred_at": _h(1, 7), "amount": 3.0, "description": "Payment for message from a",
         "revenue_type": "message", "counterparty": "a"},
    ],
    "confounders": [
        {"creator_id": "c1", "confounder_type": "Promo", "starts_at": _h(3), "ends_at": _h(5),
         "description": "50% off"},
    ],
    "touchpoints": [
        {"touchpoint_id": "t1", "user_id": "u1", "journey_id": "j1", "touched_at": _h(0, 1),
         "channel": "Paid Search", "campaign": "Spring Sale", "utm_source": "Google", "cost": 1.5},
        {"touchpoint_id": "t2", "user_id": "u1", "journey_id": "j1", "touched_at": _h(0, 2),
         "channel": "email"},
        {"touchpoint_id": "t1", "user_id": "u1", "journey_id": "j1", "touched_at": _h(0, 1),
         "channel": "display", "_loaded_at": LOAD_2},
    ],
    "conversions": [
        {"conversion_id": "o1", "user_id": "u1", "converted_at": _h(0, 3), "conversion_type": "Purchase",
         "value": 49.0, "currency": "eur", "email": "  Foo.Bar@Example.COM ",
         "phone": "+1 (650) 555-1212"},
        {"conversion_id": "o2", "user_id": "u2", "converted_at": _h(0, 4), "conversion_type": "signup",
         "email": "not-an-email", "phone": "0044 20 7946 0018"},
    ],
    "tracking_events": [
        {"event_id": "e1", "event_type": "page_view", "funnel_id": "f-main", "funnel_step_id": "land",
         "session_id": "s1", "visitor_id": "v1", "ip_address": "203.0.113.7", "occurred_at": _h(0),
         "utm_source": "Newsletter", "metadata": '{"k": 1}', "ab_test_id": "ab1", "variant_id": "ctl"},
        {"event_id": "e2", "event_type": "Conversion", "conversion_type": "Purchase", "value_cents": 4900,
         "funnel_id": "f-main", "funnel_step_id": "pay", "session_id": "s1", "visitor_id": "v1",
         "ip_address": "203.0.113.7", "occurred_at": _h(0, 1), "product_id": "p1", "quantity": 1},
        {"event_id": "e3", "event_type": "step_exit", "exit_outcome": "Bounce", "funnel_id": "f-main",
         "funnel_step_id": "land", "session_id": "s2", "visitor_id": "v2", "occurred_at": _h(0, 2)},
        {"event_id": "e1", "event_type": "page_view", "session_id": "s9", "visitor_id": "v9",
         "occurred_at": _h(0), "_loaded_at": LOAD_2},
    ],
    "product_events": [
        {"event_id": "p1", "event_name": "prompt_submitted", "user_id": "u1", "occurred_at": _h(0),
         "properties": '{"length": 12}', "context": '{"app": "ios"}'},
        {"event_id": "p2", "event_name": "paywall_shown", "anonymous_id": "anon1", "occurred_at": _h(0, 1)},
        # An exact copy of p2, lineage included (same file, line and load): one row survives.
        {"event_id": "p2", "event_name": "paywall_shown", "anonymous_id": "anon1", "occurred_at": _h(0, 1),
         "_line": 3},
    ],
    "funnel_steps": [
        {"funnel_id": "f-main", "funnel_name": "Main", "order_mode": "Sequential",
         "conversion_window_days": 14.0, "step_id": sid, "step_name": sid.title(), "step_order": i}
        for i, sid in enumerate(("land", "signup", "pay"), start=1)
    ],
    "ab_test_variants": [
        {"ab_test_id": "ab1", "ab_test_name": "Hero", "funnel_id": "f-main", "conversion_step_id": "pay",
         "started_at": _h(0), "alpha": None, "variant_id": "ctl", "is_control": True, "traffic_split": 0.5},
        {"ab_test_id": "ab1", "ab_test_name": "Hero", "funnel_id": "f-main", "conversion_step_id": "pay",
         "started_at": _h(0), "alpha": None, "variant_id": "new", "is_control": False, "traffic_split": 0.5},
    ],
    "erasure_requests": [
        {"request_id": "r1", "subject_id": "u1", "subject_type": "user", "requested_at": _h(10)},
        {"request_id": "r2", "subject_id": "f1", "subject_type": "Fan", "requested_at": _h(10)},
        {"request_id": "r3", "subject_id": "Foo.Bar@example.com", "subject_type": "email",
         "requested_at": _h(10)},
    ],
}

EXPECTED_ROWS = {
    "stg_roster__creators": 2,
    "stg_social__post_snapshots": 3,
    "stg_social__content_tags": 2,
    "stg_social__tracking_links": 2,
    "stg_fan_platform__subscribers": 3,
    "stg_fan_platform__revenue_events": 3,
    "stg_agency__confounders": 1,
    "stg_marketing__touchpoints": 2,
    "stg_marketing__conversions": 2,
    "stg_tracking__events": 3,
    "stg_product__events": 2,
    "stg_definitions__funnel_steps": 3,
    "stg_definitions__ab_test_variants": 2,
    "stg_privacy__erasure_requests": 3,
}


def insert_raw_rows(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows into raw.<table>, filling the load-metadata columns the row leaves out."""
    for line, row in enumerate(rows, start=2):
        full = {
            "_source_file": f"{table}/fixture.csv",
            "_file_hash": hashlib.sha256(table.encode()).hexdigest(),
            "_line": line,
            "_load_id": "load-fixture",
            "_loaded_at": LOAD_1,
            **row,
        }
        cols = ", ".join(f'"{c}"' for c in full)
        marks = ", ".join("?" for _ in full)
        con.execute(f"insert into raw.{table} ({cols}) values ({marks})", list(full.values()))


def create_raw_warehouse(path: Path, rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    """A DuckDB file with the contract's raw schema (every source + bookkeeping) and `rows`."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists raw")
        for source in SOURCES.values():
            con.execute(raw_table_ddl(source))
        for ddl in bookkeeping_ddl():
            con.execute(ddl)
        for table, table_rows in rows.items():
            insert_raw_rows(con, table, table_rows)


# ---------------------------------------------------------------------------------------
# Running dbt in-process
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DbtRun:
    success: bool
    statuses: dict[str, str]  # node name -> status (success, error, skipped, pass, fail, warn)
    messages: dict[str, str]  # node name -> dbt's message for the node
    exception: BaseException | None


@contextmanager
def _env(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def run_dbt(args: Sequence[str], *, warehouse: Path, work_dir: Path, salt: str = TEST_SALT) -> DbtRun:
    """`dbt <args>` against `warehouse`, with target and logs under `work_dir` (never the repo)."""
    from dbt.cli.main import dbtRunner

    env = {
        "FUNNELLENS_WAREHOUSE": str(warehouse),
        "FUNNELLENS_ID_SALT": salt,
        "FUNNELLENS_TENANT": TEST_TENANT,
        "DBT_TARGET": "dev",
        "DO_NOT_TRACK": "1",
    }
    if args and args[0] in ("build", "test"):
        # Only tests whose parents are built here: not other layers' tests that also read staging.
        args = [*args, "--indirect-selection", "buildable"]
    cli_args = [
        *args,
        "--project-dir", str(REPO_ROOT),
        "--profiles-dir", str(REPO_ROOT / "profiles"),
        "--target-path", str(work_dir / "target"),
        "--log-path", str(work_dir / "logs"),
        "--quiet",
    ]
    with _env(env):
        try:
            result = dbtRunner().invoke(cli_args)
        finally:
            _release_dbt_duckdb()
    statuses: dict[str, str] = {}
    messages: dict[str, str] = {}
    for node_result in getattr(result.result, "results", None) or []:
        statuses[node_result.node.name] = str(node_result.status)
        messages[node_result.node.name] = str(node_result.message or "")
    return DbtRun(bool(result.success), statuses, messages, result.exception)


def _release_dbt_duckdb() -> None:
    """Close the DuckDB instance dbt-duckdb keeps open in-process after an invocation.

    Without this the test process cannot open the same file read-only (DuckDB refuses a second
    configuration for an open file), nor can a later invocation open a copied file cleanly.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        if env is not None:
            env.close()
        DuckDBConnectionManager._ENV = None


@dataclass(frozen=True)
class BuiltWarehouse:
    path: Path
    work_dir: Path
    build: DbtRun


_BUILT: dict[str, BuiltWarehouse] = {}


def build_staging_warehouse(tmp_path_factory: pytest.TempPathFactory) -> BuiltWarehouse:
    """The fixture warehouse after one `dbt build` of the staging layer; built once per session."""
    if "good" not in _BUILT:
        work_dir = tmp_path_factory.mktemp("dbt_staging")
        path = work_dir / "warehouse.duckdb"
        create_raw_warehouse(path, RAW_ROWS)
        build = run_dbt(["build", "--select", STAGING_SELECTOR], warehouse=path, work_dir=work_dir)
        _BUILT["good"] = BuiltWarehouse(path, work_dir, build)
    return _BUILT["good"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltWarehouse:
    return build_staging_warehouse(tmp_path_factory)


@pytest.fixture(scope="module")
def con(built: BuiltWarehouse) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(built.path), read_only=True)
    yield connection
    connection.close()


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def person_key(raw_id: str, tenant: str, salt: str = TEST_SALT) -> str:
    """Reference implementation of the hash_id macro: sha256(salt | tenant | id)."""
    return sha(f"{salt}|{tenant}|{raw_id}")


# ---------------------------------------------------------------------------------------
# The build
# ---------------------------------------------------------------------------------------
def test_build_passes_every_model_and_test(built: BuiltWarehouse) -> None:
    assert built.build.exception is None, built.build.exception
    assert built.build.success, {k: v for k, v in built.build.statuses.items() if v not in ("success", "pass")}
    assert set(STAGING_MODELS) <= set(built.build.statuses)
    # Clean fixture data: no test so much as warns.
    not_ok = {k: v for k, v in built.build.statuses.items() if v not in ("success", "pass")}
    assert not_ok == {}
    n_tests = sum(1 for v in built.build.statuses.values() if v == "pass")
    assert n_tests >= 100


def test_every_staging_model_exists_in_the_staging_schema_with_the_right_rows(
    con: duckdb.DuckDBPyConnection,
) -> None:
    tables = {
        r["table_name"]: r["table_type"]
        for r in rows(con, "select table_name, table_type from information_schema.tables "
                           "where table_schema = 'staging'")
    }
    assert set(tables) == set(STAGING_MODELS)
    assert set(tables.values()) == {"BASE TABLE"}
    counts = {m: con.execute(f"select count(*) from staging.{m}").fetchone()[0] for m in STAGING_MODELS}
    assert counts == EXPECTED_ROWS
    # Custom schemas are used as named: no main_staging.
    schemas = {r[0] for r in con.execute("select schema_name from information_schema.schemata").fetchall()}
    assert "main_staging" not in schemas


def test_dedup_keeps_the_first_loaded_row(con: duckdb.DuckDBPyConnection) -> None:
    creator = rows(con, "select * from staging.stg_roster__creators where creator_id = 'c1'")
    assert len(creator) == 1
    assert creator[0]["creator_name"] == "Anna"
    assert creator[0]["_loaded_at"] == LOAD_1

    snap = rows(con, "select * from staging.stg_social__post_snapshots where post_id = '7001' order by snapshot_at")
    assert [r["views"] for r in snap] == [100, 250]  # 999 came later and is dropped
    assert snap[0]["_source_file"] == "social_post_snapshots/fixture.csv"
    assert snap[0]["_line"] == 2

    sub = rows(con, "select * from staging.stg_fan_platform__subscribers where creator_id = 'c1' and price > 5")
    assert [r["price"] for r in sub] == [9.99]

    touch = rows(con, "select * from staging.stg_marketing__touchpoints where touchpoint_id = 't1'")
    assert [r["channel"] for r in touch] == ["paid search"]

    events = rows(con, "select * from staging.stg_tracking__events where event_id = 'e1'")
    assert len(events) == 1 and events[0]["session_id"] == "s1"


def test_light_normalisation(con: duckdb.DuckDBPyConnection) -> None:
    c = {r["creator_id"]: r for r in rows(con, "select * from staging.stg_roster__creators")}
    assert c["c1"]["tiktok_handle"] == "anna_b"
    assert c["c1"]["instagram_handle"] == "anna.b"
    assert c["c2"]["agency_timezone"] == "UTC"

    assert {r[0] for r in con.execute("select platform from staging.stg_social__post_snapshots").fetchall()} == {
        "tiktok", "instagram"}
    ig = rows(con, "select * from staging.stg_social__post_snapshots where platform = 'instagram'")[0]
    assert ig["post_type"] == "ig reel" and ig["account_username"] == "bea"

    tags = dict(con.execute("select post_id, content_type from staging.stg_social__content_tags").fetchall())
    assert tags == {"7001": "storytime", "IG9": "behind_scenes"}

    links = rows(con, "select * from staging.stg_social__tracking_links order by link_code")
    assert [r["link_code"] for r in links] == ["bio1", "spring24"]
    assert links[0]["content_type"] == "grwm"

    subs = dict(con.execute("select creator_id || ':' || currency, link_code "
                            "from staging.stg_fan_platform__subscribers where link_code is not null").fetchall())
    assert subs == {"c1:USD": "spring24", "c2:USD": "bio1"}

    ev = {r["event_id"]: r for r in rows(con, "select * from staging.stg_tracking__events")}
    assert ev["e2"]["event_type"] == "conversion" and ev["e2"]["conversion_type"] == "purchase"
    assert ev["e3"]["exit_outcome"] == "bounce"
    assert ev["e1"]["utm_source"] == "newsletter"

    steps = rows(con, "select * from staging.stg_definitions__funnel_steps order by step_order")
    assert [s["step_id"] for s in steps] == ["land", "signup", "pay"]
    assert {s["order_mode"] for s in steps} == {"sequential"}

    ab = rows(con, "select * from staging.stg_definitions__ab_test_variants")
    assert {v["alpha"] for v in ab} == {0.05}
    assert sum(v["is_control"] for v in ab) == 1

    conf = rows(con, "select * from staging.stg_agency__confounders")[0]
    assert conf["confounder_type"] == "promo"
    assert conf["confounder_id"] == hashlib.md5(b"c1|promo|2026-03-05T09:00:00.000000").hexdigest()


# ---------------------------------------------------------------------------------------
# PII
# ---------------------------------------------------------------------------------------
RAW_PERSON_VALUES = ("f1", "f2", "FanOne", "fanone", "u1", "u2", "v1", "v2", "anon1", "j1",
                     "203.0.113.7", "Foo.Bar@Example.COM", "foo.bar@example.com", "not-an-email",
                     "650", "7946")


def test_no_clear_person_id_is_left_in_staging(con: duckdb.DuckDBPyConnection) -> None:
    dropped = {"fan_id", "fan_username", "counterparty", "user_id", "anonymous_id", "visitor_id",
               "ip_address", "journey_id", "email", "phone", "subject_id"}
    cols = rows(con, "select table_name, column_name from information_schema.columns "
                     "where table_schema = 'staging'")
    assert not [c for c in cols if c["column_name"] in dropped]
    # No staging value equals or contains a clear person id of the fixture (JSON cast to text).
    for model in STAGING_MODELS:
        table_cols = [c["column_name"] for c in cols if c["table_name"] == model]
        blob = con.execute(
            f"select string_agg(concat_ws(' ', {', '.join(f'cast({c} as varchar)' for c in table_cols)}), ' ') "
            f"from staging.{model}"
        ).fetchone()[0] or ""
        for value in RAW_PERSON_VALUES:
            hits = [tok for tok in blob.split() if tok == value]
            assert not hits, f"{model} holds the clear value {value!r}"
    desc = con.execute("select description from staging.stg_fan_platform__revenue_events "
                       "where revenue_type = 'tip'").fetchone()[0]
    assert desc == "Tip from [fan]"
    assert con.execute("select description from staging.stg_fan_platform__revenue_events "
                       "where revenue_type = 'message'").fetchone()[0] == "Payment for message from [fan]"


def test_fan_keys_are_salted_per_agency(con: duckdb.DuckDBPyConnection) -> None:
    subs = {(r["creator_id"], r["subscribed_at"]): r
            for r in rows(con, "select * from staging.stg_fan_platform__subscribers")}
    s1 = subs[("c1", _h(1, 3))]
    s2 = subs[("c2", _h(1, 4))]
    assert s1["agency_id"] == "a1" and s2["agency_id"] == "a2"
    assert s1["fan_key"] == person_key("f1", "a1")
    assert s2["fan_key"] == person_key("f1", "a2")
    assert s1["fan_key"] != s2["fan_key"]  # same platform fan, two tenants, two keys
    assert s1["fan_key"] != person_key("f1", "a1", salt=DEV_SALT)  # the salt matters
    # Usernames are compared lower-case without '@', so revenue joins subscribers.
    assert s1["fan_username_key"] == person_key("fanone", "a1")
    assert s2["fan_username_key"] == person_key("fanone", "a2")
    rev = rows(con, "select * from staging.stg_fan_platform__revenue_events where revenue_type = 'tip'")[0]
    assert rev["counterparty_key"] == s1["fan_username_key"]
    assert subs[("c1", _h(1, 5))]["fan_username_key"] is None
    for r in subs.values():
        assert len(r["subscription_id"]) == 64 and set(r["subscription_id"]) <= set("0123456789abcdef")


def test_tenant_keys_for_tracking_product_and_marketing(con: duckdb.DuckDBPyConnection) -> None:
    u1 = person_key("u1", TEST_TENANT)
    assert {r[0] for r in con.execute("select user_key from staging.stg_marketing__touchpoints").fetchall()} == {u1}
    assert con.execute("select user_key from staging.stg_marketing__conversions "
                       "where conversion_id = 'o1'").fetchone()[0] == u1
    assert con.execute("select user_key from staging.stg_product__events where event_id = 'p1'").fetchone()[0] == u1
    assert con.execute("select journey_key from staging.stg_marketing__touchpoints "
                       "where touchpoint_id = 't1'").fetchone()[0] == person_key("j1", TEST_TENANT)
    p2 = rows(con, "select * from staging.stg_product__events where event_id = 'p2'")[0]
    assert p2["user_key"] is None and p2["anonymous_key"] == person_key("anon1", TEST_TENANT)
    ev = {r["event_id"]: r for r in rows(con, "select * from staging.stg_tracking__events")}
    assert ev["e1"]["visitor_key"] == person_key("v1", TEST_TENANT)
    assert ev["e1"]["ip_key"] == person_key("203.0.113.7", TEST_TENANT)
    assert ev["e3"]["ip_key"] is None
    assert ev["e1"]["visitor_key"] != person_key("v1", "default")  # the tenant matters


def test_email_and_phone_hashes_match_offline_conversion_conventions(con: duckdb.DuckDBPyConnection) -> None:
    conv = {r["conversion_id"]: r for r in rows(con, "select * from staging.stg_marketing__conversions")}
    # Known vectors computed independently with hashlib on the normalised forms.
    assert conv["o1"]["email_sha256"] == sha("foo.bar@example.com")
    assert conv["o1"]["phone_sha256"] == sha("16505551212")
    assert conv["o1"]["phone_e164_sha256"] == sha("+16505551212")
    assert conv["o2"]["email_sha256"] is None  # not shaped like an e-mail
    assert conv["o2"]["phone_sha256"] == sha("442079460018")  # '00' international prefix dropped


def test_erasure_requests_carry_the_subjects_staging_keys(con: duckdb.DuckDBPyConnection) -> None:
    req = {r["request_id"]: r for r in rows(con, "select * from staging.stg_privacy__erasure_requests")}
    assert req["r1"]["subject_key"] == person_key("u1", TEST_TENANT)
    assert list(req["r1"]["subject_keys"]) == [req["r1"]["subject_key"]]
    assert req["r2"]["subject_type"] == "fan" and req["r2"]["subject_key"] is None
    # Fans: one key per roster agency (the id is also its own lower-cased username here).
    assert sorted(req["r2"]["subject_keys"]) == sorted([person_key("f1", "a1"), person_key("f1", "a2")])
    fan_keys = {r[0] for r in con.execute("select fan_key from staging.stg_fan_platform__subscribers").fetchall()}
    assert set(req["r2"]["subject_keys"]) <= fan_keys
    email_key = con.execute("select email_sha256 from staging.stg_marketing__conversions "
                            "where conversion_id = 'o1'").fetchone()[0]
    assert req["r3"]["subject_key"] == email_key


# ---------------------------------------------------------------------------------------
# Documentation and the contract
# ---------------------------------------------------------------------------------------
def _load_yml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def staging_model_docs() -> dict[str, dict[str, Any]]:
    """Model name -> its entry in the staging ymls (one yml per source folder)."""
    models: dict[str, dict[str, Any]] = {}
    for path in sorted(STAGING_DIR.glob("*/_*.yml")):
        for model in _load_yml(path).get("models", []):
            assert model["name"] not in models, f"{model['name']} documented twice"
            models[model["name"]] = model
    return models


def test_sources_yml_matches_contract() -> None:
    sources = _load_yml(STAGING_DIR / "_sources.yml")["sources"]
    assert [s["name"] for s in sources] == ["raw"]
    tables = {t["name"]: t for t in sources[0]["tables"]}
    assert set(tables) == {s.table for s in SOURCES.values()} | {"load_files", "quarantine"}
    for source in SOURCES.values():
        documented = [(c["name"], c["data_type"]) for c in tables[source.table]["columns"]]
        expected = [(c.name, c.dtype.lower()) for c in (*source.columns, *LOAD_METADATA)]
        assert documented == expected, source.table
        assert all(c["description"].strip() for c in tables[source.table]["columns"])


def test_every_model_and_column_is_documented_and_matches_the_table(con: duckdb.DuckDBPyConnection) -> None:
    docs = staging_model_docs()
    assert set(docs) == set(STAGING_MODELS)
    for model, doc in docs.items():
        assert doc.get("description", "").strip(), model
        actual = [r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_schema = 'staging' "
            "and table_name = ? order by ordinal_position", [model]).fetchall()]
        documented = [c["name"] for c in doc["columns"]]
        assert documented == actual, model
        for column in doc["columns"]:
            assert column.get("description", "").strip(), f"{model}.{column['name']}"
            assert column.get("data_type"), f"{model}.{column['name']}"
        assert documented[-4:] == ["_source_file", "_line", "_load_id", "_loaded_at"]


def _column_tests(column: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for test in column.get("data_tests", []):
        if isinstance(test, str):
            out.append((test, {}))
        else:
            (name, body), = test.items()
            out.append((name, body or {}))
    return out


def test_accepted_values_follow_the_contract_vocabularies() -> None:
    docs = staging_model_docs()
    contract_allowed = {
        ("stg_social__post_snapshots", "platform"): SOURCES["social_posts"].column("platform").allowed,
        ("stg_social__post_snapshots", "export_format"): SOURCES["social_posts"].column("export_format").allowed,
        ("stg_social__post_snapshots", "views_metric"): SOURCES["social_posts"].column("views_metric").allowed,
        ("stg_social__content_tags", "platform"): SOURCES["content_tags"].column("platform").allowed,
        ("stg_social__tracking_links", "platform"): SOURCES["tracking_links"].column("platform").allowed,
        ("stg_fan_platform__revenue_events", "revenue_type"): SOURCES["revenue"].column("revenue_type").allowed,
        ("stg_agency__confounders", "confounder_type"):
            SOURCES["confounders"].column("confounder_type").allowed,
        ("stg_tracking__events", "event_type"): SOURCES["tracking_events"].column("event_type").allowed,
        ("stg_tracking__events", "conversion_type"): SOURCES["tracking_events"].column("conversion_type").allowed,
        ("stg_tracking__events", "exit_outcome"): SOURCES["tracking_events"].column("exit_outcome").allowed,
        ("stg_definitions__funnel_steps", "order_mode"): SOURCES["funnels"].column("order_mode").allowed,
        ("stg_privacy__erasure_requests", "subject_type"):
            SOURCES["erasure_requests"].column("subject_type").allowed,
    }
    found = {}
    for model, doc in docs.items():
        for column in doc["columns"]:
            for name, body in _column_tests(column):
                if name == "accepted_values":
                    found[(model, column["name"])] = tuple(body["arguments"]["values"])
    assert found == contract_allowed


def test_generic_tests_use_the_arguments_form_and_keys_are_tested() -> None:
    docs = staging_model_docs()
    for model, doc in docs.items():
        generic = [t for c in doc["columns"] for t in _column_tests(c)]
        generic += [(n, b or {}) for t in doc.get("data_tests", []) for n, b in t.items()]
        for name, body in generic:
            extra = set(body) - {"arguments", "config"}
            assert not extra, f"{model}: {name} has inputs outside arguments: {extra}"
        # Every model has a key test: unique on a column or a unique combination.
        has_unique = any(n == "unique" for c in doc["columns"] for n, _ in _column_tests(c))
        has_combo = any("unique_combination_of_columns" in t for t in doc.get("data_tests", []))
        assert has_unique or has_combo, model


def test_docs_generate_writes_a_catalog(built: BuiltWarehouse, tmp_path: Path) -> None:
    # On a copy: this module holds the built file open read-only.
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built.path, copy)
    run = run_dbt(["docs", "generate", "--select", STAGING_SELECTOR], warehouse=copy, work_dir=built.work_dir)
    assert run.success, run.exception
    import json

    catalog = json.loads((built.work_dir / "target" / "catalog.json").read_text())
    assert {n.split(".")[-1] for n in catalog["nodes"]} >= set(STAGING_MODELS)
    assert len(catalog["sources"]) == len(SOURCES) + 2


# ---------------------------------------------------------------------------------------
# Gates: dbt tests fail on bad data, and dbt build skips what is downstream
# ---------------------------------------------------------------------------------------
BAD_ROWS: dict[str, list[dict[str, Any]]] = {
    # A vocabulary value outside the contract.
    "tracking_events": [
        {"event_id": "bad1", "event_type": "click", "session_id": "s3", "visitor_id": "v3",
         "occurred_at": _h(0, 5)},
    ],
    # A key that staging cannot repair: two steps at the same position of a funnel.
    "funnel_steps": [
        {"funnel_id": "f-main", "funnel_name": "Main", "order_mode": "sequential",
         "conversion_window_days": 14.0, "step_id": "upsell", "step_order": 3},
    ],
    # A fan of a creator missing from the roster: no tenant, so no fan_key.
    "subscribers": [
        {"creator_id": "c-unknown", "fan_id": "f7", "subscribed_at": _h(2)},
    ],
    # A null key that slipped past the raw gate.
    "product_events": [
        {"event_id": None, "event_name": "x", "user_id": "u1", "occurred_at": _h(0)},
    ],
    # A confounder that ends before it starts.
    "confounders": [
        {"creator_id": "c2", "confounder_type": "collab", "starts_at": _h(5), "ends_at": _h(4)},
    ],
}

EXPECTED_FAILURES = {
    "accepted_values_stg_tracking__events_event_type__page_view__step_entry__step_exit__conversion",
    "unique_combination_of_columns_stg_definitions__funnel_steps_funnel_id__step_order",
    "assert_funnel_step_order_contiguous",
    "not_null_stg_fan_platform__subscribers_fan_key",
    "not_null_stg_fan_platform__subscribers_agency_id",
    "not_null_stg_fan_platform__subscribers_subscription_id",
    "relationships_stg_fan_platform__subscribers_creator_id__creator_id__ref_stg_roster__creators_",
    "not_null_stg_product__events_event_id",
    "assert_confounder_ends_after_start",
}


@pytest.fixture(scope="module")
def bad_build(built: BuiltWarehouse, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DbtRun]:
    path = tmp_path_factory.mktemp("dbt_bad") / "warehouse.duckdb"
    shutil.copyfile(built.path, path)
    with duckdb.connect(str(path)) as bad:
        for table, table_rows in BAD_ROWS.items():
            insert_raw_rows(bad, table, [{**r, "_loaded_at": LOAD_2} for r in table_rows])
    # Only the models the bad rows touch (and their tests), to keep the test fast.
    selected = ["stg_tracking__events", "stg_definitions__funnel_steps", "stg_fan_platform__subscribers",
                "stg_product__events", "stg_agency__confounders"]
    return path, run_dbt(["build", "--select", *selected], warehouse=path, work_dir=built.work_dir)


def test_dbt_tests_fail_on_bad_data(bad_build: tuple[Path, DbtRun]) -> None:
    _, run = bad_build
    assert not run.success
    failed = {name for name, status in run.statuses.items() if status in ("fail", "error")}
    # Exactly the tests the bad rows break (the relationships name is shortened by dbt when long).
    assert {f for f in failed if not f.startswith("relationships_")} == {
        f for f in EXPECTED_FAILURES if not f.startswith("relationships_")}
    assert any(f.startswith("relationships_stg_fan_platform__subscribers_creator_id") for f in failed)
    # The models still build; only their gates fail. Nothing else failed or warned.
    assert {m for m, st in run.statuses.items() if st == "success"} == {
        "stg_tracking__events", "stg_definitions__funnel_steps", "stg_fan_platform__subscribers",
        "stg_product__events", "stg_agency__confounders"}
    assert {n for n, st in run.statuses.items() if st not in ("success", "pass", "fail", "error")} == set()


def test_a_failing_gate_skips_what_is_downstream(bad_build: tuple[Path, DbtRun], built: BuiltWarehouse) -> None:
    path, _ = bad_build
    with duckdb.connect(str(path)) as bad:
        insert_raw_rows(bad, "creators", [{"agency_id": "a3", "creator_id": "c3", "agency_timezone": "Mars/Olympus",
                                           "_loaded_at": LOAD_2}])
    run = run_dbt(["build", "--select", f"stg_roster__creators+,{STAGING_SELECTOR}"], warehouse=path,
                  work_dir=built.work_dir)
    assert not run.success
    assert run.statuses["assert_agency_timezone_known"] == "fail"
    assert run.statuses["stg_roster__creators"] == "success"
    for child in ("stg_fan_platform__subscribers", "stg_fan_platform__revenue_events",
                  "stg_privacy__erasure_requests"):
        assert run.statuses[child] == "skipped", child


def test_production_without_a_salt_fails_to_compile(built: BuiltWarehouse, tmp_path: Path) -> None:
    with _env({"FUNNELLENS_ENV": "production"}):
        run = run_dbt(["compile", "--select", "stg_marketing__touchpoints"], warehouse=tmp_path / "unused.duckdb",
                      work_dir=built.work_dir, salt="")
    assert not run.success
    errors = " ".join([str(run.exception or ""), *run.messages.values()])
    assert "FUNNELLENS_ENV=production but FUNNELLENS_ID_SALT is not set" in errors


# ---------------------------------------------------------------------------------------
# Scale (pytest -m scale): event-scale staging stays set-based and exact
# ---------------------------------------------------------------------------------------
@pytest.mark.scale
def test_tracking_events_staging_at_one_million_events(tmp_path: Path) -> None:
    n_events, n_duplicates = 1_000_000, 5_000
    path = tmp_path / "warehouse.duckdb"
    create_raw_warehouse(path, {})
    with duckdb.connect(str(path)) as setup:
        setup.execute(f"""
            insert into raw.tracking_events by name
            select md5(i::varchar) as event_id,
                (['page_view', 'step_entry', 'step_exit', 'conversion'])[1 + i % 4] as event_type,
                's' || (i // 7) as session_id, 'v' || (i // 23) as visitor_id,
                '10.0.' || (i % 250) || '.1' as ip_address,
                timestamp '2026-01-01' + to_seconds(i) as occurred_at,
                'tracking/part-' || (i // 100000) || '.ndjson' as _source_file, md5('f') as _file_hash,
                i % 100000 + 1 as _line, 'load-1' as _load_id, timestamp '2026-02-01' as _loaded_at
            from range({n_events}) as t(i)
        """)
        # Later loads repeating existing event ids: staging must keep the first loaded.
        setup.execute(f"""
            insert into raw.tracking_events
            select * replace ('late' as session_id, timestamp '2026-02-02' as _loaded_at, 'load-2' as _load_id)
            from raw.tracking_events where _line % 200 = 0 limit {n_duplicates}
        """)
    # With the definitions its relationships tests refer to (empty here, so those tests warn).
    selected = ["stg_tracking__events", "stg_definitions__funnel_steps", "stg_definitions__ab_test_variants"]
    run = run_dbt(["build", "--select", *selected], warehouse=path, work_dir=tmp_path)
    assert run.success, {k: v for k, v in run.statuses.items() if v not in ("success", "pass", "warn")}
    with duckdb.connect(str(path), read_only=True) as check:
        total, distinct_keys, late = check.execute(
            "select count(*), count(distinct event_id), count(*) filter (where session_id = 'late') "
            "from staging.stg_tracking__events").fetchone()
        assert (total, distinct_keys, late) == (n_events, n_events, 0)
        expected = person_key("v42", TEST_TENANT)
        assert check.execute("select distinct visitor_key from staging.stg_tracking__events "
                             "where event_id = md5((42 * 23)::varchar)").fetchone()[0] == expected
        from validation.gx_suites import run_gx_suite

        result = run_gx_suite(check, "staging.stg_tracking__events", max_rows=200_000)
        assert result.success, result.failed_expectations
        assert result.sampled and result.rows_validated == 200_000 and result.rows_total == n_events
