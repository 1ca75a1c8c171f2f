"""The creator intermediate models: snapshot deltas, spreading, content types, windows, baselines
and fan credits, checked on the synthetic world of test_creator_world against brute force."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from test_creator_world import START, CreatorWarehouse, build_creator_warehouse

from funnellens.content_types import (
    CONTENT_TYPE_RULES,
    rules_values_sql,
    suggest_content_type,
    suggest_content_types,
)

MODEL_DIR = Path(__file__).resolve().parents[1] / "dbt_project" / "models" / "intermediate" / "creator"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> CreatorWarehouse:
    return build_creator_warehouse(tmp_path_factory)


@pytest.fixture(scope="module")
def con(built: CreatorWarehouse) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(built.path), read_only=True)
    yield connection
    connection.close()


def df(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    return con.execute(sql).df()


def test_build_passes(built: CreatorWarehouse) -> None:
    assert built.build.exception is None, built.build.exception
    bad = {k: v for k, v in built.build.statuses.items() if v not in ("success", "pass")}
    assert built.build.success and bad == {}


# ---------------------------------------------------------------------------------------
# Content types
# ---------------------------------------------------------------------------------------
def test_content_type_rules_in_sql_match_python() -> None:
    sql = (MODEL_DIR / "int_post_content_types.sql").read_text()
    block = re.search(r"values\n(.*?)\n\),", sql, re.S).group(1)
    assert [line.strip() for line in block.splitlines()] == rules_values_sql().splitlines()


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        ("GRWM + story time about my ex", "grwm"),
        ("storytime: the worst date #fyp", "storytime"),
        ("BTS: how we film", "behind_scenes"),
        ("how much I made this month", "money_talk"),
        ("new fit #OOTD", "thirst_trap"),
        ("a very normal tuesday", "other"),
        (None, "other"),
        ("subtitles", "other"),  # 'bts' inside a word is not behind the scenes
    ],
)
def test_suggest_content_type(caption: str | None, expected: str) -> None:
    assert suggest_content_type(caption) == expected
    assert suggest_content_types(pd.Series([caption]))[0] == expected


def test_manual_tag_wins_and_sql_rules_agree_with_python(con: duckdb.DuckDBPyConnection) -> None:
    posts = df(con, "select * from intermediate.int_post_content_types")
    tagged = posts.set_index("post_id").loc["c2-p001"]
    assert tagged.content_type == "behind_scenes" and tagged.content_type_source == "manual"
    assert tagged.suggested_content_type == "grwm"
    assert (posts.suggested_content_type == suggest_content_types(posts.caption).astype(object)).all()
    assert len(CONTENT_TYPE_RULES) >= 5


# ---------------------------------------------------------------------------------------
# Snapshot deltas
# ---------------------------------------------------------------------------------------
def test_deltas_start_at_publish_and_sum_to_the_high_water_mark(
    con: duckdb.DuckDBPyConnection, built: CreatorWarehouse
) -> None:
    deltas = df(con, "select * from intermediate.int_post_view_deltas order by post_id, interval_end")
    snaps = built.world.raw["social_post_snapshots"]
    first = deltas[deltas.is_first_snapshot]
    assert (first.interval_start == first.published_at).all()
    assert (deltas.views_delta >= 0).all()
    sums = deltas.groupby("post_id").views_delta.sum()
    high = snaps.groupby("post_id").views.max()
    pd.testing.assert_series_equal(sums.sort_index(), high.sort_index(), check_names=False, check_dtype=False)


def test_a_correction_is_clamped_flagged_and_not_counted_twice(con: duckdb.DuckDBPyConnection) -> None:
    post = df(con, "select * from intermediate.int_post_view_deltas where post_id = 'c1-p010' order by interval_end")
    corrected = post[post.views_decreased]
    assert len(corrected) == 1
    assert corrected.views_delta.iloc[0] == 0 and corrected.views_correction.iloc[0] == -500
    after = post[post.interval_end > corrected.interval_end.iloc[0]]
    assert (after.views_delta == 0).all()  # the recovery to the old total is no new views


def test_a_missing_export_is_not_a_drop_to_zero(con: duckdb.DuckDBPyConnection) -> None:
    post = df(con, "select * from intermediate.int_post_view_deltas where post_id = 'c2-p020' order by interval_end")
    gap_end = START + timedelta(days=23, hours=6)
    row = post[post.interval_end == gap_end].iloc[0]
    assert row.interval_start == START + timedelta(days=21, hours=6)
    assert row.interval_hours == 48 and not row.views_decreased


def test_spreading_conserves_views_and_is_linear(con: duckdb.DuckDBPyConnection) -> None:
    total_spread = con.execute("select sum(views) from intermediate.int_creator_hourly_views").fetchone()[0]
    total_delta = con.execute("select sum(views_delta) from intermediate.int_post_view_deltas "
                              "where interval_start is not null").fetchone()[0]
    assert total_spread == pytest.approx(total_delta, rel=1e-12)
    # One delta alone: a post's first interval, spread evenly per hour, partial hours prorated.
    d = df(con, "select * from intermediate.int_post_view_deltas where post_id = 'c1-p000' and is_first_snapshot")
    start, end, views = d.interval_start[0], d.interval_end[0], d.views_delta[0]
    hours = pd.date_range(start.floor("h"), end, freq="h", inclusive="left")
    overlap = np.array([(min(end, h + pd.Timedelta("1h")) - max(start, h)).total_seconds() for h in hours])
    expected = views * overlap / (end - start).total_seconds()
    got = df(con, f"select hour_start, views from intermediate.int_creator_hourly_views where creator_id = 'c1' "
                  f"and content_type = 'storytime' and hour_start < '{end}' order by hour_start")
    np.testing.assert_allclose(got.views.to_numpy(), expected, rtol=1e-12)


# ---------------------------------------------------------------------------------------
# Windows and baselines
# ---------------------------------------------------------------------------------------
def test_weekly_windows_run_monday_to_monday_in_the_agency_zone(con: duckdb.DuckDBPyConnection) -> None:
    w = df(con, "select * from intermediate.int_creator_windows where creator_id = 'c1' order by window_start")
    assert (pd.to_datetime(w.window_start_local).dt.dayofweek == 0).all()
    assert (pd.to_datetime(w.window_start_local).dt.hour == 0).all()
    assert (w.window_end.iloc[:-1].to_numpy() == w.window_start.iloc[1:].to_numpy()).all()
    # Berlin: CET is UTC+1; the week of the DST change (2026-03-29) lasts 167 hours.
    assert w.window_start.iloc[0] == datetime(2026, 2, 1, 23)
    dst = w[w.window_start_local == datetime(2026, 3, 23)]
    assert dst.window_hours.iloc[0] == 167
    assert set(w.window_hours) <= {167.0, 168.0}


def test_baseline_ends_at_the_window_start_and_matches_brute_force(
    con: duckdb.DuckDBPyConnection, built: CreatorWarehouse
) -> None:
    w = df(con, "select * from intermediate.int_creator_windows where creator_id = 'c1' order by window_start")
    first = w.iloc[0]
    assert first.baseline_days == 0 and first.insufficient_baseline and pd.isna(first.expected_subscribers)
    subs = built.world.raw["subscribers"]
    subs = subs[subs.creator_id == "c1"].copy()
    local = pd.to_datetime(subs.subscribed_at).dt.tz_localize("UTC").dt.tz_convert("Europe/Berlin")
    subs["local_date"] = local.dt.tz_localize(None).dt.normalize()
    per_day = subs.groupby("local_date").size()
    for _, row in w.iloc[2:].iterrows():
        ws_local = pd.Timestamp(row.window_start_local)
        days = pd.date_range(ws_local - pd.Timedelta(days=14), ws_local - pd.Timedelta(days=1), freq="D")
        counts = per_day.reindex(days, fill_value=0)
        assert row.baseline_days == 14 and row.baseline_method == "day_of_week"
        assert pd.Timestamp(row.baseline_last_date) == ws_local - pd.Timedelta(days=1)
        # A whole week against two whole weeks: the weekday-adjusted expectation is 7 x the mean.
        assert row.expected_subscribers == pytest.approx(7 * counts.mean(), rel=1e-12)


def test_fewer_than_seven_baseline_days_is_flagged(con: duckdb.DuckDBPyConnection) -> None:
    w = df(con, "select * from intermediate.int_creator_windows where creator_id = 'c1' order by window_start")
    second = w.iloc[1]
    assert second.baseline_days == 7 and not second.insufficient_baseline
    assert w.iloc[0].baseline_method == "none"


# ---------------------------------------------------------------------------------------
# Fan credits
# ---------------------------------------------------------------------------------------
def test_credits_sum_to_one_and_links_are_ground_truth(
    con: duckdb.DuckDBPyConnection, built: CreatorWarehouse
) -> None:
    credits = df(con, "select * from intermediate.int_fan_content_credits")
    sums = credits.groupby("subscription_id").credit.sum()
    np.testing.assert_allclose(sums, 1.0, rtol=1e-12)
    links = credits[credits.method == "referral_link"].merge(
        df(con, "select subscription_id, link_code from staging.stg_fan_platform__subscribers"), on="subscription_id")
    assert len(links) == built.world.raw["subscribers"].link_code.notna().sum()
    assert (links.link_code.str.split("-", n=1).str[1] == links.content_type).all()


def test_weighted_window_credit_matches_brute_force(con: duckdb.DuckDBPyConnection) -> None:
    """Credit shares from the hourly table, recomputed in numpy for a few fans."""
    hourly = df(con, "select * from intermediate.int_creator_hourly_views where creator_id = 'c2'")
    fans = df(con, "select subscription_id, subscribed_at from intermediate.int_fan_content_credits "
                   "where creator_id = 'c2' and method = 'weighted_window' group by all order by 1 limit 5")
    for _, fan in fans.iterrows():
        t1, t0 = fan.subscribed_at, fan.subscribed_at - pd.Timedelta(hours=48)
        start = hourly.hour_start
        end = start + pd.Timedelta(hours=1)
        overlap = (np.minimum(end, t1) - np.maximum(start, t0)).dt.total_seconds().clip(lower=0) / 3600
        views = (hourly.views * overlap).groupby(hourly.content_type).sum()
        share = (views / views.sum())[lambda s: s > 0]
        got = df(con, f"select content_type, credit from intermediate.int_fan_content_credits "
                      f"where subscription_id = '{fan.subscription_id}'").set_index("content_type").credit
        pd.testing.assert_series_equal(got.sort_index(), share.sort_index(), check_names=False, rtol=1e-9)


def test_window_rows_reconcile(con: duckdb.DuckDBPyConnection) -> None:
    rows = df(con, "select * from intermediate.int_content_type_windows")
    per_window = rows.groupby(["creator_id", "window_start"]).agg(
        credited=("credited_subscribers", "sum"), dominant=("dominant_fans", "sum"),
        total=("subscribers_total", "first"), no_data=("no_data_subscribers", "first"),
        share=("view_share", "sum"))
    np.testing.assert_allclose(per_window.credited + per_window.no_data, per_window.total, rtol=1e-9)
    assert (per_window.dominant + per_window.no_data == per_window.total).all()
    np.testing.assert_allclose(per_window.share, 1.0, rtol=1e-9)
    promo = rows[rows.confounder_count > 0]
    assert set(promo.creator_id) == {"c1"} and promo.confounders.str.startswith("promo: 50% off").all()
