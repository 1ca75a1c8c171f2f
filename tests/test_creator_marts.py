"""Creator analytics and marts on the synthetic world: scoring, recommendations, pilot validation
(the bad 'lifetime views' method must fail), and the dbt marts over the analytics tables."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from test_creator_world import BETA, CreatorWarehouse, build_creator_warehouse
from test_dbt_staging import run_dbt

from funnellens.pilot import PilotThresholds, calibration_backtest, lag_sensitivity, placebo_test, run_pilot
from funnellens.stats import weighted_poisson_test
from orchestration.defs.creator import (
    LAG_CREDITS_SQL,
    LINK_FANS_SQL,
    _write,
    placebo_rows,
    score_content_type_windows,
)
from validation.creator_schemas import CONTENT_TYPE_CONFIDENCE_SCHEMA, PILOT_VALIDATION_SCHEMA


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, dict[str, pd.DataFrame]]]:
    """A copy of the built world with the analytics tables written and the creator marts built."""
    built: CreatorWarehouse = build_creator_warehouse(tmp_path_factory)
    work = tmp_path_factory.mktemp("creator_marts")
    path = work / "warehouse.duckdb"
    shutil.copy(built.path, path)
    from funnellens.recommendations import recommend

    with duckdb.connect(str(path)) as con:
        windows = con.execute("select * from intermediate.int_content_type_windows").df()
        scored = score_content_type_windows(windows)
        CONTENT_TYPE_CONFIDENCE_SCHEMA.validate(scored, lazy=True)
        _write(con, "content_type_confidence", scored)
        recs = recommend(scored)
        _write(con, "recommendations", recs)
        link_fans = con.execute(LINK_FANS_SQL, [48]).df()
        lag_credits = con.execute(LAG_CREDITS_SQL).df()
        pilot = run_pilot(link_fans, scored.iloc[0:0], lag_credits)
        PILOT_VALIDATION_SCHEMA.validate(pilot, lazy=True)
        _write(con, "pilot_validation", pilot)
        lifetime = con.execute("select post_id, creator_id, content_type from intermediate.int_post_content_types").df()
    build = run_dbt(["build", "--select", "path:dbt_project/models/marts/creator"], warehouse=path, work_dir=work)
    assert build.exception is None, build.exception
    assert build.success, {k: (v, build.messages[k]) for k, v in build.statuses.items() if v not in ("success", "pass")}
    yield path, work, {"scored": scored, "recs": recs, "link_fans": link_fans, "lag_credits": lag_credits,
                       "pilot": pilot, "posts": lifetime}


def test_pvalues_match_the_fay_feuer_test_row_by_row(analysed) -> None:
    scored = analysed[2]["scored"]
    tested = scored[scored.expected_subscribers > 0].head(12)
    for _, row in tested.iterrows():
        ref = weighted_poisson_test(row.credited_subscribers, row.credit_sumsq, row.expected_subscribers)
        assert row.pvalue == pytest.approx(ref.pvalue, rel=1e-10, abs=1e-300)
        assert row.lift_pct == pytest.approx((row.credited_subscribers / row.expected_subscribers - 1) * 100)
    assert scored.loc[scored.expected_subscribers.isna(), "pvalue"].isna().all()


def test_planted_best_type_ranks_first_and_the_promo_week_is_not_confident(analysed) -> None:
    scored = analysed[2]["scored"]
    tested = scored[scored.expected_subscribers > 0]
    totals = tested.groupby(["creator_id", "content_type"])[["credited_subscribers", "expected_subscribers"]].sum()
    lift = (totals.credited_subscribers / totals.expected_subscribers).unstack()
    for creator, betas in BETA.items():
        assert lift.loc[creator].idxmax() == max(betas, key=betas.get)
    promo = scored[scored.confounder_count > 0]
    assert len(promo) and (promo.tier != "confident").all()
    assert promo.confidence_reasons.str.contains("promo").all()
    assert (scored.tier == "confident").any()


def test_recommendations_follow_the_performance(analysed) -> None:
    recs = analysed[2]["recs"]
    assert set(recs.action) <= {"increase", "maintain", "decrease", "test"}
    assert (recs.loc[recs.is_confounded, "action"] == "test").all()
    assert (recs.action == "increase").any()


def test_pilot_on_the_planted_world(analysed) -> None:
    pilot = analysed[2]["pilot"].set_index(["test", "scope", "metric"])
    # The weighted window credits views, so with overlapping posts its dominant type is the
    # type with most views in the lag; brute force over int_fan_lag_views gives the same value.
    link_fans = analysed[2]["link_fans"]
    accuracy = (link_fans.predicted_type == link_fans.true_type).mean()
    assert pilot.loc[("calibration", "overall", "accuracy"), "value"] == pytest.approx(accuracy)
    assert pilot.loc[("calibration", "overall", "link_subscribers"), "passed"]
    # c1's planted storytime effect is strong: its ranking is stable over the lags.
    c1 = pilot.loc[("lag_sensitivity", "creator:c1", "mean_kendall_tau")]
    assert c1["value"] >= 0.6 and c1["detail"] == "top type by lag: storytime"
    assert pilot.loc[("lag_sensitivity", "overall", "mean_kendall_tau"), "n"] == 2
    assert pd.isna(pilot.loc[("placebo", "overall", "false_positive_rate"), "passed"])  # no quiet windows known


def test_a_lifetime_views_method_fails_the_calibration(analysed) -> None:
    """Crediting every fan to the type with the most lifetime views (thirst traps) must fail."""
    data = analysed[2]
    path = analysed[0]
    with duckdb.connect(str(path), read_only=True) as con:
        lifetime = con.execute(
            "select posts.creator_id, posts.content_type, sum(deltas.views_delta) as views "
            "from intermediate.int_post_view_deltas as deltas "
            "join intermediate.int_post_content_types as posts using (platform, post_id) group by all").df()
    top = lifetime.sort_values("views").groupby("creator_id").content_type.last()
    bad = data["link_fans"].assign(predicted_type=lambda d: d.creator_id.map(top))
    result = calibration_backtest(bad).set_index(["scope", "metric"])
    assert not result.loc[("overall", "accuracy"), "passed"]
    # The bad method's lag "ranking" by lifetime views does not depend on the lag: ranking by
    # credited/views where credit follows lifetime views gives every type the same rate.
    good = calibration_backtest(data["link_fans"]).set_index(["scope", "metric"])
    assert good.loc[("overall", "accuracy"), "value"] > result.loc[("overall", "accuracy"), "value"]


def test_placebo_and_lag_sensitivity_units() -> None:
    rows = pd.DataFrame({"lift_pct": [80.0, 10.0, 60.0, -20.0], "confidence_score": [0.6, 0.9, 0.4, 0.8],
                         "tier": ["hypothesis", "confident", "hypothesis", "hypothesis"]})
    out = placebo_test(rows).set_index("metric")
    assert out.loc["false_positive_rate", "value"] == 0.25 and not out.loc["false_positive_rate", "passed"]
    assert out.loc["confident_false_positives", "passed"]
    assert placebo_test(rows, PilotThresholds(placebo_max_rate=0.3)).set_index("metric").loc[
        "false_positive_rate", "passed"]
    lags = pd.DataFrame({
        "creator_id": ["c"] * 6, "lag_hours": [24, 24, 24, 48, 48, 48],
        "content_type": ["a", "b", "c"] * 2, "credited": [3, 2, 1, 1, 2, 3], "views": [1, 1, 1, 1, 1, 1]})
    res = lag_sensitivity(lags).set_index(["scope", "metric"])
    assert res.loc[("overall", "mean_kendall_tau"), "value"] == pytest.approx(-1.0)
    assert not res.loc[("overall", "same_top_share"), "passed"]


def test_placebo_rows_pick_quiet_unconfounded_windows() -> None:
    perf = pd.DataFrame({"creator_id": ["c1", "c1", "c2"],
                         "window_start": pd.to_datetime(["2026-03-02", "2026-03-09", "2026-03-02"]),
                         "window_end": pd.to_datetime(["2026-03-09", "2026-03-16", "2026-03-09"]),
                         "confounder_count": [0, 0, 1]})
    quiet = pd.DataFrame({"creator_id": ["c1", "c2"], "window_start": pd.to_datetime(["2026-03-01 23:00"] * 2),
                          "window_end": pd.to_datetime(["2026-03-09 01:00"] * 2)})
    assert list(placebo_rows(perf, quiet).index) == [0]


def test_marts_hold_the_analytics_rows(analysed) -> None:
    path, _, data = analysed
    with duckdb.connect(str(path), read_only=True) as con:
        perf = con.execute("select count(*) from marts.fct_content_type_performance").fetchone()[0]
        fans = con.execute("select method, count(*) from marts.fct_fan_attribution group by 1").fetchall()
        subs = con.execute("select count(*) from staging.stg_fan_platform__subscribers").fetchone()[0]
        pilot = con.execute("select count(*) from marts.fct_pilot_validation").fetchone()[0]
        recs = con.execute("select count(*) from marts.fct_recommendations").fetchone()[0]
        no_data = con.execute("select count(*), count(dominant_content_type), min(dominant_confidence) "
                              "from marts.fct_fan_attribution where method = 'no_data'").fetchone()
        credits = con.execute("select content_type_credits from marts.fct_fan_attribution "
                              "where method = 'weighted_window' limit 1").fetchone()[0]
    assert perf == len(data["scored"]) and pilot == len(data["pilot"]) and recs == len(data["recs"])
    assert sum(n for _, n in fans) == subs
    assert {m for m, _ in fans} == {"referral_link", "weighted_window", "no_data"}
    assert no_data[0] >= 1 and no_data[1] == 0 and no_data[2] == "none"  # said as such, counted
    with duckdb.connect(str(path), read_only=True) as con:
        windows = con.execute("select * from marts.fct_creator_windows").df()
    counted = windows.link_subscribers + windows.weighted_subscribers + windows.no_data_subscribers
    assert (counted == windows.subscribers).all()
    assert set(windows.loc[windows.confounder_count > 0, "creator_id"]) == {"c1"}
    assert sum(pd.read_json(pd.io.common.StringIO(f"[{credits}]")).iloc[0]) == pytest.approx(1.0)


def test_gx_suites_list_the_documented_mart_columns_and_pass(analysed) -> None:
    import yaml

    from validation.gx_creator import CREATOR_MART_SPECS
    from validation.gx_suites import run_gx_suite

    yml = Path(__file__).resolve().parents[1] / "dbt_project" / "models" / "marts" / "creator" / "_creator__marts.yml"
    documented = {m["name"]: [c["name"] for c in m["columns"]] for m in yaml.safe_load(yml.read_text())["models"]}
    assert {s.model: list(s.columns) for s in CREATOR_MART_SPECS} == documented
    with duckdb.connect(str(analysed[0]), read_only=True) as con:
        for spec in CREATOR_MART_SPECS:
            actual = [r[0] for r in con.execute(f"describe marts.{spec.model}").fetchall()]
            assert actual == list(spec.columns), spec.model
            result = run_gx_suite(con, f"marts.{spec.model}")
            assert result.success, (spec.model, result.failed_expectations)


def test_read_placebo_windows_from_the_demo_truth_and_csv(tmp_path: Path) -> None:
    import json

    from orchestration.defs.creator import read_placebo_windows

    truth = tmp_path / "planted_truth.json"
    truth.write_text(json.dumps({"creators": {"quiet_windows": [
        {"creator_id": "c1", "starts_at": "2026-03-01T23:00:00Z", "ends_at": "2026-03-08T23:00:00Z"}]}}))
    quiet = read_placebo_windows(truth)
    assert quiet.to_dict("records") == [{"creator_id": "c1", "window_start": pd.Timestamp("2026-03-01 23:00"),
                                         "window_end": pd.Timestamp("2026-03-08 23:00")}]
    csv = tmp_path / "quiet.csv"
    csv.write_text("creator_id,window_start\nc1,2026-03-01\n")
    with pytest.raises(ValueError, match="window_end"):
        read_placebo_windows(csv)
    assert read_placebo_windows(tmp_path / "missing.json").empty
