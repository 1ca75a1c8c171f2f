"""Confidence score, level, tier and reasons (issue 3, point 6)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from funnellens.confidence import (
    DEFAULT_THRESHOLDS,
    LEVELS,
    TIERS,
    ConfidenceThresholds,
    assign_tier,
    score_confidence,
    score_confidence_frame,
)
from funnellens.stats import poisson_test


def reference_score(n: float, p: float, k: int, t: ConfidenceThresholds = DEFAULT_THRESHOLDS) -> float:
    """The documented formula, written out independently."""
    s_n = min(1.0, math.log(1 + n) / math.log(1 + t.events_full))
    s_p = 0.0 if math.isnan(p) else (1.0 if p == 0 else min(1.0, max(0.0, math.log10(p) / math.log10(t.pvalue_full))))
    score = s_n**t.events_weight * s_p ** (1 - t.events_weight) * t.confounder_factor**k
    if n < t.min_events:
        score = min(score, t.insufficient_score_cap)
    return score


@pytest.mark.parametrize(
    ("n", "p", "k"),
    [(0, 1.0, 0), (3, 0.001, 0), (9, 0.2, 1), (10, 0.04, 0), (25, 0.01, 0), (25, 0.049, 0),
     (60, 0.0005, 2), (100, 0.3, 0), (1_000, 0.0, 0), (40, math.nan, 0)],
)
def test_score_follows_the_documented_formula(n: float, p: float, k: int) -> None:
    c = score_confidence(n, 50.0, p, [f"promo {i}" for i in range(k)])
    assert c.score == pytest.approx(reference_score(n, p, k), abs=1e-12)
    assert 0.0 <= c.score <= 1.0


def test_below_ten_is_insufficient_data_whatever_the_p_value() -> None:
    for n in (0, 1, 5, 9):
        c = score_confidence(n, 400.0, 1e-9, ())
        assert c.tier == "insufficient_data"
        assert c.level == "low"
        assert c.score <= DEFAULT_THRESHOLDS.insufficient_score_cap
        assert any("insufficient data" in r for r in c.reasons)


def test_ten_to_twenty_four_is_at_most_a_hypothesis() -> None:
    for n in (10, 17, 24):
        c = score_confidence(n, 250.0, 1e-12, ())
        assert c.tier == "hypothesis"
        assert c.level in ("low", "medium")
        assert any("at most a hypothesis" in r for r in c.reasons)


def test_confident_needs_25_significance_score_and_no_confounder() -> None:
    base = score_confidence(25, 60.0, 0.01, ())
    assert base.tier == "confident" and base.level == "high" and base.score >= 0.7
    assert base.significant
    # Not significant at alpha 0.05.
    assert score_confidence(200, 10.0, 0.06, ()).tier == "hypothesis"
    # Significant but the score is below 0.7 at 25 events and p = 0.049.
    weak = score_confidence(25, 40.0, 0.049, ())
    assert weak.significant and weak.score < 0.7 and weak.tier == "hypothesis"
    assert any("below the 0.70" in r for r in weak.reasons)
    # One confounder blocks it even with overwhelming evidence, and lowers the score by its factor.
    confounded = score_confidence(500, 80.0, 1e-20, ["price_change 2026-03-02"])
    assert confounded.tier == "hypothesis"
    assert confounded.score == pytest.approx(score_confidence(500, 80.0, 1e-20, ()).score * 0.6)
    assert confounded.level == "medium"
    # A zero or unknown lift is not "a significant lift".
    assert score_confidence(100, 0.0, 0.001, ()).tier == "hypothesis"
    assert score_confidence(100, math.nan, 0.001, ()).tier == "hypothesis"


def test_score_rises_with_events_and_falls_with_p() -> None:
    ns = [10, 15, 25, 40, 80, 100]
    scores = [score_confidence(n, 30.0, 0.02, ()).score for n in ns]
    assert scores == sorted(scores) and scores[0] < scores[-1]
    ps = [1e-4, 1e-3, 0.01, 0.03, 0.1, 0.5, 1.0]
    scores = [score_confidence(50, 30.0, p, ()).score for p in ps]
    assert scores == sorted(scores, reverse=True)
    assert score_confidence(50, 30.0, 1.0, ()).score == 0.0


def test_reasons_name_n_p_value_and_each_confounder() -> None:
    c = score_confidence(28, 64.0, 0.0031, ["promo (2026-03-02 to 2026-03-04)", "collab with @ana"])
    text = c.rationale
    assert "28 subscriber events" in text
    assert "p = 0.0031" in text
    assert "lift +64%" in text
    assert "confounder: promo (2026-03-02 to 2026-03-04)" in text
    assert "confounder: collab with @ana" in text
    assert c.confounders == ("promo (2026-03-02 to 2026-03-04)", "collab with @ana")
    no_test = score_confidence(30, math.nan, math.nan, ())
    assert "no p-value" in no_test.rationale
    assert "p = 1.2e-05" in score_confidence(30, 90.0, 1.2e-5, ()).rationale


def test_end_to_end_with_poisson_test() -> None:
    # 40 subscribers credited where 22 were expected: the Poisson test feeds the score.
    r = poisson_test(40, 22.0)
    c = score_confidence(40, r.lift_pct, r.pvalue, ())
    assert r.pvalue < 0.001 and c.tier == "confident"


def test_thresholds_are_configurable_and_validated() -> None:
    strict = ConfidenceThresholds(alpha=0.01, confident_min_events=50, min_events=20)
    assert score_confidence(30, 50.0, 0.02, (), thresholds=strict).tier == "hypothesis"
    assert score_confidence(15, 50.0, 0.001, (), thresholds=strict).tier == "insufficient_data"
    assert score_confidence(60, 50.0, 0.001, (), thresholds=strict).tier == "confident"
    assert "at alpha 0.01" in score_confidence(60, 50.0, 0.001, (), thresholds=strict).rationale
    with pytest.raises(ValueError, match="min_events"):
        ConfidenceThresholds(min_events=30, confident_min_events=25)
    with pytest.raises(ValueError, match="alpha"):
        ConfidenceThresholds(alpha=0)
    with pytest.raises(ValueError, match="medium_score"):
        ConfidenceThresholds(medium_score=0.8, high_score=0.7)


def test_invalid_inputs() -> None:
    with pytest.raises(ValueError, match="subscribers"):
        score_confidence(-1, 10.0, 0.5, ())
    with pytest.raises(ValueError, match="pvalue"):
        score_confidence(10, 10.0, 1.5, ())
    with pytest.raises(TypeError, match="subscribers"):
        score_confidence("many", 10.0, 0.5, ())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="score"):
        assign_tier(30, 10.0, 0.01, 1.2, ())


def test_assign_tier_agrees_with_score_confidence() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        n = float(rng.integers(0, 120))
        p = float(rng.choice([rng.uniform(), 10 ** rng.uniform(-6, 0)]))
        conf = ["promo"] if rng.uniform() < 0.2 else []
        c = score_confidence(n, 25.0, p, conf)
        assert assign_tier(n, 25.0, p, c.score, conf) == c.tier
        assert c.tier in TIERS and c.level in LEVELS


def test_frame_version_matches_scalar_rows() -> None:
    frame = pd.DataFrame(
        {
            "subscribers": [4, 12, 25, 25, 80, 80, 40.5],
            "lift_pct": [300.0, 90.0, 60.0, 40.0, 35.0, 35.0, np.nan],
            "pvalue": [0.001, 0.004, 0.01, 0.049, 1e-6, 1e-6, np.nan],
            "confounders": [None, [], (), "", ["promo"], "promo; shoutout", pd.NA],
        }
    )
    out = score_confidence_frame(frame)
    assert list(frame.columns) == list(out.columns[: len(frame.columns)])
    for row, result in zip(frame.itertuples(index=False), out.itertuples(index=False), strict=True):
        c = score_confidence(row.subscribers, row.lift_pct, row.pvalue, row.confounders)
        assert result.confidence_score == pytest.approx(c.score, abs=1e-15)
        assert (result.confidence_level, result.tier, bool(result.significant)) == (c.level, c.tier, c.significant)
        assert result.confidence_reasons == c.rationale
    assert out["tier"].tolist() == [
        "insufficient_data", "hypothesis", "confident", "hypothesis", "hypothesis", "hypothesis", "hypothesis",
    ]
    assert "confounder: shoutout" in out.loc[5, "confidence_reasons"]
    assert "40.5 subscriber events" in out.loc[6, "confidence_reasons"]
    no_conf = score_confidence_frame(frame.drop(columns="confounders"), confounders=None)
    assert no_conf.loc[4, "tier"] == "confident"
    with pytest.raises(KeyError, match="missing column"):
        score_confidence_frame(frame.drop(columns="pvalue"))
