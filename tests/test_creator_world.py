"""A small synthetic creator world with planted effects, and the dbt build the creator tests share.

Two creators of one agency (Europe/Berlin, so weekly windows cross the DST change of
2026-03-29), six-plus weeks, one post a day rotating through four content types, daily
cumulative snapshots, subscribers drawn from a planted model (a baseline plus, per content
type, ``beta_k`` subscribers per 1,000 views spread uniformly over the next 48 hours), 40% of
the content-driven subscribers coming through a tracking link of their true post. Creator c1
has a promo (a confounder) in one week. Edge cases are planted on purpose: a counter
correction (views go down), a post missing from one export, and a manual tag that overrides
the caption rule.

``build_creator_warehouse`` runs ``dbt build`` once per session over the staging and creator
models; the tests read the result read-only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from test_dbt_staging import DbtRun, run_dbt

from funnellens.contract import LOAD_METADATA, SOURCES, bookkeeping_ddl, raw_table_ddl

START = datetime(2026, 2, 2, 0, 0)  # a Monday (UTC); Berlin windows start at 23:00 UTC the day before
DAYS = 63
LAG_H = 48
SNAPSHOT_HOUR = 6
POST_LIFETIME_H = 72
TYPES = ("storytime", "grwm", "thirst_trap", "money_talk")
CAPTIONS = {
    "storytime": "storytime: the worst date ever #storytime #fyp",
    "grwm": "grwm for a night out #grwm",
    "thirst_trap": "new fit, who dis #fitcheck #ootd",
    "money_talk": "money talk: my first big month #moneytalk",
}
# Subscribers per 1,000 views of each type (planted truth): storytime converts best for c1,
# grwm for c2; thirst traps get the most views but convert least.
BETA = {
    "c1": {"storytime": 2.0, "grwm": 0.6, "thirst_trap": 0.2, "money_talk": 0.6},
    "c2": {"storytime": 0.5, "grwm": 2.0, "thirst_trap": 0.2, "money_talk": 0.5},
}
VIEWS_BY_TYPE = {"storytime": 12_000, "grwm": 10_000, "thirst_trap": 24_000, "money_talk": 9_000}
BASELINE_PER_DAY = {"c1": 4.0, "c2": 3.0}
LINK_SHARE = 0.4
PROMO = {"creator_id": "c1", "starts_at": START + timedelta(days=35), "ends_at": START + timedelta(days=38)}


@dataclass(frozen=True)
class CreatorWorld:
    raw: dict[str, pd.DataFrame]
    true_types: pd.DataFrame  # fan_id, creator_id, subscribed_at, source ('baseline' | content type)


def _post_views(total: float, age_h: np.ndarray) -> np.ndarray:
    """Cumulative views of a post ``age_h`` hours after publishing: linear over its lifetime."""
    return total * np.clip(age_h / POST_LIFETIME_H, 0, 1)


def make_world(seed: int = 7) -> CreatorWorld:
    rng = np.random.default_rng(seed)
    hours = np.arange(DAYS * 24)
    snapshots, subscribers, truth, links, revenue = [], [], [], [], []
    for creator in ("c1", "c2"):
        posts = []
        for day in range(DAYS - 1):
            ctype = TYPES[day % len(TYPES)]
            published_h = day * 24 + 9 + (day % 5)
            post_id = f"{creator}-p{day:03d}"
            total = VIEWS_BY_TYPE[ctype] * rng.uniform(0.8, 1.2)
            posts.append((post_id, ctype, published_h, total))
            for snap_day in range(day, min(day + 8, DAYS)):
                snap_h = snap_day * 24 + SNAPSHOT_HOUR + 24
                if snap_h <= published_h or snap_h >= DAYS * 24:
                    continue
                views = int(_post_views(total, np.array([snap_h - published_h]))[0])
                snapshots.append({
                    "platform": "tiktok", "creator_id": creator, "post_id": post_id,
                    "snapshot_at": START + timedelta(hours=snap_h),
                    "published_at": START + timedelta(hours=published_h),
                    "caption": CAPTIONS[ctype], "views": views, "likes": views // 20,
                    "comments": views // 200, "shares": views // 400,
                    "export_format": "normalized", "views_metric": "views",
                })
        # Views of each type per hour and in the lag before each hour (the planted model).
        per_type = {t: np.zeros(len(hours)) for t in TYPES}
        for _, ctype, published_h, total in posts:
            cum = _post_views(total, np.maximum(hours + 1 - published_h, 0))
            per_type[ctype] += np.diff(np.concatenate([[0.0], cum]))
        lam = {"baseline": np.full(len(hours), BASELINE_PER_DAY[creator] / 24)}
        for t in TYPES:
            csum = np.concatenate([[0.0], np.cumsum(per_type[t])])
            lag_views = csum[hours] - csum[np.maximum(hours - LAG_H, 0)]
            lam[t] = BETA[creator][t] / 1000 * lag_views / LAG_H
        for source, rate in lam.items():
            counts = rng.poisson(rate)
            for h in np.repeat(hours, counts):
                at = START + timedelta(hours=float(h) + float(rng.uniform(0, 1)))
                fan_id = f"{creator}-fan{len(subscribers):05d}"
                link = None
                if source != "baseline" and rng.uniform() < LINK_SHARE:
                    link = f"{creator}-{source}"
                subscribers.append({"creator_id": creator, "fan_id": fan_id, "subscribed_at": at,
                                    "price": 9.99, "currency": "USD", "link_code": link})
                truth.append({"fan_id": fan_id, "creator_id": creator, "subscribed_at": at, "source": source})
                revenue.append({"creator_id": creator, "occurred_at": at, "amount": 9.99,
                                "description": f"Subscription from {fan_id}", "revenue_type": "subscription",
                                "counterparty": fan_id})
        links += [{"link_code": f"{creator}-{t}", "creator_id": creator, "platform": "tiktok", "content_type": t}
                  for t in TYPES]
    snaps = pd.DataFrame(snapshots)
    # Edge cases: a platform correction, a post missing from one export, a manual tag.
    fix = (snaps.post_id == "c1-p010") & (snaps.snapshot_at == START + timedelta(days=15, hours=SNAPSHOT_HOUR))
    snaps.loc[fix, "views"] = snaps.loc[fix, "views"] - 500
    gap = (snaps.post_id == "c2-p020") & (snaps.snapshot_at == START + timedelta(days=22, hours=SNAPSHOT_HOUR))
    snaps = snaps.loc[~gap]
    tags = pd.DataFrame([{"platform": "tiktok", "post_id": "c2-p001", "content_type": "behind_scenes",
                          "creator_id": "c2"}])
    raw = {
        "creators": pd.DataFrame([
            {"agency_id": "a1", "agency_name": "Agency One", "agency_timezone": "Europe/Berlin",
             "creator_id": c, "creator_name": c.upper()} for c in ("c1", "c2")
        ]),
        "social_post_snapshots": snaps.reset_index(drop=True),
        "content_tags": tags,
        "tracking_links": pd.DataFrame(links),
        "subscribers": pd.DataFrame(subscribers),
        "revenue_events": pd.DataFrame(revenue),
        "confounders": pd.DataFrame([{**PROMO, "confounder_type": "promo", "description": "50% off"}]),
    }
    return CreatorWorld(raw=raw, true_types=pd.DataFrame(truth))


def write_raw(path: Path, raw: dict[str, pd.DataFrame]) -> None:
    """A DuckDB file with every contract raw table, holding ``raw`` (load metadata filled in)."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists raw")
        for source in SOURCES.values():
            con.execute(raw_table_ddl(source))
        for ddl in bookkeeping_ddl():
            con.execute(ddl)
        for table, frame in raw.items():
            df = frame.copy()
            df["_source_file"] = f"{table}/fixture.csv"
            df["_file_hash"] = hashlib.sha256(table.encode()).hexdigest()
            df["_line"] = np.arange(2, len(df) + 2)
            df["_load_id"] = "load-fixture"
            df["_loaded_at"] = datetime(2026, 4, 10, 6)
            assert {c.name for c in LOAD_METADATA} <= set(df.columns)
            con.register("frame", df)
            con.execute(f"insert into raw.{table} by name select * from frame")
            con.unregister("frame")


CREATOR_SELECT = ["--select", "+path:dbt_project/models/intermediate/creator"]


@dataclass(frozen=True)
class CreatorWarehouse:
    path: Path
    work_dir: Path
    build: DbtRun
    world: CreatorWorld


_BUILT: dict[str, CreatorWarehouse] = {}


def build_creator_warehouse(tmp_path_factory: pytest.TempPathFactory) -> CreatorWarehouse:
    """The world after one ``dbt build`` of staging + the creator intermediate models (cached)."""
    if "world" not in _BUILT:
        work_dir = tmp_path_factory.mktemp("creator_world")
        path = work_dir / "warehouse.duckdb"
        world = make_world()
        write_raw(path, world.raw)
        build = run_dbt(["build", *CREATOR_SELECT], warehouse=path, work_dir=work_dir)
        _BUILT["world"] = CreatorWarehouse(path, work_dir, build, world)
    return _BUILT["world"]


def test_world_has_planted_edge_cases() -> None:
    world = make_world()
    snaps = world.raw["social_post_snapshots"]
    assert len(snaps) > 500
    assert world.true_types.source.isin(TYPES).sum() > 200
    assert world.raw["subscribers"].link_code.notna().sum() > 40
