"""Drop-off severity and data-driven suggestions: every rule fires with its pattern and only then."""

from __future__ import annotations

import itertools
import re

import duckdb
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportions_ztest

from funnellens.funnel_rules import (
    RULE_IDS,
    DropoffThresholds,
    SuggestionRules,
    classify_severities,
    classify_severity,
    dropoff_suggestions,
    format_duration,
    format_pct,
    two_proportion_pvalue,
)

# ---------------------------------------------------------------------------------------
# Severity
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "n", "expected"),
    [
        (0.0, 100, "low"),
        (0.1999, 100, "low"),
        (0.20, 100, "medium"),
        (0.3999, 100, "medium"),
        (0.40, 100, "high"),
        (1.0, 100, "high"),
        (0.9, 29, "insufficient_data"),
        (0.9, 30, "high"),
        (0.5, 0, "insufficient_data"),
        (float("nan"), 0, "insufficient_data"),
    ],
)
def test_classify_severity_default_thresholds(rate, n, expected):
    assert classify_severity(rate, n) == expected


def test_classify_severity_custom_thresholds():
    strict = DropoffThresholds(medium_from=0.05, high_from=0.15, min_entries=500)
    assert classify_severity(0.04, 1000, strict) == "low"
    assert classify_severity(0.10, 1000, strict) == "medium"
    assert classify_severity(0.15, 1000, strict) == "high"
    assert classify_severity(0.90, 499, strict) == "insufficient_data"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"medium_from": 0.5, "high_from": 0.4}, "must not exceed high_from"),
        ({"medium_from": -0.1}, r"medium_from must be a rate in \[0, 1\]"),
        ({"high_from": 1.5}, r"high_from must be a rate in \[0, 1\]"),
        ({"min_entries": 0}, "min_entries must be an integer >= 1"),
        ({"min_entries": 2.5}, "min_entries must be an integer >= 1"),
    ],
)
def test_thresholds_are_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DropoffThresholds(**kwargs)


def test_classify_severity_rejects_impossible_rates():
    with pytest.raises(ValueError, match=r"rate must be a drop-off rate in \[0, 1\]"):
        classify_severity(1.2, 100)
    with pytest.raises(ValueError, match="rate is missing"):
        classify_severity(float("nan"), 100)


def test_vectorised_severities_match_the_scalar_rule():
    thresholds = DropoffThresholds(medium_from=0.25, high_from=0.5, min_entries=10)
    rates = np.linspace(0, 1, 41)
    entries = np.array([0, 5, 9, 10, 11, 1000])
    grid = list(itertools.product(rates, entries))
    vector = classify_severities([r for r, _ in grid], [n for _, n in grid], thresholds)
    scalar = [classify_severity(float(r), int(n), thresholds) for r, n in grid]
    assert vector.tolist() == scalar


# ---------------------------------------------------------------------------------------
# The z-test behind device_gap, against statsmodels
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2"),
    [(480, 1000, 210, 1000), (30, 120, 25, 130), (5, 40, 9, 37), (1000, 5000, 1030, 5100), (0, 50, 3, 60)],
)
def test_two_proportion_pvalue_matches_statsmodels(x1, n1, x2, n2):
    _, expected = proportions_ztest([x1, x2], [n1, n2], alternative="two-sided")
    got = two_proportion_pvalue([x1], [n1], [x2], [n2])[0]
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_two_proportion_pvalue_degenerate_cases():
    p = two_proportion_pvalue([0, 10, 5], [10, 10, 0], [0, 10, 5], [10, 10, 10])
    assert p[0] == 1.0 and p[1] == 1.0 and np.isnan(p[2])


# ---------------------------------------------------------------------------------------
# Suggestions
# ---------------------------------------------------------------------------------------


def step(**overrides) -> dict:
    """A healthy step: enough traffic, low drop-off, no pattern that any rule looks for."""
    base = {
        "funnel_id": "checkout",
        "step_id": "s1",
        "step_name": "Landing",
        "step_order": 1,
        "entries": 2000,
        "dropoffs": 200,
        "bounce_share": 0.30,
        "close_share": 0.30,
        "median_time_in_step_s": 25.0,
        "median_bounce_time_s": 40.0,
        "median_close_time_s": 20.0,
        "mobile_entries": 1000,
        "mobile_dropoff_rate": 0.10,
        "desktop_entries": 1000,
        "desktop_dropoff_rate": 0.10,
        "top_exit_reasons": None,
    }
    base.update(overrides)
    return base


def suggest(*rows: dict, **kwargs) -> pd.DataFrame:
    return dropoff_suggestions(pd.DataFrame(list(rows)), **kwargs)


def only(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    assert len(frame) == 1
    return frame["rule_ids"].iloc[0], frame["suggestions"].iloc[0]


def test_healthy_step_gets_severity_and_no_suggestion():
    out = suggest(step())
    rule_ids, texts = only(out)
    assert out["severity"].iloc[0] == "low"
    assert out["dropoff_rate"].iloc[0] == pytest.approx(0.1)
    assert rule_ids == [] and texts == []


def test_quick_bounce_fires_only_with_many_fast_bounces():
    rule_ids, texts = only(suggest(step(dropoffs=800, bounce_share=0.62, median_bounce_time_s=8.0)))
    assert rule_ids == ["quick_bounce"]
    assert texts[0].startswith("62% of the 800 exits are bounces after a median 8 s in the step")
    assert "promise of the ad" in texts[0]
    # Without the pattern: slow bounces, few bounces, or too few exits.
    for overrides in (
        {"bounce_share": 0.62, "median_bounce_time_s": 45.0},
        {"bounce_share": 0.35, "median_bounce_time_s": 5.0},
        {"dropoffs": 12, "bounce_share": 0.9, "median_bounce_time_s": 3.0},
        {"bounce_share": 0.9, "median_bounce_time_s": None},
    ):
        rule_ids, _ = only(suggest(step(**overrides)))
        assert "quick_bounce" not in rule_ids, overrides


def test_late_close_fires_only_after_time_spent():
    rule_ids, texts = only(suggest(step(dropoffs=500, close_share=0.7, median_close_time_s=130.0)))
    assert rule_ids == ["late_close"]
    assert texts[0].startswith("70% of the 500 exits close the page after a median 2 min 10 s in the step")
    rule_ids, _ = only(suggest(step(dropoffs=500, close_share=0.7, median_close_time_s=12.0)))
    assert rule_ids == []


def test_slow_step_needs_time_and_a_real_drop_off():
    rule_ids, texts = only(suggest(step(dropoffs=1140, median_time_in_step_s=240.0)))
    assert "slow_step" in rule_ids
    assert texts[rule_ids.index("slow_step")].startswith("median 4 min in the step with a 57% drop-off")
    # A slow step that keeps its visitors is fine.
    rule_ids, _ = only(suggest(step(dropoffs=100, median_time_in_step_s=240.0)))
    assert "slow_step" not in rule_ids


def test_device_gap_names_the_numbers_and_needs_a_significant_large_gap():
    rule_ids, texts = only(
        suggest(step(dropoffs=600, mobile_entries=1204, mobile_dropoff_rate=0.48,
                     desktop_entries=2310, desktop_dropoff_rate=0.21, entries=3514))
    )
    assert "device_gap" in rule_ids
    text = texts[rule_ids.index("device_gap")]
    assert text.startswith("mobile drop-off 48% (1,204 entries) vs desktop 21% (2,310 entries), p < 0.001")
    assert "mobile is 34% of entries" in text and "check the mobile layout" in text

    # Same rates, too few entries per device: no suggestion.
    rule_ids, _ = only(suggest(step(dropoffs=40, mobile_entries=60, mobile_dropoff_rate=0.48,
                                    desktop_entries=60, desktop_dropoff_rate=0.21, entries=120)))
    assert "device_gap" not in rule_ids
    # Significant but small gap (3 points on 100k entries each): no suggestion.
    rule_ids, _ = only(suggest(step(entries=200_000, dropoffs=25_000, mobile_entries=100_000,
                                    mobile_dropoff_rate=0.14, desktop_entries=100_000,
                                    desktop_dropoff_rate=0.11)))
    assert "device_gap" not in rule_ids
    # An 11-point gap that is not significant (100 entries each, p = 0.078): no suggestion.
    p = two_proportion_pvalue([32], [100], [21], [100])[0]
    assert p == pytest.approx(0.078, abs=5e-4)
    rule_ids, _ = only(suggest(step(entries=200, dropoffs=53, mobile_entries=100, mobile_dropoff_rate=0.32,
                                    desktop_entries=100, desktop_dropoff_rate=0.21)))
    assert "device_gap" not in rule_ids
    # The same 11 points on 1,000 entries each is significant: the rule fires.
    rule_ids, _ = only(suggest(step(entries=2000, dropoffs=530, mobile_entries=1000, mobile_dropoff_rate=0.32,
                                    desktop_entries=1000, desktop_dropoff_rate=0.21)))
    assert "device_gap" in rule_ids


def test_device_gap_desktop_worse():
    rule_ids, texts = only(suggest(step(entries=2000, dropoffs=500, mobile_entries=1000, mobile_dropoff_rate=0.15,
                                        desktop_entries=1000, desktop_dropoff_rate=0.35)))
    text = texts[rule_ids.index("device_gap")]
    assert text.startswith("desktop drop-off 35% (1,000 entries) vs mobile 15% (1,000 entries)")
    assert "check the desktop layout" in text


def test_top_exit_reason_ignores_exit_outcomes_and_accepts_duckdb_lists():
    reasons = duckdb.sql(
        "SELECT [{'reason': 'bounce', 'share': 0.5}, {'reason': 'price_too_high', 'share': 0.34},"
        " {'reason': 'form_error', 'share': 0.16}] AS top_exit_reasons"
    ).df()["top_exit_reasons"].iloc[0]
    rule_ids, texts = only(suggest(step(top_exit_reasons=reasons)))
    assert rule_ids == ["top_exit_reason"]
    assert texts[0] == "the exit reason 'price_too_high' accounts for 34% of the 200 exits: address it first"

    for value in ({"bounce": 0.8, "close": 0.2}, '{"price_too_high": 0.2}', [("form_error", 0.1)], "", None):
        rule_ids, _ = only(suggest(step(top_exit_reasons=value)))
        assert rule_ids == [], value
    rule_ids, _ = only(suggest(step(top_exit_reasons='[{"reason": "coupon_missing", "share": 0.6}]')))
    assert rule_ids == ["top_exit_reason"]


def test_biggest_leak_fires_for_the_single_largest_share():
    out = suggest(
        step(step_id="s1", step_name="Landing", step_order=1, entries=2000, dropoffs=300),
        step(step_id="s2", step_name="Form", step_order=2, entries=1700, dropoffs=900),
        step(step_id="s3", step_name="Pay", step_order=3, entries=800, dropoffs=100),
    )
    assert out["severity"].tolist() == ["low", "high", "low"]
    assert [ids for ids in out["rule_ids"]] == [[], ["biggest_leak"], []]
    assert out["suggestions"].iloc[1][0] == (
        "'Form' loses 69% of all visitors lost in this funnel (900 of 1,300) at a 53% drop-off: fix it first"
    )
    # Losses spread evenly: no step holds 40%.
    even = suggest(*(step(step_id=f"s{i}", step_order=i, entries=1000, dropoffs=250) for i in range(1, 5)))
    assert all(ids == [] for ids in even["rule_ids"])


def test_insufficient_data_gets_no_suggestion_even_with_every_pattern():
    rule_ids, texts = only(
        suggest(step(entries=20, dropoffs=19, bounce_share=1.0, median_bounce_time_s=2.0,
                     median_time_in_step_s=600.0))
    )
    assert rule_ids == [] and texts == []


def test_every_suggestion_names_numbers_and_rules_are_listed_in_order():
    out = suggest(
        step(step_id="a", entries=1000, dropoffs=600, bounce_share=0.62, median_bounce_time_s=8.0,
             median_time_in_step_s=300.0, mobile_entries=600, mobile_dropoff_rate=0.7,
             desktop_entries=400, desktop_dropoff_rate=0.45,
             top_exit_reasons=[{"reason": "price", "share": 0.31}]),
        step(step_id="b", step_order=2, entries=400, dropoffs=40),
    )
    rule_ids = out["rule_ids"].iloc[0]
    assert rule_ids == ["quick_bounce", "slow_step", "device_gap", "top_exit_reason", "biggest_leak"]
    assert rule_ids == [r for r in RULE_IDS if r in rule_ids]
    for text in out["suggestions"].iloc[0]:
        assert re.search(r"\d", text), text
    long = out.explode(["rule_ids", "suggestions"]).dropna(subset=["rule_ids"])
    assert len(long) == 5


def test_missing_optional_columns_mean_rules_do_not_fire():
    frame = pd.DataFrame(
        {"funnel_id": ["f", "f"], "step_id": ["a", "b"], "step_order": [1, 2], "entries": [100, 60],
         "dropoffs": [40, 6]}
    )
    out = dropoff_suggestions(frame)
    assert out["dropoff_rate"].tolist() == pytest.approx([0.4, 0.1])
    assert out["severity"].tolist() == ["high", "low"]
    assert out["rule_ids"].tolist() == [["biggest_leak"], []]
    assert out["suggestions"].iloc[0][0].startswith("'a' loses 87% of all visitors lost")


def test_custom_rules_change_the_conditions():
    row = step(dropoffs=800, bounce_share=0.62, median_bounce_time_s=8.0)
    strict = SuggestionRules(quick_bounce_max_s=5.0)
    assert only(suggest(row, rules=strict))[0] == []
    with pytest.raises(ValueError, match="bounce_share_min is a share"):
        SuggestionRules(bounce_share_min=1.5)
    with pytest.raises(ValueError, match="device_min_entries must be an integer"):
        SuggestionRules(device_min_entries=0)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"funnel_id": ["f"], "step_id": ["a"], "entries": [10]}),
         "lacks the required column.*step_order, dropoffs"),
        (pd.DataFrame([step(entries=10, dropoffs=11)]), "dropoffs exceed entries"),
        (pd.DataFrame([step(bounce_share=1.3)]), r"bounce_share must be in \[0, 1\]"),
        (pd.DataFrame([step(), step()]), "more than one row for"),
        (pd.DataFrame([step(entries=-1, dropoffs=0)]), "non-negative"),
        (pd.DataFrame([step(entries="many")]), "column 'entries' must be numeric"),
    ],
)
def test_invalid_step_rows_are_rejected_with_clear_messages(frame, message):
    with pytest.raises(ValueError, match=message):
        dropoff_suggestions(frame)


def test_input_is_not_modified_and_index_is_kept():
    frame = pd.DataFrame([step(step_id="a"), step(step_id="b", step_order=2)], index=[10, 20])
    before = frame.copy()
    out = dropoff_suggestions(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert list(out.index) == [10, 20]


@pytest.mark.parametrize(
    ("seconds", "text"), [(8, "8 s"), (59.6, "1 min"), (240, "4 min"), (130, "2 min 10 s"), (3900, "1 h 5 min")]
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_format_pct():
    assert format_pct(0.624) == "62%" and format_pct(0.004) == "0.4%" and format_pct(0) == "0%"
