"""funnellens.experiments against statsmodels, scipy, closed forms and Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from funnellens.experiments import (
    RESULT_COLUMNS,
    adjust_pvalues,
    benjamini_hochberg,
    chance_to_win,
    cuped_adjust,
    cuped_mean_test,
    evaluate_ab_test,
    holm,
    mean_test,
    prob_b_beats_a,
    proportion_test,
    srm_test,
)

PROPORTION_CASES = [
    # control_n, control_conv, treatment_n, treatment_conv
    (1_000, 100, 1_000, 130),
    (1_000, 0, 900, 5),  # no conversions in one arm
    (750, 12, 800, 0),
    (5_000, 250, 5_000, 250),  # equal rates
    (10_000_000, 500_000, 10_000_000, 502_000),  # large n
    (37, 36, 41, 20),
    (20, 1, 3_000, 420),
]


@pytest.mark.parametrize("case", PROPORTION_CASES)
def test_proportion_test_matches_statsmodels(case: tuple[int, int, int, int]) -> None:
    n_c, x_c, n_t, x_t = case
    r = proportion_test(n_c, x_c, n_t, x_t, alpha=0.05)
    z_ref, p_ref = proportions_ztest([x_t, x_c], [n_t, n_c])
    assert r.z == pytest.approx(z_ref, rel=1e-9, abs=1e-12)
    assert r.pvalue == pytest.approx(p_ref, rel=1e-9, abs=1e-15)
    lo, hi = confint_proportions_2indep(x_t, n_t, x_c, n_c, method="wald", compare="diff", alpha=0.05)
    assert (r.ci_low, r.ci_high) == pytest.approx((lo, hi), rel=1e-9, abs=1e-12)
    # R prop.test(correct = FALSE) is the uncorrected chi-square test of the 2x2 table.
    table = np.array([[x_t, n_t - x_t], [x_c, n_c - x_c]])
    if table.min(axis=0).min() > 0 or (table.sum(axis=0) > 0).all():
        chi2, p_chi, _, _ = stats.chi2_contingency(table, correction=False)
        assert r.pvalue == pytest.approx(p_chi, rel=1e-9, abs=1e-15)
    assert r.difference == pytest.approx(x_t / n_t - x_c / n_c)
    assert r.significant == (r.pvalue < 0.05)


def test_proportion_test_edge_cases() -> None:
    equal = proportion_test(5_000, 250, 5_000, 250)
    assert equal.pvalue == pytest.approx(1.0) and equal.lift == 0.0 and not equal.significant
    none = proportion_test(100, 0, 120, 0)  # pooled variance 0: identical rates, no evidence
    assert (none.z, none.pvalue, none.ci_low, none.ci_high) == (0.0, 1.0, 0.0, 0.0)
    assert math.isnan(none.lift)
    assert math.isnan(proportion_test(1_000, 0, 900, 5).lift)
    r = proportion_test(1_000, 100, 1_000, 130, alpha=0.01)
    assert r.lift == pytest.approx(0.3) and r.lift_pct == pytest.approx(30.0)
    assert not r.significant  # p = 0.035 is not significant at 0.01
    lo, hi = confint_proportions_2indep(130, 1_000, 100, 1_000, method="wald", compare="diff", alpha=0.01)
    assert (r.ci_low, r.ci_high) == pytest.approx((lo, hi), rel=1e-9)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 0, 10, 1), "control_n must be positive"),
        ((10, 1, 0, 0), "treatment_n must be positive"),
        ((10, -1, 10, 1), "control_conversions must be >= 0"),
        ((10, 11, 10, 1), "cannot exceed control_n"),
        ((10, 1, 10, 12), "cannot exceed treatment_n"),
        ((10.5, 1, 10, 1), "whole number"),
    ],
)
def test_proportion_test_rejects_bad_input(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        proportion_test(*args)


def test_proportion_test_rejects_bad_alpha() -> None:
    with pytest.raises(ValueError, match="alpha"):
        proportion_test(10, 1, 10, 2, alpha=1.5)


@pytest.mark.parametrize(
    "case",
    [
        (500, 2.0, 5.0, 480, 2.6, 6.1),
        (30, 10.0, 1.0, 12, 9.1, 4.0),
        (2, 0.0, 1.0, 2, 3.0, 2.0),
        (100_000, 3.21, 20.5, 99_000, 3.40, 22.0),
    ],
)
def test_mean_test_matches_scipy_welch(case: tuple) -> None:
    n_c, m_c, s_c, n_t, m_t, s_t = case
    r = mean_test(n_c, m_c, s_c, n_t, m_t, s_t, alpha=0.05)
    ref = stats.ttest_ind_from_stats(m_t, s_t, n_t, m_c, s_c, n_c, equal_var=False)
    assert r.t == pytest.approx(ref.statistic, rel=1e-12)
    assert r.pvalue == pytest.approx(ref.pvalue, rel=1e-9)
    assert r.lift == pytest.approx((m_t - m_c) / m_c) if m_c else math.isnan(r.lift)


def test_mean_test_interval_matches_statsmodels_on_raw_data() -> None:
    rng = np.random.default_rng(11)
    control = rng.gamma(0.5, 6.0, 400)
    treatment = rng.gamma(0.5, 7.0, 350)
    r = mean_test(control.size, control.mean(), control.std(ddof=1), treatment.size, treatment.mean(),
                  treatment.std(ddof=1), alpha=0.1)
    cm = CompareMeans(DescrStatsW(treatment), DescrStatsW(control))
    lo, hi = cm.tconfint_diff(alpha=0.1, usevar="unequal")
    assert (r.ci_low, r.ci_high) == pytest.approx((lo, hi), rel=1e-9)
    assert r.pvalue == pytest.approx(stats.ttest_ind(treatment, control, equal_var=False).pvalue, rel=1e-9)
    assert r.df == pytest.approx(cm.ttest_ind(usevar="unequal")[2], rel=1e-9)


def test_mean_test_degenerate_and_invalid() -> None:
    same = mean_test(10, 0.0, 0.0, 12, 0.0, 0.0)
    assert same.pvalue == 1.0 and same.t == 0.0
    assert mean_test(10, 1.0, 0.0, 12, 2.0, 0.0).pvalue == 0.0
    with pytest.raises(ValueError, match="control_n must be >= 2"):
        mean_test(1, 1.0, 0.5, 10, 1.0, 0.5)
    with pytest.raises(ValueError, match="treatment_std must be >= 0"):
        mean_test(10, 1.0, 0.5, 10, 1.0, -0.5)
    with pytest.raises(ValueError, match="finite"):
        mean_test(10, float("nan"), 0.5, 10, 1.0, 0.5)


@pytest.mark.parametrize(
    ("observed", "weights"),
    [
        ([5_000, 5_000], [0.5, 0.5]),
        ([5_000, 5_200], [0.5, 0.5]),
        ([10_000, 10_050, 9_980], [1, 1, 1]),
        ([900, 2_150], [0.3, 0.7]),
        ([1, 0, 7], [0.2, 0.3, 0.5]),
        ([100_000, 101_500], [50, 50]),
    ],
)
def test_srm_matches_scipy_chisquare(observed: list[int], weights: list[float]) -> None:
    r = srm_test(observed, weights)
    w = np.asarray(weights, dtype=float)
    expected = np.sum(observed) * w / w.sum()
    ref = stats.chisquare(observed, expected)
    assert r.chi2 == pytest.approx(ref.statistic, rel=1e-9, abs=1e-12)
    assert r.pvalue == pytest.approx(ref.pvalue, rel=1e-9)
    assert r.flagged == (r.pvalue < 0.001)


def test_srm_flag_threshold_and_errors() -> None:
    assert srm_test([5_000, 5_400], [0.5, 0.5]).flagged  # p ~ 7e-5
    assert not srm_test([5_000, 5_100], [0.5, 0.5]).flagged
    assert srm_test([5_000, 5_100], [0.5, 0.5], alpha=0.5).flagged
    with pytest.raises(ValueError, match="groups"):
        srm_test([1, 2, 3], [0.5, 0.5])
    with pytest.raises(ValueError, match="positive"):
        srm_test([1, 2], [0.5, 0.0])
    with pytest.raises(ValueError, match="non-negative whole"):
        srm_test([1, -2], [0.5, 0.5])
    with pytest.raises(ValueError, match="all counts are 0"):
        srm_test([0, 0], [0.5, 0.5])


def test_holm_and_bh_match_statsmodels() -> None:
    rng = np.random.default_rng(5)
    for size in (1, 2, 3, 7, 25):
        p = rng.uniform(0, 0.2, size) ** 2
        if size > 3:
            p[1] = p[2]  # ties
        np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], rtol=1e-12)
        np.testing.assert_allclose(benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1], rtol=1e-12)
    with_nan = np.array([0.01, np.nan, 0.04, 0.03])
    np.testing.assert_allclose(holm(with_nan)[[0, 2, 3]], multipletests(with_nan[[0, 2, 3]], method="holm")[1])
    assert np.isnan(holm(with_nan)[1]) and np.isnan(benjamini_hochberg(with_nan)[1])
    assert holm([]).shape == (0,)
    np.testing.assert_array_equal(adjust_pvalues([0.01, 0.2], "none"), [0.01, 0.2])
    np.testing.assert_allclose(adjust_pvalues([0.01, 0.2], "fdr_bh"), benjamini_hochberg([0.01, 0.2]))
    with pytest.raises(ValueError, match="correction"):
        adjust_pvalues([0.1], "bonferroni-ish")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm([0.1, 1.2])


# ---------------------------------------------------------------------------------------
# CUPED
# ---------------------------------------------------------------------------------------


def _cuped_data(seed: int = 2013, n: int = 4_000, effect: float = 0.15) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    x = rng.gamma(2.0, 1.5, 2 * n)  # pre-period revenue per visitor
    y = 0.8 * x + rng.normal(0, 1.0, 2 * n)  # correlated in-test revenue
    y[n:] += effect
    return y[:n], x[:n], y[n:], x[n:]


def test_cuped_theta_is_the_pooled_regression_slope_and_reduces_variance() -> None:
    cy, cx, ty, tx = _cuped_data()
    y, x = np.concatenate([cy, ty]), np.concatenate([cx, tx])
    adj = cuped_adjust(y, x)
    slope = np.polyfit(x, y, 1)[0]
    assert adj.theta == pytest.approx(slope, rel=1e-9)
    assert adj.adjusted.mean() == pytest.approx(y.mean(), rel=1e-12)  # same expectation
    rho = np.corrcoef(y, x)[0, 1]
    assert 1 - adj.adjusted.var(ddof=1) / y.var(ddof=1) == pytest.approx(rho**2, rel=1e-9)
    result = cuped_mean_test(cy, cx, ty, tx)
    assert result.variance_reduction == pytest.approx(rho**2, rel=1e-9)
    assert result.variance_reduction > 0.5
    assert (result.ci_high - result.ci_low) < 0.75 * (result.unadjusted.ci_high - result.unadjusted.ci_low)
    assert result.significant and result.pvalue < result.unadjusted.pvalue
    # The adjusted test is Welch's test on the adjusted per-unit values.
    ref = stats.ttest_ind(adj.adjusted[cy.size :], adj.adjusted[: cy.size], equal_var=False)
    assert result.pvalue == pytest.approx(ref.pvalue, rel=1e-9)
    assert cuped_adjust([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]).theta == 0.0
    with pytest.raises(ValueError, match="same length"):
        cuped_adjust([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="finite"):
        cuped_adjust([1.0, np.nan], [1.0, 2.0])


def test_cuped_keeps_the_false_positive_rate() -> None:
    rejections = 0
    reps = 200
    for seed in range(reps):
        cy, cx, ty, tx = _cuped_data(seed=seed, n=200, effect=0.0)
        rejections += cuped_mean_test(cy, cx, ty, tx).significant
    assert rejections / reps <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / reps)


# ---------------------------------------------------------------------------------------
# Chance to win
# ---------------------------------------------------------------------------------------


def test_chance_to_win_exact_small_cases() -> None:
    # Beta(1,1) vs Beta(2,1): P(B > A) = integral of x * 2x dx = 2/3.
    np.testing.assert_allclose(chance_to_win([0, 1], [0, 1]), [1 / 3, 2 / 3], atol=1e-14)
    # Beta(1,2) vs Beta(2,1): integral of 2x (1 - (1 - x)^2) dx = 5/6.
    np.testing.assert_allclose(chance_to_win([0, 1], [1, 1]), [1 / 6, 5 / 6], atol=1e-14)
    # Identical posteriors: each is best with probability 1/k.
    np.testing.assert_allclose(chance_to_win([0, 0, 0], [0, 0, 0]), [1 / 3] * 3, atol=1e-9)
    np.testing.assert_allclose(chance_to_win([40] * 4, [500] * 4), [0.25] * 4, atol=1e-9)
    assert chance_to_win([3], [10]).tolist() == [1.0]


@pytest.mark.parametrize(
    ("conv", "vis"),
    [([100, 120], [1_000, 1_000]), ([0, 3], [50, 60]), ([5_000, 5_100], [100_000, 100_000]),
     ([300_000, 300_500], [3_000_000, 3_000_000]), ([10, 1_000_000], [100, 10_000_000])],
)
def test_closed_form_agrees_with_numerical_integration(conv: list[int], vis: list[int]) -> None:
    from funnellens.experiments import _prob_best_integrated

    closed = chance_to_win(conv, vis)
    a = 1.0 + np.asarray(conv, float)
    b = 1.0 + np.asarray(vis, float) - np.asarray(conv, float)
    integrated = _prob_best_integrated(a, b)
    np.testing.assert_allclose(closed, integrated, atol=1e-7)
    assert closed.sum() == pytest.approx(1.0, abs=1e-12)
    assert prob_b_beats_a(conv[0], vis[0], conv[1], vis[1]) == pytest.approx(closed[1], abs=1e-15)


def test_chance_to_win_against_monte_carlo() -> None:
    rng = np.random.default_rng(20130201)
    draws = 1_000_000
    for conv, vis in (([100, 120, 110], [1_000, 1_000, 1_000]), ([48, 52, 61, 50], [900, 950, 1_000, 930])):
        c, v = np.asarray(conv), np.asarray(vis)
        samples = rng.beta(1 + c, 1 + v - c, size=(draws, c.size))
        mc = np.bincount(samples.argmax(axis=1), minlength=c.size) / draws
        exact = chance_to_win(conv, vis)
        se = np.sqrt(mc * (1 - mc) / draws)
        assert np.all(np.abs(exact - mc) <= 5 * se + 1e-6), (exact, mc)
        assert exact.sum() == pytest.approx(1.0, abs=1e-7)


def test_chance_to_win_large_counts_and_errors() -> None:
    p = chance_to_win([2_000_000, 2_003_000], [40_000_000, 40_000_000])  # past the closed-form term limit
    q = 1 - stats.norm.cdf(0, loc=3_000 / 40e6, scale=math.sqrt(2 * 0.05 * 0.95 / 40e6))
    assert np.isfinite(p).all() and p[1] == pytest.approx(q, abs=2e-3)
    with pytest.raises(ValueError, match="exceed visitors"):
        chance_to_win([5, 11], [10, 10])
    with pytest.raises(ValueError, match="non-negative whole"):
        chance_to_win([-1, 2], [10, 10])
    with pytest.raises(ValueError, match="variants"):
        chance_to_win([1, 2], [10])


# ---------------------------------------------------------------------------------------
# evaluate_ab_test
# ---------------------------------------------------------------------------------------


def _variants(visitors: list[int], conversions: list[int], revenue: list[float] | None = None,
              split: list[float] | None = None, test_id: str | None = None) -> pd.DataFrame:
    k = len(visitors)
    revenue = revenue or [c * 20.0 for c in conversions]
    frame = pd.DataFrame(
        {
            "variant_id": ["control"] + [f"v{i}" for i in range(1, k)],
            "is_control": [True] + [False] * (k - 1),
            "traffic_split": split or [1 / k] * k,
            "visitors": visitors,
            "conversions": conversions,
            "revenue_sum": revenue,
            # every converter pays exactly 20: sum of squares = conversions * 400
            "revenue_sumsq": [c * 400.0 for c in conversions],
        }
    )
    if test_id is not None:
        frame.insert(0, "ab_test_id", test_id)
    return frame


def test_evaluate_planted_winner_and_aa_test() -> None:
    planted = evaluate_ab_test(_variants([20_000, 20_050], [1_000, 1_250]))
    assert list(planted.columns) == list(RESULT_COLUMNS)
    assert len(planted) == 4  # 2 variants x 2 metrics
    conv = planted[planted["metric"] == "conversion_rate"].set_index("variant_id")
    ref = proportion_test(20_000, 1_000, 20_050, 1_250)
    assert conv.loc["v1", "pvalue"] == pytest.approx(ref.pvalue, rel=1e-12)
    assert conv.loc["v1", "improvement_pct"] == pytest.approx(ref.lift_pct)
    assert conv.loc["v1", "significant"] and conv.loc["v1", "is_winner"]
    assert set(planted["winner_variant_id"]) == {"v1"}
    assert conv["chance_to_win"].sum() == pytest.approx(1.0)
    assert conv.loc["v1", "chance_to_win"] > 0.99
    assert not conv.loc["control", "is_winner"] and math.isnan(conv.loc["control", "pvalue"])

    aa = evaluate_ab_test(_variants([20_000, 19_950], [1_000, 1_004]))
    assert not aa["significant"].any()
    assert not aa["is_winner"].any() and aa["winner_variant_id"].isna().all()


def test_evaluate_applies_the_correction_over_variants_and_metrics() -> None:
    frame = _variants([10_000, 10_000, 10_000], [500, 560, 590])
    for correction, method in (("holm", "holm"), ("bh", "fdr_bh")):
        out = evaluate_ab_test(frame, correction=correction)
        treat = out[~out["is_control"]]
        np.testing.assert_allclose(
            treat["pvalue_adjusted"], multipletests(treat["pvalue"], method=method)[1], rtol=1e-12
        )
        assert (treat["significant"] == (treat["pvalue_adjusted"] < 0.05)).all()
    none = evaluate_ab_test(frame, correction="none")
    np.testing.assert_array_equal(none["pvalue"].fillna(-1), none["pvalue_adjusted"].fillna(-1))
    # v2 (590) is the winner on both metrics: significantly better and the highest value.
    out = evaluate_ab_test(frame)
    assert set(out["winner_variant_id"]) == {"v2"}


def test_srm_blocks_the_winner() -> None:
    frame = _variants([20_000, 21_500], [1_000, 1_400])
    out = evaluate_ab_test(frame)
    assert out["srm_flagged"].all()
    assert out.loc[out["variant_id"] == "v1", "significant"].all()  # significant, yet...
    assert not out["is_winner"].any() and out["winner_variant_id"].isna().all()
    assert out["note"].str.contains("sample ratio mismatch").all()
    # With a tiny srm_alpha (the SRM p-value here is ~2e-13) the same data declares the winner.
    assert evaluate_ab_test(frame, srm_alpha=1e-20)["is_winner"].any()


def test_control_wins_when_every_treatment_is_significantly_worse() -> None:
    out = evaluate_ab_test(_variants([20_000, 20_000], [1_300, 1_000]))
    conv = out[out["metric"] == "conversion_rate"]
    assert conv["winner_variant_id"].eq("control").all()
    assert conv.loc[conv["is_control"], "is_winner"].item()


def test_revenue_metric_and_cuped_from_summary_sums() -> None:
    cy, cx, ty, tx = _cuped_data(n=3_000)
    frame = pd.DataFrame(
        {
            "variant_id": ["a", "b"],
            "is_control": [True, False],
            "traffic_split": [0.5, 0.5],
            "visitors": [cy.size, ty.size],
            "conversions": [300, 330],
            "revenue_sum": [cy.sum(), ty.sum()],
            "revenue_sumsq": [(cy**2).sum(), (ty**2).sum()],
        }
    )
    plain = evaluate_ab_test(frame).set_index(["metric", "variant_id"])
    welch = mean_test(cy.size, cy.mean(), cy.std(ddof=1), ty.size, ty.mean(), ty.std(ddof=1))
    assert plain.loc[("revenue_per_visitor", "b"), "pvalue"] == pytest.approx(welch.pvalue, rel=1e-9)
    assert not plain.loc[("revenue_per_visitor", "b"), "cuped_applied"]
    # Same from revenue_std instead of revenue_sumsq.
    by_std = frame.drop(columns="revenue_sumsq").assign(revenue_std=[cy.std(ddof=1), ty.std(ddof=1)])
    alt = evaluate_ab_test(by_std).set_index(["metric", "variant_id"])
    assert alt.loc[("revenue_per_visitor", "b"), "pvalue"] == pytest.approx(welch.pvalue, rel=1e-9)

    with_cov = frame.assign(
        covariate_sum=[cx.sum(), tx.sum()],
        covariate_sumsq=[(cx**2).sum(), (tx**2).sum()],
        revenue_covariate_sum=[(cx * cy).sum(), (tx * ty).sum()],
    )
    cuped = evaluate_ab_test(with_cov).set_index(["metric", "variant_id"])
    ref = cuped_mean_test(cy, cx, ty, tx)
    row = cuped.loc[("revenue_per_visitor", "b")]
    assert row["cuped_applied"] and "CUPED" in row["method"]
    assert row["pvalue"] == pytest.approx(ref.pvalue, rel=1e-6)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((ref.ci_low, ref.ci_high), rel=1e-6)
    assert row["difference"] == pytest.approx(ref.adjusted.difference, rel=1e-9)
    # Raw revenue per visitor stays the plain, unadjusted figure.
    assert row["revenue_per_visitor"] == pytest.approx(ty.mean())


def test_several_tests_per_frame_and_per_test_alpha() -> None:
    frame = pd.concat(
        [_variants([20_000, 20_000], [1_000, 1_100], test_id="t1"),
         _variants([20_000, 20_000], [1_000, 1_100], test_id="t2")],
        ignore_index=True,
    )
    frame["alpha"] = [0.1, 0.1, 0.01, 0.01]
    out = evaluate_ab_test(frame)
    assert list(out.columns) == ["ab_test_id", *RESULT_COLUMNS]
    conv = out[(out["metric"] == "conversion_rate") & ~out["is_control"]].set_index("ab_test_id")
    assert conv.loc["t1", "alpha"] == 0.1 and conv.loc["t2", "alpha"] == 0.01
    assert conv.loc["t1", "pvalue_adjusted"] == conv.loc["t2", "pvalue_adjusted"]  # ~0.05 after Holm
    assert conv.loc["t1", "significant"] and not conv.loc["t2", "significant"]


def test_zero_visitor_variant_is_reported_not_crashed() -> None:
    out = evaluate_ab_test(_variants([0, 0], [0, 0]))
    assert out["pvalue"].isna().all() and not out["is_winner"].any()
    assert out["note"].str.contains("no visitors yet").all()
    assert out["chance_to_win"].isna().all()


@pytest.mark.parametrize(
    ("mutate", "error", "message"),
    [
        (lambda f: f.drop(columns="visitors"), KeyError, "missing column"),
        (lambda f: f.drop(columns="revenue_sumsq"), KeyError, "revenue_sumsq or revenue_std"),
        (lambda f: f.assign(is_control=[True, True]), ValueError, "exactly one variant"),
        (lambda f: f.assign(is_control=[False, False]), ValueError, "exactly one variant"),
        (lambda f: f.assign(is_control=["false", "true"]), ValueError, "is_control must be true/false"),
        (lambda f: f.assign(conversions=[10, 20_000]), ValueError, "conversions exceed visitors"),
        (lambda f: f.assign(visitors=[-1, 100]), ValueError, "non-negative whole"),
        (lambda f: f.assign(traffic_split=[0.5, 0.0]), ValueError, "traffic_split"),
        (lambda f: f.assign(variant_id=["a", "a"]), ValueError, "duplicate variant_id"),
    ],
)
def test_evaluate_rejects_bad_frames(mutate, error: type, message: str) -> None:
    frame = _variants([1_000, 1_000], [50, 60])
    with pytest.raises(error, match=message):
        evaluate_ab_test(mutate(frame))


def test_evaluate_rejects_bad_options() -> None:
    frame = _variants([1_000, 1_000], [50, 60])
    with pytest.raises(ValueError, match="correction"):
        evaluate_ab_test(frame, correction="sidak")
    with pytest.raises(ValueError, match="alpha"):
        evaluate_ab_test(frame, alpha=0)
