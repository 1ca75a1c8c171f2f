"""Recommendation rules on hand-built performance frames (no database, no Dagster)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from funnellens.recommendations import (
    PERFORMANCE_COLUMNS,
    PLAN_COLUMNS,
    RECOMMENDATION_COLUMNS,
    RecommendationThresholds,
    creator_summary,
    plan_for,
    rank_content_types,
    recommend,
    split_confounders,
    weekly_plan,
)

START = pd.Timestamp("2026-03-02 00:00")
END = START + pd.Timedelta(days=7)


def row(ct: str, tier: str, lift: float, *, n: int = 30, posts: int = 3, confounders: object = "",
        score: float = 0.85, level: str = "high", creator: str = "c1", start: pd.Timestamp = START,
        end: pd.Timestamp = END, pvalue: float = 0.01) -> dict:
    expected = n / (1 + lift / 100) if not np.isnan(lift) else 0.0
    return {
        "creator_id": creator, "agency_id": "a1", "window_start": start, "window_end": end,
        "content_type": ct, "view_delta": 1000.0, "view_share": 0.2, "credited_subscribers": n * 0.9,
        "dominant_fans": n, "subscribers_total": 150, "expected_subscribers": expected, "lift_pct": lift,
        "pvalue": pvalue, "confidence_score": score, "confidence_level": level, "tier": tier,
        "confounders": confounders, "posts_in_window": posts,
    }


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def by_type(rec: pd.DataFrame) -> dict[str, pd.Series]:
    return {r["content_type"]: r for _, r in rec.iterrows()}


# ---------------------------------------------------------------------------------------
# Actions
# ---------------------------------------------------------------------------------------
def test_confident_increase_decrease_maintain():
    rec = recommend(frame(
        row("storytime", "confident", 40.0, n=42),
        row("grwm", "confident", -30.0, n=35),
        row("thirst_trap", "confident", 5.0, n=160),
    ))
    assert list(rec.columns) == list(RECOMMENDATION_COLUMNS)
    r = by_type(rec)
    assert (r["storytime"]["action"], r["storytime"]["reason_code"]) == ("increase", "lift_above_increase")
    assert (r["grwm"]["action"], r["grwm"]["reason_code"]) == ("decrease", "lift_below_decrease")
    assert (r["thirst_trap"]["action"], r["thirst_trap"]["reason_code"]) == ("maintain", "lift_within_band")
    # +1 / -1 with the budget of 9 posts per week kept
    assert r["storytime"]["suggested_posts_per_week"] == 4
    assert r["grwm"]["suggested_posts_per_week"] == 2
    assert r["thirst_trap"]["suggested_posts_per_week"] == 3
    assert rec["suggested_posts_per_week"].sum() == 9 == rec["posting_budget_per_week"].iloc[0]
    assert r["storytime"]["n"] == 42
    assert r["storytime"]["advice"].startswith("Increase storytime from 3 to 4 posts/week.")


def test_thresholds_are_inclusive_and_configurable():
    perf = frame(row("a", "confident", 20.0), row("b", "confident", -20.0), row("c", "confident", 19.99))
    r = by_type(recommend(perf))
    assert (r["a"]["action"], r["b"]["action"], r["c"]["action"]) == ("increase", "decrease", "maintain")
    strict = RecommendationThresholds(increase_lift_pct=50.0, decrease_lift_pct=-50.0)
    r = by_type(recommend(perf, thresholds=strict))
    assert {v["action"] for v in r.values()} == {"maintain"}
    assert "-50% to +50% band" in r["a"]["rationale"]


def test_hypothesis_and_insufficient_data_become_test_with_reasons():
    rec = recommend(frame(
        row("storytime", "hypothesis", 60.0, n=14, level="low", score=0.4),
        row("grwm", "hypothesis", 30.0, n=40, level="medium", score=0.6),
        row("money_talk", "insufficient_data", 150.0, n=5, level="low", score=0.1),
    ))
    r = by_type(rec)
    assert set(rec["action"]) == {"test"}
    assert r["storytime"]["reason_code"] == "hypothesis"
    assert "n=14 is below the 25 subscribers" in r["storytime"]["rationale"]
    assert "does not meet the confident tier" in r["grwm"]["rationale"]
    assert r["money_talk"]["reason_code"] == "insufficient_data"
    assert r["money_talk"]["rationale"].startswith("Not enough data on money_talk")
    assert "n=5" in r["money_talk"]["rationale"]
    # tests keep their volume
    assert (rec["suggested_posts_per_week"] == 3).all()


def test_rationale_states_window_n_confidence_and_confounders():
    rec = recommend(frame(row("storytime", "confident", 40.0, n=42, level="high", score=0.91, pvalue=0.0004)))
    text = rec["rationale"].iloc[0]
    assert "2026-03-02 00:00 to 2026-03-09 00:00 UTC (168 h)" in text
    assert "n=42" in text and "42 of the creator's 150 new subscribers" in text
    assert "confidence high (score 0.91, tier confident, n=42)" in text
    assert "lift +40%" in text and "p<0.001" in text
    assert text.endswith("Confounders: none.")


def test_rationale_uses_the_agency_time_zone_when_given():
    perf = frame(row("storytime", "confident", 40.0)).assign(
        window_start=pd.Timestamp("2026-03-01 23:00"), window_end=pd.Timestamp("2026-03-08 23:00"),
        agency_timezone="Europe/Berlin")
    text = recommend(perf)["rationale"].iloc[0]
    assert "2026-03-02 00:00 to 2026-03-09 00:00 Europe/Berlin (168 h)" in text


def test_confounder_turns_every_touched_row_into_test_and_is_named():
    promo = "promo: spring sale 30% off"
    rec = recommend(frame(
        row("storytime", "confident", 80.0, n=60, confounders=promo),  # a confident tier is overridden
        row("grwm", "hypothesis", 10.0, n=20, confounders=[promo, "collab: @other"]),
        row("thirst_trap", "confident", 40.0, n=50, creator="c2"),
    ))
    r = {(x["creator_id"], x["content_type"]): x for _, x in rec.iterrows()}
    story, grwm = r[("c1", "storytime")], r[("c1", "grwm")]
    assert (story["action"], story["reason_code"], story["is_confounded"]) == ("test", "confounded", True)
    assert promo in story["rationale"] and story["confounders"] == promo
    assert grwm["action"] == "test" and grwm["confounders"] == f"{promo}; collab: @other"
    assert "collab: @other" in grwm["rationale"]
    assert story["suggested_posts_per_week"] == story["current_posts_per_week"] == 3
    # the other creator is not touched
    assert r[("c2", "thirst_trap")]["action"] == "increase"
    assert r[("c2", "thirst_trap")]["confounders"] == ""


def test_confounder_values_are_normalised():
    assert split_confounders("promo: a;  collab: b ; promo: a") == ["promo: a", "collab: b"]
    assert split_confounders(["promo: a", None, float("nan")]) == ["promo: a"]
    assert split_confounders(None) == [] and split_confounders(float("nan")) == [] and split_confounders("") == []
    with pytest.raises(ValueError, match="confounders must be"):
        split_confounders(42)


def test_confident_below_min_score_and_missing_lift_are_tests():
    rec = recommend(
        frame(row("a", "confident", 40.0, score=0.72), row("b", "confident", float("nan"))),
        thresholds=RecommendationThresholds(min_confidence_score=0.8),
    )
    r = by_type(rec)
    assert (r["a"]["action"], r["a"]["reason_code"]) == ("test", "score_below_minimum")
    assert "below the configured minimum 0.80" in r["a"]["rationale"]
    assert (r["b"]["action"], r["b"]["reason_code"]) == ("test", "lift_unavailable")
    assert "lift n/a" in r["b"]["rationale"]


# ---------------------------------------------------------------------------------------
# Suggested posts
# ---------------------------------------------------------------------------------------
def test_current_posts_are_per_week_for_any_window_length():
    half = frame(row("a", "confident", 5.0, posts=3, end=START + pd.Timedelta(hours=84)))
    rec = recommend(half)
    assert rec["window_hours"].iloc[0] == 84
    assert rec["current_posts_per_week"].iloc[0] == 6.0
    assert rec["suggested_posts_per_week"].iloc[0] == 6


def test_increase_is_funded_by_the_lowest_lift_maintain_type():
    rec = by_type(recommend(frame(
        row("up", "confident", 50.0, posts=2),
        row("low", "confident", -5.0, posts=3),
        row("high", "confident", 15.0, posts=3),
        row("hyp", "hypothesis", 70.0, posts=2, n=12, level="low", score=0.3),
    )))
    assert rec["up"]["suggested_posts_per_week"] == 3
    assert rec["low"]["suggested_posts_per_week"] == 2  # lowest lift donates
    assert rec["high"]["suggested_posts_per_week"] == 3
    assert rec["hyp"]["suggested_posts_per_week"] == 2  # a test never donates
    assert "move 1 of its posts" in rec["low"]["advice"]


def test_increase_without_budget_to_move_stays_and_says_so():
    rec = by_type(recommend(frame(
        row("up", "confident", 50.0, posts=2),
        row("hyp", "hypothesis", 10.0, posts=3, n=12, level="low", score=0.3),
    )))
    assert rec["up"]["suggested_posts_per_week"] == 2
    assert rec["up"]["posts_change"] == 0
    assert "left no post to move to it" in rec["up"]["advice"]


def test_posts_freed_beyond_the_increases_go_to_the_best_types():
    rec = by_type(recommend(frame(
        row("up", "confident", 50.0, posts=1),
        row("down1", "confident", -40.0, posts=2),
        row("down2", "confident", -30.0, posts=2),
    )))
    assert rec["down1"]["suggested_posts_per_week"] == 1
    assert rec["down2"]["suggested_posts_per_week"] == 1
    assert rec["up"]["suggested_posts_per_week"] == 3  # +1 asked, +1 left over
    # a lone decrease with nowhere to move the post: the total may shrink, never below zero
    lone = recommend(frame(row("down", "confident", -50.0, posts=0)))
    assert lone["suggested_posts_per_week"].iloc[0] == 0
    assert "already at 0 posts/week" in lone["advice"].iloc[0]


def test_max_posts_per_type_caps_increases():
    rec = by_type(recommend(
        frame(row("up", "confident", 50.0, posts=4), row("down", "confident", -50.0, posts=3)),
        thresholds=RecommendationThresholds(max_posts_per_type=4, post_step=2),
    ))
    assert rec["up"]["suggested_posts_per_week"] == 4
    assert rec["down"]["suggested_posts_per_week"] == 1
    # the two freed posts have nowhere to go under the cap, so the total shrinks
    assert rec["up"]["posting_budget_per_week"] == 7


def test_suggestions_never_negative_and_keep_the_budget_on_random_frames():
    rng = np.random.default_rng(7)
    tiers = np.array(["confident", "hypothesis", "insufficient_data"])
    rows = []
    for c in range(300):
        for t in range(int(rng.integers(1, 7))):
            rows.append(row(
                f"t{t}", str(rng.choice(tiers, p=[0.6, 0.25, 0.15])), float(rng.normal(0, 40)),
                posts=int(rng.integers(0, 6)), creator=f"c{c}",
                confounders="promo: x" if rng.random() < 0.1 else "",
                end=START + pd.Timedelta(hours=int(rng.choice([72, 168, 240]))),
            ))
    rec = recommend(pd.DataFrame(rows))
    assert (rec["suggested_posts_per_week"] >= 0).all()
    base = rec["suggested_posts_per_week"] - rec["posts_change"]
    assert (base >= 0).all()
    # the integer base is within one post of the exact current value
    assert ((base - rec["current_posts_per_week"]).abs() < 1).all()
    per = rec.assign(base=base).groupby("creator_id").agg(
        suggested=("suggested_posts_per_week", "sum"), base=("base", "sum"),
        budget=("posting_budget_per_week", "first"), current=("current_posts_per_week", "sum"),
        recipients=("action", lambda a: int(a.isin(["increase", "maintain"]).sum())),
        tests=("reason_code", lambda c: int(c.isin(["hypothesis", "insufficient_data", "lift_unavailable",
                                                     "score_below_minimum"]).sum())),
    )
    assert (per["base"] == per["budget"]).all()
    assert ((per["budget"] - per["current"]).abs() <= 0.5 + 1e-9).all()
    # the budget is kept whenever a post can go somewhere (never exceeded in any case)
    assert (per["suggested"] <= per["budget"]).all()
    can_receive = (per["recipients"] + per["tests"]) > 0
    assert (per.loc[can_receive, "suggested"] == per.loc[can_receive, "budget"]).all()
    # confounded rows and decreases never grow; increases never shrink
    assert (rec.loc[rec["is_confounded"], "posts_change"] == 0).all()
    assert (rec.loc[rec["action"] == "decrease", "posts_change"] <= 0).all()
    assert (rec.loc[rec["action"] == "increase", "posts_change"] >= 0).all()


# ---------------------------------------------------------------------------------------
# Plan, ranking, summary
# ---------------------------------------------------------------------------------------
def test_weekly_plan_ready_for_a_clean_week_with_a_confident_result():
    rec = recommend(frame(row("a", "confident", 40.0), row("b", "hypothesis", 10.0, n=12),
                          row("c", "confident", 2.0)))
    plan = weekly_plan(rec)
    assert list(plan.columns) == list(PLAN_COLUMNS)
    assert set(plan["plan_status"]) == {"ready"} and plan["withheld_reason"].isna().all()
    rows, reason = plan_for(plan, "c1")
    assert reason is None
    assert dict(zip(rows["content_type"], rows["suggested_posts_per_week"], strict=True)) == {"a": 4, "b": 3, "c": 2}


def test_weekly_plan_withheld_when_confounded():
    promo = "promo: launch week"
    rec = recommend(frame(row("a", "confident", 40.0), row("b", "confident", 10.0, confounders=promo)))
    rows, reason = plan_for(weekly_plan(rec), "c1")
    assert rows.empty
    assert reason.startswith("Plan withheld.") and promo in reason


def test_weekly_plan_withheld_without_a_confident_result():
    rec = recommend(frame(row("a", "hypothesis", 40.0, n=20), row("b", "insufficient_data", 10.0, n=3)))
    plan = weekly_plan(rec)
    assert len(plan) == 1 and plan["plan_status"].iloc[0] == "withheld"
    assert pd.isna(plan["content_type"].iloc[0])
    rows, reason = plan_for(plan, "c1")
    assert rows.empty
    assert "No content type has a confident result" in reason
    assert "1 hypothesis, 1 with insufficient data" in reason and "n=150" in reason


def test_plan_for_picks_the_latest_window_or_the_one_asked():
    later = START + pd.Timedelta(days=7)
    rec = recommend(frame(
        row("a", "confident", 40.0),
        row("a", "hypothesis", 40.0, n=12, start=later, end=later + pd.Timedelta(days=7)),
    ))
    plan = weekly_plan(rec)
    assert plan_for(plan, "c1")[1] is not None  # latest week: withheld
    assert plan_for(plan, "c1", START)[1] is None
    with pytest.raises(ValueError, match="no rows for creator 'nobody'"):
        plan_for(plan, "nobody")


def test_rank_content_types_by_lift_with_n_and_tier():
    perf = frame(
        row("a", "hypothesis", 60.0, n=12), row("b", "confident", 25.0, n=80),
        row("c", "confident", 25.0, n=30), row("d", "confident", float("nan"), n=0),
        row("e", "insufficient_data", 90.0, n=3, creator="c2"),
    )
    ranks = rank_content_types(perf)
    c1 = ranks.loc[ranks["creator_id"] == "c1"]
    assert list(c1["content_type"]) == ["a", "b", "c", "d"]  # ties by larger n, NaN last
    assert list(c1["rank"]) == [1, 2, 3, 4]
    assert list(c1["n"]) == [12, 80, 30, 0] and list(c1["tier"])[0] == "hypothesis"
    assert ranks.loc[ranks["creator_id"] == "c2", "rank"].tolist() == [1]


def test_creator_summary_one_line_per_creator():
    rec = recommend(frame(
        row("a", "confident", 40.0, n=42), row("b", "confident", -30.0, n=30), row("h", "hypothesis", 5.0, n=11),
        row("a", "confident", 40.0, creator="c2", confounders="collab: @x"),
    ))
    summary = creator_summary(rec).set_index("creator_id")
    s1 = summary.loc["c1"]
    assert s1["summary"] == (
        "2026-03-02 00:00 to 2026-03-09 00:00 UTC (168 h): 150 new subscribers. Increase a (+40%, n=42, "
        "confidence high). Decrease b (-30%, n=30, confidence high). 1 type to test. Plan ready."
    )
    assert (s1["top_content_type"], s1["top_n"], s1["n_confident"]) == ("a", 42, 2)
    s2 = summary.loc["c2"]
    assert "Confounded by collab: @x." in s2["summary"] and s2["plan_status"] == "withheld"
    assert pd.isna(s2["top_content_type"]) and pd.isna(s2["top_n"])


def test_creator_summary_latest_only():
    later = START + pd.Timedelta(days=7)
    rec = recommend(frame(row("a", "confident", 40.0),
                          row("a", "confident", 5.0, start=later, end=later + pd.Timedelta(days=7))))
    assert len(creator_summary(rec)) == 2
    latest = creator_summary(rec, latest_only=True)
    assert len(latest) == 1 and latest["window_start"].iloc[0] == later


# ---------------------------------------------------------------------------------------
# Input checks and configuration
# ---------------------------------------------------------------------------------------
def test_timezone_aware_windows_come_back_as_naive_utc():
    perf = frame(row("a", "confident", 40.0)).assign(
        window_start=pd.Timestamp("2026-03-02 00:00", tz="Europe/Berlin"),
        window_end=pd.Timestamp("2026-03-09 00:00", tz="Europe/Berlin"))
    rec = recommend(perf)
    assert rec["window_start"].iloc[0] == pd.Timestamp("2026-03-01 23:00")
    assert rec["window_start"].dt.tz is None


def test_bad_input_is_reported_clearly():
    good = frame(row("a", "confident", 40.0))
    with pytest.raises(ValueError, match="missing column\\(s\\) tier, confounders"):
        recommend(good.drop(columns=["tier", "confounders"]))
    with pytest.raises(ValueError, match="column tier holds 'sure'"):
        recommend(good.assign(tier="sure"))
    with pytest.raises(ValueError, match="repeated key"):
        recommend(pd.concat([good, good]))
    with pytest.raises(ValueError, match="window_end must be after window_start"):
        recommend(good.assign(window_end=START))
    with pytest.raises(ValueError, match="posts_in_window must hold whole numbers"):
        recommend(good.assign(posts_in_window=-1))
    with pytest.raises(ValueError, match="confidence_score must hold values in \\[0, 1\\]"):
        recommend(good.assign(confidence_score=1.5))
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        recommend([1, 2])  # type: ignore[arg-type]


def test_empty_input_gives_empty_outputs_with_columns():
    empty = pd.DataFrame({c: [] for c in PERFORMANCE_COLUMNS})
    rec = recommend(empty)
    assert rec.empty and list(rec.columns) == list(RECOMMENDATION_COLUMNS)
    assert weekly_plan(rec).empty and creator_summary(rec).empty and rank_content_types(empty).empty


def test_thresholds_validation_and_environment(monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(ValueError, match="increase_lift_pct must be > 0"):
        RecommendationThresholds(increase_lift_pct=-5)
    with pytest.raises(ValueError, match="post_step"):
        RecommendationThresholds(post_step=0)
    with pytest.raises(ValueError, match="min_confidence_score"):
        RecommendationThresholds(min_confidence_score=1.2)
    assert RecommendationThresholds.from_env() == RecommendationThresholds()
    monkeypatch.setenv("FUNNELLENS_REC_INCREASE_LIFT_PCT", "35")
    monkeypatch.setenv("FUNNELLENS_REC_POST_STEP", "2")
    monkeypatch.setenv("FUNNELLENS_REC_MAX_POSTS_PER_TYPE", "none")
    t = RecommendationThresholds.from_env()
    assert (t.increase_lift_pct, t.post_step, t.max_posts_per_type) == (35.0, 2, None)
    monkeypatch.setenv("FUNNELLENS_REC_POST_STEP", "two")
    with pytest.raises(ValueError, match="FUNNELLENS_REC_POST_STEP='two' is not a whole number"):
        RecommendationThresholds.from_env()
