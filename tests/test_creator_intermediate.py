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


def _brute_force_views(deltas: pd.DataFrame, t: pd.Timestamp) -> pd.Series:
    """V(t) per content type straight from the deltas: each delta spread linearly over its interval."""
    d = deltas[deltas.interval_start.notna()]
    length = (d.interval_end - d.interval_start).dt.total_seconds()
    done = (t - d.interval_start).dt.total_seconds()
    share = np.where(length > 0, np.clip(done / length.where(length > 0, 1), 0, 1), (d.interval_end <= t) * 1.0)
    return (d.views_delta * share).groupby(d.content_type).sum()


def _curve_views(curve: pd.DataFrame, t: pd.Timestamp) -> pd.Series:
    """V(t) per content type from the curve's breakpoints (the SQL ASOF rule, in pandas)."""
    last = curve[curve.breakpoint_at <= t].sort_values("breakpoint_at").groupby("content_type").last()
    return last.cum_views + last.views_per_hour * (t - last.breakpoint_at).dt.total_seconds() / 3600


@pytest.fixture(scope="module")
def c1_deltas(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return df(con, "select d.*, t.content_type from intermediate.int_post_view_deltas d "
                   "join intermediate.int_post_content_types t using (platform, post_id) where d.creator_id = 'c1'")


def test_the_view_curve_conserves_views_and_is_exactly_linear(
    con: duckdb.DuckDBPyConnection, c1_deltas: pd.DataFrame
) -> None:
    total_curve = con.execute("select sum(v) from (select max(cum_views) as v from "
                              "intermediate.int_creator_view_curve group by creator_id, content_type)").fetchone()[0]
    total_delta = con.execute("select sum(views_delta) from intermediate.int_post_view_deltas "
                              "where interval_start is not null").fetchone()[0]
    assert total_curve == pytest.approx(total_delta, rel=1e-9)
    curve = df(con, "select * from intermediate.int_creator_view_curve where creator_id = 'c1'")
    rng = np.random.default_rng(3)
    for seconds in rng.uniform(0, 60 * 86400, size=25):
        t = START + pd.Timedelta(seconds=float(seconds))
        expected = _brute_force_views(c1_deltas, t)
        got = _curve_views(curve, t).reindex(expected.index, fill_value=0.0)
        np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-9, atol=1e-6)


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


def test_weighted_window_credit_matches_brute_force(con: duckdb.DuckDBPyConnection, c1_deltas: pd.DataFrame) -> None:
    """Credit shares recomputed in numpy straight from the snapshot deltas for a few fans."""
    fans = df(con, "select subscription_id, subscribed_at from intermediate.int_fan_content_credits "
                   "where creator_id = 'c1' and method = 'weighted_window' group by all order by 1 limit 8")
    for _, fan in fans.iterrows():
        t1 = fan.subscribed_at
        views = _brute_force_views(c1_deltas, t1) - _brute_force_views(c1_deltas, t1 - pd.Timedelta(hours=48))
        share = (views / views.sum())[lambda x: x > 1e-12]
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
