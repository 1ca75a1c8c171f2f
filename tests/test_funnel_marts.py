"""The funnel chain: sessions, step visits, order modes, marts, drop-off rules and A/B results,
checked on the world of test_funnel_world against direct SQL counts, a brute-force reference of
the order modes, and scipy/statsmodels.

Hand-written visitors (one copy per funnel a -> b -> c; EXPECTED_REACH):
    full    a b c                          every mode: 3
    skip    a c (skips b)                  sequential 1, strict 1, any_order 2
    late    a b | 20 days later c          2 everywhere (c is outside the window)
    back    a b a c                        sequential 3, strict 2 (a breaks the run), any_order 3
    only_b  b                              0, 0, any_order 1
    bounce  a                              1
    return  a | next day a b c             3
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest
from test_dbt_staging import TEST_TENANT, person_key
from test_funnel_world import (
    EXPECTED_REACH,
    HAND_FUNNELS,
    HAND_VISITORS,
    PRICE_CENTS,
    RANDOM_FUNNELS,
    RANDOM_STEPS,
    RANDOM_WINDOW_DAYS,
    T0,
    FunnelWarehouse,
    build_funnel_warehouse,
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> FunnelWarehouse:
    return build_funnel_warehouse(tmp_path_factory)


@pytest.fixture(scope="module")
def con(built: FunnelWarehouse) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(built.path), read_only=True)
    yield connection
    connection.close()


def df(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


def key(raw_visitor: str) -> str:
    return person_key(raw_visitor, TEST_TENANT)


def test_build_passes_every_model_and_test(built: FunnelWarehouse) -> None:
    for stage, run in built.builds.items():
        assert run.exception is None, (stage, run.exception)
        bad = {k: (v, run.messages[k][:300]) for k, v in run.statuses.items() if v not in ("success", "pass")}
        assert run.success and bad == {}, (stage, bad)
    assert set(built.builds) == {"staging", "intermediate", "marts"}


# ---------------------------------------------------------------------------------------
# Order modes
# ---------------------------------------------------------------------------------------
def _reach(con: duckdb.DuckDBPyConnection, funnel: str) -> dict[str, int]:
    rows = con.execute(
        "select visitor_key, max(step_order) from intermediate.int_funnel_progress where funnel_id = ? group by 1",
        [funnel],
    ).fetchall()
    return dict(rows)


@pytest.mark.parametrize("funnel", list(HAND_FUNNELS))
def test_order_modes_on_hand_written_visitors(con: duckdb.DuckDBPyConnection, funnel: str) -> None:
    reach = _reach(con, funnel)
    hand = {name: reach.get(key(f"{funnel}-{name}"), 0) for name in HAND_VISITORS}
    counts = tuple(sum(1 for r in hand.values() if r >= k) for k in (1, 2, 3))
    assert counts == EXPECTED_REACH[funnel], hand
    # The visitor who skips b: stuck at a in sequential and strict, two steps in any order.
    assert hand["skip"] == {"f_seq": 1, "f_strict": 1, "f_any": 2}[funnel]
    assert hand["back"] == {"f_seq": 3, "f_strict": 2, "f_any": 3}[funnel]


def _reference_reach(entries: list[tuple[int, datetime]], mode: str, window: timedelta) -> int:
    """Brute force: the furthest step any chain reaches (PostHog semantics, see int_funnel_progress)."""
    entries = sorted(entries, key=lambda e: e[1])
    n_steps = len(RANDOM_STEPS)
    best = 0
    if mode == "sequential":
        for step, t0 in entries:
            if step != 1:
                continue
            k, cur = 1, t0
            for nxt in range(2, n_steps + 1):
                times = [t for s, t in entries if s == nxt and cur <= t <= t0 + window]
                if not times:
                    break
                k, cur = nxt, min(times)
            best = max(best, k)
    elif mode == "strict":
        for i, (step, t0) in enumerate(entries):
            if step != 1:
                continue
            k = 1
            for j in range(i + 1, len(entries)):
                s, t = entries[j]
                if s != k + 1 or t > t0 + window:
                    break
                k = s
            best = max(best, k)
    else:
        for _, t0 in entries:
            best = max(best, len({s for s, t in entries if t0 <= t <= t0 + window}))
    return best


@pytest.mark.parametrize("funnel", list(RANDOM_FUNNELS))
def test_random_visitors_match_a_brute_force_reference(
    con: duckdb.DuckDBPyConnection, built: FunnelWarehouse, funnel: str
) -> None:
    per_visitor: dict[str, list[tuple[int, datetime]]] = defaultdict(list)
    for visitor, step, t in built.world.random_entries[funnel]:
        per_visitor[visitor].append((RANDOM_STEPS.index(step) + 1, t))
    window = timedelta(days=RANDOM_WINDOW_DAYS)
    expected = {key(v): _reference_reach(e, RANDOM_FUNNELS[funnel], window) for v, e in per_visitor.items()}
    expected = {k: r for k, r in expected.items() if r > 0}
    assert _reach(con, funnel) == expected
    # The data exercise the mode: some visitors stop early, some get through.
    assert {1, len(RANDOM_STEPS)} <= set(expected.values())


# ---------------------------------------------------------------------------------------
# Step counts against direct SQL
# ---------------------------------------------------------------------------------------
def test_step_counts_agree_with_a_direct_sql_count(con: duckdb.DuckDBPyConnection) -> None:
    for grain in ("day", "week", "month"):
        direct = df(con, f"""
            select funnel_id, funnel_step_id as step_id,
                   cast(date_trunc('{grain}', occurred_at) as date) as period_start,
                   count(*) filter (where event_type = 'step_entry') as entries,
                   count(distinct visitor_key) filter (where event_type = 'step_entry') as visitors,
                   count(*) filter (where event_type = 'step_exit' and exit_outcome in ('bounce', 'close'))
                       as dropoffs
            from staging.stg_tracking__events
            where event_type in ('step_entry', 'step_exit')
            group by all having entries > 0
            order by all""")
        mart = df(con, f"""
            select funnel_id, step_id, cast(period_start as date) as period_start, entries, visitors, dropoffs
            from marts.fct_funnel_steps where grain = '{grain}' and entries > 0 order by all""")
        # A drop-off counts in the period of its entry; the direct count uses the exit's time, so
        # the two agree where no visit crosses a period boundary: always at month grain here.
        columns = ["funnel_id", "step_id", "period_start", "entries", "visitors"]
        if grain == "month":
            columns.append("dropoffs")
        pd.testing.assert_frame_equal(mart[columns].reset_index(drop=True), direct[columns].reset_index(drop=True),
                                      check_dtype=False)


def test_distinct_visitors_are_counted_at_each_grain(con: duckdb.DuckDBPyConnection) -> None:
    steps = df(con, """select grain, sum(visitors) as visitors from marts.fct_funnel_steps
                       where funnel_id = 'f_seq' and step_id = 'a' group by grain""").set_index("grain")
    direct_month = con.execute("""select count(distinct visitor_key) from staging.stg_tracking__events
                                  where funnel_id = 'f_seq' and funnel_step_id = 'a'
                                    and event_type = 'step_entry'""").fetchone()[0]
    assert steps.loc["month", "visitors"] == direct_month
    # The 'return' visitor enters a on two days: counted on each day, once in the month.
    assert steps.loc["day", "visitors"] == direct_month + 1


def test_visitors_reached_and_conversion_rates(con: duckdb.DuckDBPyConnection) -> None:
    month = df(con, """select step_order, visitors_reached, conversion_from_start, conversion_from_previous,
                              funnel_dropoff_rate
                       from marts.fct_funnel_steps where funnel_id = 'f_any' and grain = 'month'
                       order by step_order""")
    assert month.visitors_reached.tolist() == list(EXPECTED_REACH["f_any"])
    np.testing.assert_allclose(month.conversion_from_start, [1, 5 / 7, 3 / 7])
    np.testing.assert_allclose(month.conversion_from_previous.iloc[1:], [5 / 7, 3 / 5])
    np.testing.assert_allclose(month.funnel_dropoff_rate, [0, 2 / 7, 4 / 7])


def test_entry_and_exit_paths(con: duckdb.DuckDBPyConnection) -> None:
    paths = df(con, """select step_id, direction, path_step_id, step_visits, share from marts.fct_funnel_step_paths
                       where funnel_id = 'f_strict' and grain = 'month' order by all""")
    entry_c = paths[(paths.step_id == "c") & (paths.direction == "entry")].set_index("path_step_id")
    # c is entered from b (full, return), from a (skip, back) and directly (late's second visit).
    assert entry_c.step_visits.to_dict() == {"(direct)": 1, "a": 2, "b": 2}
    assert entry_c.share.sum() == pytest.approx(1.0)
    exit_a = paths[(paths.step_id == "a") & (paths.direction == "exit")].set_index("path_step_id")
    assert exit_a.step_visits.to_dict() == {"(exit)": 2, "b": 4, "c": 2}


def test_time_in_step_and_time_to_convert(con: duckdb.DuckDBPyConnection) -> None:
    visits = df(con, f"""select time_in_step_s from intermediate.int_funnel_step_visits
                         where visitor_key = '{key("f_seq-full")}' order by step_order""")
    # Entry is 0.4 s after the page view; the exit comes at page view + dwell (30, 60, 20 s).
    np.testing.assert_allclose(visits.time_in_step_s, [29.6, 59.6, 19.6])
    ttc = df(con, """select from_step_id, to_step_id, visitors, median_seconds, max_seconds, over_7_days
                     from marts.fct_funnel_time_to_convert
                     where funnel_id = 'f_strict' and grain = 'month' order by to_step_order""")
    # a -> b: full, late, back, return; each after 30/30/30/30 s in a plus 1 s between visits.
    assert ttc.iloc[0].to_dict() | {"median_seconds": round(ttc.iloc[0].median_seconds, 3)} == {
        "from_step_id": "a", "to_step_id": "b", "visitors": 4, "median_seconds": 31.0,
        "max_seconds": pytest.approx(31.0), "over_7_days": 0}


# ---------------------------------------------------------------------------------------
# Sessions, visitors, overview
# ---------------------------------------------------------------------------------------
def test_sessions_have_source_and_device_and_no_ip(con: duckdb.DuckDBPyConnection) -> None:
    s = df(con, f"""select * from intermediate.int_tracking_sessions
                    where visitor_key in ('{key("f_seq-skip")}', '{key("f_seq-only_b")}')
                    order by first_seen_at""")
    assert s.traffic_source.tolist() == ["google", "(direct)"]
    assert s.traffic_medium.tolist() == [None, "(none)"] or s.traffic_medium.tolist()[1] == "(none)"
    assert s.device_type.tolist() == ["mobile", "desktop"]
    assert s.browser.tolist() == ["Mobile Safari", "Chrome"]
    # No IP address in any funnel table, hashed or clear.
    tables = con.execute("""select table_schema, table_name from information_schema.tables
                            where table_schema in ('intermediate', 'analytics', 'marts')""").fetchall()
    for schema, table in tables:
        cols = [r[0] for r in con.execute(f"describe {schema}.{table}").fetchall()]
        assert not [c for c in cols if c.startswith("ip")], (table, cols)
        text = " ".join(map(str, con.execute(f"select * from {schema}.{table} limit 500").fetchall()))
        assert "198.51.100.23" not in text


def test_overview_new_and_returning_visitors(con: duckdb.DuckDBPyConnection) -> None:
    ov = df(con, """select cast(period_start as date) as day, visitors_total, visitors_unique, visitors_new,
                           visitors_returning, conversions, conversion_value, revenue_per_conversion
                    from marts.fct_funnel_overview where funnel_id = 'f_strict' and grain = 'day'
                    order by day""")
    ov.index = pd.to_datetime(ov.day).dt.date
    day0, day1 = T0.date(), (T0 + timedelta(days=1)).date()
    # Day 0: one visit of each of the 7 visitors (all new). Day 1: 'return' comes back.
    assert ov.loc[day0, ["visitors_total", "visitors_unique", "visitors_new", "visitors_returning"]].tolist() \
        == [7, 7, 7, 0]
    assert ov.loc[day1, ["visitors_total", "visitors_unique", "visitors_new", "visitors_returning"]].tolist() \
        == [1, 1, 0, 1]
    assert ov.loc[day0, "conversions"] == 3  # full, skip, back
    assert ov.loc[day0, "conversion_value"] == pytest.approx(3 * PRICE_CENTS / 100)
    week = df(con, """select visitors_unique, visitors_new, visitors_returning from marts.fct_funnel_overview
                      where funnel_id = 'f_strict' and grain = 'week' order by period_start""")
    assert week.iloc[0].tolist() == [7, 7, 0]


def test_step_dimensions_are_top_lists_with_shares(con: duckdb.DuckDBPyConnection) -> None:
    dev = df(con, """select device_type, entries, share from marts.fct_funnel_step_devices
                     where funnel_id = 'f_any' and step_id = 'a' and grain = 'month' order by rank""")
    assert dev.device_type.tolist() == ["desktop", "mobile"]
    # a is entered by full, skip (mobile), late, back (twice), bounce (mobile) and return (twice).
    assert dev.entries.tolist() == [6, 2]
    np.testing.assert_allclose(dev.share, [6 / 8, 2 / 8])
    src = df(con, """select traffic_source, entries from marts.fct_funnel_step_sources
                     where funnel_id = 'f_any' and step_id = 'b' and grain = 'month' order by rank""")
    assert dict(zip(src.traffic_source, src.entries, strict=True)) == {"google": 4, "(direct)": 1}


# ---------------------------------------------------------------------------------------
# Conversions and revenue
# ---------------------------------------------------------------------------------------
def test_conversions_and_converting_visitors(con: duckdb.DuckDBPyConnection) -> None:
    conv = df(con, """select conversion_type, step_id, sum(conversions) as n from marts.fct_funnel_conversions
                      where funnel_id = 'f_any' and grain = 'day' group by all""")
    assert conv.to_dict("records") == [{"conversion_type": "purchase", "step_id": "c", "n": 5}]
    visitors = df(con, """select * from marts.fct_converting_visitors where funnel_id = 'f_any'
                          order by page_order""")
    assert len(visitors) == 5 and visitors.page_order.is_unique
    assert (visitors.first_conversion_at.diff().dropna() >= pd.Timedelta(0)).all()
    assert (visitors.total_value == PRICE_CENTS / 100).all()


def test_revenue_refunds_and_net(con: duckdb.DuckDBPyConnection) -> None:
    rev = df(con, """select * from marts.fct_funnel_revenue
                     where funnel_id = 'f_seq' and grain = 'month'""").iloc[0]
    direct = con.execute("""select sum(value_cents) filter (where value_cents > 0) / 100.0,
                                   -sum(value_cents) filter (where value_cents < 0) / 100.0
                            from staging.stg_tracking__events where funnel_id = 'f_seq'
                              and event_type = 'conversion'""").fetchone()
    assert rev.revenue == pytest.approx(direct[0]) and rev.refunds == pytest.approx(direct[1]) == PRICE_CENTS / 100
    assert rev.net_revenue == pytest.approx(direct[0] - direct[1])
    assert rev.refund_rate == pytest.approx(direct[1] / direct[0])
    by_source = df(con, """select dimension_value, refunds from marts.fct_funnel_revenue_breakdown
                           where funnel_id = 'f_seq' and grain = 'month' and dimension = 'source'""")
    # The refund comes from a server-side session: it keeps the source of the visitor's last visit.
    assert by_source.set_index("dimension_value").refunds.to_dict()["google"] == PRICE_CENTS / 100
    top = df(con, """select product_id, units, revenue, refunds, net_revenue from marts.fct_top_products
                     where funnel_id = 'f_seq' and grain = 'month'""").iloc[0]
    assert top.product_id == "p1" and top.refunds == PRICE_CENTS / 100


# ---------------------------------------------------------------------------------------
# Drop-offs
# ---------------------------------------------------------------------------------------
def test_dropoffs_have_severity_exit_reasons_and_suggestions(con: duckdb.DuckDBPyConnection) -> None:
    row = df(con, """select * from marts.fct_funnel_dropoffs
                     where funnel_id = 'f_seq' and step_id = 'b' and grain = 'month'""").iloc[0]
    # b: the 80 A/B visitors (50 close with the reason price_too_high) and 5 hand-written ones
    # ('late' closes, 'only_b' bounces).
    assert row.dropoffs == 52 and row.entries == 85 and (row.closes, row.bounces) == (51, 1)
    assert row.severity == "high"
    reasons = {r["reason"]: r["share"] for r in row.top_exit_reasons}
    assert reasons == {"price_too_high": pytest.approx(50 / 52)}
    assert "top_exit_reason" in list(row.rule_ids)
    text = list(row.suggestions)[list(row.rule_ids).index("top_exit_reason")]
    assert "price_too_high" in text and "96%" in text and "52 exits" in text
    types = dict(con.execute("""select column_name, data_type from information_schema.columns
                                where table_schema = 'marts' and table_name = 'fct_funnel_dropoffs'""").fetchall())
    assert types["rule_ids"] == "VARCHAR[]" and types["suggestions"] == "VARCHAR[]"


# ---------------------------------------------------------------------------------------
# A/B tests
# ---------------------------------------------------------------------------------------
def test_ab_variant_aggregates_match_the_world(con: duckdb.DuckDBPyConnection, built: FunnelWarehouse) -> None:
    stats_ = df(con, """select variant_id, visitors, conversions, revenue_sum, revenue_sumsq
                        from intermediate.int_ab_test_variant_stats order by variant_id""").set_index("variant_id")
    for variant, (n, x, s, ss) in built.world.ab_visitors.items():
        assert stats_.loc[variant].tolist() == pytest.approx([n, x, s, ss])


def test_ab_results_match_statsmodels_and_scipy(con: duckdb.DuckDBPyConnection, built: FunnelWarehouse) -> None:
    res = df(con, "select * from marts.fct_ab_test_results order by metric, variant_id")
    assert len(res) == 4  # 1 test x 2 variants x 2 metrics
    conv = res[(res.metric == "conversion_rate") & ~res.is_control].iloc[0]
    _, p = proportions_ztest([20, 10], [40, 40])
    assert conv.pvalue == pytest.approx(p, abs=1e-12)
    n_c, _, s_c, ss_c = built.world.ab_visitors["ctl"]
    n_t, _, s_t, ss_t = built.world.ab_visitors["new"]

    def sd(n: int, s: float, ss: float) -> float:
        return float(np.sqrt((ss - s * s / n) / (n - 1)))

    welch = stats.ttest_ind_from_stats(s_t / n_t, sd(n_t, s_t, ss_t), n_t, s_c / n_c, sd(n_c, s_c, ss_c), n_c,
                                       equal_var=False)
    rev = res[(res.metric == "revenue_per_visitor") & ~res.is_control].iloc[0]
    assert rev.pvalue == pytest.approx(welch.pvalue, rel=1e-9)
    # Holm over the two comparisons of the test: the smaller p is doubled.
    assert min(conv.pvalue_adjusted, rev.pvalue_adjusted) == pytest.approx(2 * min(conv.pvalue, rev.pvalue))
    assert rev.significant and rev.is_winner and rev.winner_variant_id == "new"
    assert conv.significant == (conv.pvalue_adjusted < 0.05)
    assert res.ab_test_name.eq("Test").all() and not res.srm_flagged.any()


# ---------------------------------------------------------------------------------------
# Exports read the marts
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("report", ["overview", "conversions", "dropoffs", "revenue"])
def test_export_queries_fit_the_marts(con: duckdb.DuckDBPyConnection, report: str) -> None:
    from funnellens.exports import REPORT_COLUMNS, REPORT_QUERIES

    params = {"funnel_id": "f_seq", "date_from": T0.date(), "date_to": (T0 + timedelta(days=30)).date()}
    out = con.execute(REPORT_QUERIES[report], params).df()
    assert set(REPORT_COLUMNS[report]) <= set(out.columns)
    assert len(out) > 0
    assert out.period_start.is_unique if report in ("overview", "revenue") else True  # one row per day


def test_revenue_breakdowns_add_up_to_the_totals(con: duckdb.DuckDBPyConnection) -> None:
    totals = df(con, """select funnel_id, grain, period_start, revenue, refunds from marts.fct_funnel_revenue
                        order by all""")
    for dimension in ("source", "step"):
        summed = df(con, f"""select funnel_id, grain, period_start, sum(revenue) as revenue, sum(refunds) as refunds
                             from marts.fct_funnel_revenue_breakdown where dimension = '{dimension}'
                             group by all order by all""")
        merged = totals.merge(summed, on=["funnel_id", "grain", "period_start"], how="left", suffixes=("", "_by"))
        np.testing.assert_allclose(merged.revenue, merged.revenue_by.fillna(0))
        np.testing.assert_allclose(merged.refunds, merged.refunds_by.fillna(0))


# ---------------------------------------------------------------------------------------
# Gates
# ---------------------------------------------------------------------------------------
def test_gx_suites_pass_on_every_funnel_mart(con: duckdb.DuckDBPyConnection) -> None:
    from validation.gx_funnel import FUNNEL_MART_SUITES
    from validation.gx_suites import run_gx_suite

    failed = {}
    for model in FUNNEL_MART_SUITES:
        result = run_gx_suite(con, f"marts.{model}")
        if not result.success:
            failed[model] = result.failed_expectations
    assert failed == {}
    assert len(FUNNEL_MART_SUITES) >= 15


def test_pandera_gates_pass_and_catch_a_broken_frame(con: duckdb.DuckDBPyConnection) -> None:
    import pandera.errors

    from validation.funnel_schemas import AB_TEST_RESULTS_SCHEMA, FUNNEL_DROPOFFS_SCHEMA, USER_AGENTS_SCHEMA

    for table, schema in (("user_agents", USER_AGENTS_SCHEMA), ("funnel_dropoffs", FUNNEL_DROPOFFS_SCHEMA),
                          ("ab_test_results", AB_TEST_RESULTS_SCHEMA)):
        schema.validate(df(con, f"select * from analytics.{table}"), lazy=True)
    results = df(con, "select * from analytics.ab_test_results")
    results.loc[results.is_control, "is_winner"] = True  # two winners for the same metric
    results["srm_flagged"] = True
    with pytest.raises(pandera.errors.SchemaErrors, match="sample ratio mismatch"):
        AB_TEST_RESULTS_SCHEMA.validate(results, lazy=True)


def test_every_funnel_model_and_column_is_documented(con: duckdb.DuckDBPyConnection) -> None:
    import yaml

    root = __import__("pathlib").Path(__file__).resolve().parents[1] / "dbt_project" / "models"
    for layer, schema in (("intermediate", "intermediate"), ("marts", "marts")):
        folder = root / layer / "funnel"
        documented = {}
        for yml in folder.glob("_*.yml"):
            for model in (yaml.safe_load(yml.read_text()) or {}).get("models", []):
                documented[model["name"]] = [c["name"] for c in model.get("columns", [])]
        models = {p.stem for p in folder.glob("*.sql")}
        assert set(documented) == models, layer
        for model, columns in documented.items():
            actual = [r[0] for r in con.execute(f"describe {schema}.{model}").fetchall()]
            assert sorted(actual) == sorted(columns), model


# ---------------------------------------------------------------------------------------
# Journeys and recent activity
# ---------------------------------------------------------------------------------------
def test_visitor_journey_lists_visits_and_events_in_order(con: duckdb.DuckDBPyConnection) -> None:
    row = df(con, f"select * from marts.fct_visitor_journeys where visitor_key = '{key('f_seq-return')}'").iloc[0]
    assert row.sessions == 2 and row.page_views == 4 and row.conversions == 1
    visits = list(row.visits)
    assert [v["started_at"] for v in visits] == sorted(v["started_at"] for v in visits)
    second = [e["event_type"] for e in visits[1]["events"]]
    assert second[:3] == ["page_view", "step_entry", "step_exit"] and second.count("conversion") == 1
    assert [e["step_id"] for e in visits[1]["events"] if e["event_type"] == "step_entry"] == ["a", "b", "c"]
    # a bounce after 4 s, then 30 + 1 + 50 + 1 + 20 s: time spent is first to last event per visit.
    assert row.time_spent_s == pytest.approx(4 + 30 + 1 + 50 + 1 + 20)


def test_recent_activity_is_relative_to_the_newest_event(con: duckdb.DuckDBPyConnection) -> None:
    as_of = con.execute("select max(occurred_at) from staging.stg_tracking__events").fetchone()[0]
    recent = df(con, "select * from marts.fct_recent_activity")
    assert (recent.as_of == pd.Timestamp(as_of)).all()
    direct = dict(con.execute("""
        select funnel_id || ':' || funnel_step_id, count(distinct visitor_key)
        from staging.stg_tracking__events
        where event_type = 'step_entry' and occurred_at > ? - interval 30 minutes group by 1""",
                              [as_of]).fetchall())
    got = {f"{r.funnel_id}:{r.step_id}": r.active_visitors_30m for r in recent.itertuples() if r.active_visitors_30m}
    assert got == direct and sum(direct.values()) > 0
    events = df(con, "select * from marts.fct_recent_events order by recency_rank")
    assert len(events) == 50 and events.occurred_at.iloc[0] == pd.Timestamp(as_of)
    assert events.occurred_at.is_monotonic_decreasing
