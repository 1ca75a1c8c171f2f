"""funnellens.stats against independent references: scipy/special-function identities, a direct
re-implementation of R's poisson.test, published R outputs, statsmodels, and simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats
from statsmodels.stats.rates import confint_poisson

from funnellens.stats import (
    credited_count_test,
    poisson_ci,
    poisson_pvalues,
    poisson_test,
    weighted_poisson_pvalues,
    weighted_poisson_test,
)

RTOL = 1e-10

OBSERVED = [0, 1, 2, 5, 10, 37, 150, 200, 1_000, 12_345, 100_000, 999_000, 1_000_000]
EXPECTED = [1e-3, 0.5, 1.0, 3.7, 10.0, 150.0, 1_000.0, 12_000.5, 1e5, 1e6, 1.003e6]


def r_poisson_test_two_sided(x: int, m: float) -> float:
    """R's poisson.test two-sided p-value, transcribed line by line (explicit enumeration)."""
    rel_err = 1 + 1e-7
    d = stats.poisson.pmf(x, m)
    if x == m:
        return 1.0
    if x < m:
        n = math.ceil(2 * m - x)
        while stats.poisson.pmf(n, m) > d:
            n *= 2
        i = np.arange(math.ceil(m), n + 1)
        y = int(np.sum(stats.poisson.pmf(i, m) <= d * rel_err))
        p = stats.poisson.cdf(x, m) + stats.poisson.sf(n - y, m)
    else:
        i = np.arange(0, math.floor(m) + 1)
        y = int(np.sum(stats.poisson.pmf(i, m) <= d * rel_err))
        p = stats.poisson.cdf(y - 1, m) + stats.poisson.sf(x - 1, m)
    return min(1.0, float(p))


def test_200_against_150_is_about_1e_4_not_1() -> None:
    two_sided = poisson_test(200, 150, "two-sided")
    greater = poisson_test(200, 150)
    assert two_sided.pvalue == pytest.approx(1.0189693630305337e-4, rel=1e-9)
    assert greater.pvalue == pytest.approx(stats.poisson.sf(199, 150), rel=1e-12)
    assert 1e-5 < greater.pvalue < 1e-4
    assert greater.alternative == "greater"
    assert greater.rate_ratio == pytest.approx(4 / 3)
    assert greater.lift_pct == pytest.approx(100 / 3)


@pytest.mark.parametrize("alternative", ["greater", "less"])
def test_one_sided_grid_matches_incomplete_gamma_identities(alternative: str) -> None:
    # Independent formulas: P(X >= x) = P(x, m) (regularized lower incomplete gamma, x >= 1),
    # P(X <= x) = Q(x + 1, m); and scipy.stats.poisson's sf/cdf.
    x, m = np.meshgrid(np.array(OBSERVED, dtype=float), np.array(EXPECTED))
    got = poisson_pvalues(x, m, alternative)
    if alternative == "greater":
        ref_gamma = np.where(x > 0, special.gammainc(np.maximum(x, 1), m), 1.0)
        ref_scipy = stats.poisson.sf(x - 1, m)
    else:
        ref_gamma = special.gammaincc(x + 1, m)
        ref_scipy = stats.poisson.cdf(x, m)
    np.testing.assert_allclose(got, ref_scipy, rtol=RTOL, atol=0)
    np.testing.assert_allclose(got, ref_gamma, rtol=1e-9, atol=1e-300)
    for xi, mi, gi in zip(x.ravel()[::7], m.ravel()[::7], got.ravel()[::7], strict=True):
        assert poisson_test(int(xi), float(mi), alternative).pvalue == pytest.approx(gi, rel=RTOL, abs=0)


def test_two_sided_matches_r_algorithm_over_grid_with_large_counts() -> None:
    cases = [(x, m) for m in EXPECTED for x in OBSERVED if x <= 3 * m + 30]
    # Around the mean, where the two tails meet and ties matter most.
    for m in (3.7, 10.0, 150.0, 12_000.5, 1e6):
        cases += [(int(m * f), m) for f in (0.8, 0.95, 0.999, 1.0, 1.001, 1.05, 1.2)]
    cases += [(5, 5.0), (4, 5.0), (6, 5.0), (0, 2.0), (1_000_000, 1_000_000.0)]
    xs = np.array([c[0] for c in cases], dtype=float)
    ms = np.array([c[1] for c in cases])
    vectorised = poisson_pvalues(xs, ms, "two-sided")
    for (x, m), vec in zip(cases, vectorised, strict=True):
        ref = r_poisson_test_two_sided(x, m)
        scalar = poisson_test(x, m, "two-sided").pvalue
        assert scalar == pytest.approx(ref, rel=RTOL, abs=1e-300), (x, m)
        assert vec == scalar, (x, m)
    assert len(cases) > 80


def test_two_sided_is_one_at_the_mean_and_symmetric_rule_holds() -> None:
    assert poisson_test(5, 5.0, "two.sided").pvalue == 1.0
    # Observed 0: the lower tail is P(X = 0); the other tail starts where the pmf drops below it.
    p = poisson_test(0, 2.0, "two-sided").pvalue
    pmf0 = math.exp(-2.0)
    ks = np.arange(0, 60)
    assert p == pytest.approx(float(stats.poisson.pmf(ks, 2.0)[stats.poisson.pmf(ks, 2.0) <= pmf0 * (1 + 1e-7)].sum()), rel=1e-12)


def test_known_r_outputs() -> None:
    # poisson.test(14, r = 8.5, alternative = "greater"): p-value 0.05141111, CI lower 8.463938.
    r = poisson_test(14, 8.5, "greater")
    assert r.pvalue == pytest.approx(0.05141111, abs=5e-9)
    assert r.ci_low * 8.5 == pytest.approx(8.463938, abs=5e-7)
    assert r.ci_high == math.inf
    # poisson.test(137, 24.19893): rate 5.661407, 95% CI 4.753125 6.692709, p < 2.2e-16.
    r = poisson_test(137, 24.19893, "two-sided")
    assert r.rate_ratio == pytest.approx(5.661407, abs=5e-7)
    assert (r.ci_low, r.ci_high) == pytest.approx((4.753125, 6.692709), abs=5e-7)
    assert r.pvalue < 2.2e-16
    # poisson.test(7, 1089)$conf.int * 1000 = 2.584355419210161 13.243962682922293.
    r = poisson_test(7, 1089, "two-sided")
    assert (r.ci_low * 1000, r.ci_high * 1000) == pytest.approx((2.584355419210161, 13.243962682922293), rel=1e-12)


def test_confidence_interval_matches_statsmodels_exact_over_grid() -> None:
    for x in (0, 1, 3, 14, 137, 5_000, 1_000_000):
        for m in (0.7, 24.19893, 1_000.0, 1e6):
            low, high = confint_poisson(x, m, method="exact-c", alpha=0.05)
            r = poisson_test(x, m, "two-sided")
            assert r.ci_low == pytest.approx(low, rel=1e-9, abs=1e-300)
            assert r.ci_high == pytest.approx(high, rel=1e-9)
            lo_v, hi_v = poisson_ci([x], [m])
            assert (lo_v[0], hi_v[0]) == (r.ci_low, r.ci_high)
    # One-sided intervals as R reports them.
    r = poisson_test(10, 5.0, "less", conf_level=0.9)
    assert r.ci_low == 0 and r.ci_high == pytest.approx(stats.gamma.ppf(0.9, 11) / 5.0, rel=1e-12)
    assert poisson_test(0, 5.0, "greater").ci_low == 0.0


def test_observed_zero_and_huge_counts() -> None:
    assert poisson_test(0, 3.0).pvalue == 1.0
    assert poisson_test(0, 3.0, "less").pvalue == pytest.approx(math.exp(-3.0), rel=1e-14)
    huge = poisson_test(1_003_000, 1_000_000.0)
    z = 3000 / 1000  # ~3 sigma; exact tail from gamma identity
    assert huge.pvalue == pytest.approx(special.gammainc(1_003_000, 1e6), rel=RTOL)
    assert 1e-4 < huge.pvalue < stats.norm.sf(z - 0.1)
    assert poisson_test(1_000_000, 1e-3).pvalue == 0.0  # underflows honestly, never 1.0
    assert poisson_test(0, 1e6, "two-sided").pvalue == 0.0


@pytest.mark.parametrize(
    ("observed", "expected", "error"),
    [
        (-1, 5.0, ValueError),
        (2.5, 5.0, ValueError),
        (float("nan"), 5.0, ValueError),
        (math.inf, 5.0, ValueError),
        ("seven", 5.0, TypeError),
        (True, 5.0, TypeError),
        (3, 0.0, ValueError),
        (3, -2.0, ValueError),
        (3, float("nan"), ValueError),
        (3, math.inf, ValueError),
        (3, None, TypeError),
    ],
)
def test_invalid_inputs_raise_clear_errors(observed: object, expected: object, error: type) -> None:
    with pytest.raises(error):
        poisson_test(observed, expected)  # type: ignore[arg-type]


def test_error_messages_name_the_problem() -> None:
    with pytest.raises(ValueError, match="expected must be > 0"):
        poisson_test(3, 0)
    with pytest.raises(ValueError, match="credited_count_test"):
        poisson_test(2.5, 3)
    with pytest.raises(ValueError, match="alternative must be one of"):
        poisson_test(3, 2.0, "bigger")
    with pytest.raises(ValueError, match="conf_level"):
        poisson_test(3, 2.0, conf_level=1.0)
    with pytest.raises(ValueError, match="first at flat index 1"):
        poisson_pvalues([1, -1, 3], [1.0, 1.0, 0.0])


def test_vectorised_nan_mode_and_broadcasting() -> None:
    p = poisson_pvalues([3, -1, 4, 5], [2.0, 2.0, 0.0, 2.0], on_invalid="nan")
    assert np.isnan(p[1]) and np.isnan(p[2])
    assert p[0] == poisson_test(3, 2.0).pvalue and p[3] == poisson_test(5, 2.0).pvalue
    grid = poisson_pvalues(np.arange(5)[:, None], np.array([1.0, 2.0, 3.0])[None, :], "two-sided")
    assert grid.shape == (5, 3)
    assert grid[4, 1] == poisson_test(4, 2.0, "two-sided").pvalue
    assert poisson_pvalues([], []).shape == (0,)


# ---------------------------------------------------------------------------------------
# Fractional credits
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("alternative", ["greater", "less", "two-sided"])
@pytest.mark.parametrize(("count", "expected"), [(0, 2.5), (3, 2.5), (12, 6.0), (40, 55.5), (200, 150.0)])
def test_whole_credits_reduce_to_poisson_test(alternative: str, count: int, expected: float) -> None:
    credits = [1.0] * count + [0.0] * 7
    frac = credited_count_test(credits, expected, alternative)
    exact = poisson_test(count, expected, alternative)
    assert frac.method == "exact poisson"
    assert frac.pvalue == exact.pvalue
    assert (frac.ci_low, frac.ci_high) == (exact.ci_low, exact.ci_high)
    vec = weighted_poisson_pvalues([float(count)], [float(count)], [expected], alternative)
    assert vec[0] == exact.pvalue


def test_gamma_method_formula_and_limit() -> None:
    rng = np.random.default_rng(7)
    w = rng.uniform(0.05, 1.0, 40)
    y, v, m = w.sum(), (w**2).sum(), 12.0
    r = credited_count_test(w, m, "greater")
    assert r.method == "fay-feuer gamma"
    # Independent evaluation with scipy.stats.gamma (Fay & Feuer 1997, lower bound gamma).
    assert r.pvalue == pytest.approx(stats.gamma.cdf(m, a=y * y / v, scale=v / y), rel=1e-12)
    less = credited_count_test(w, m, "less")
    assert less.pvalue == pytest.approx(stats.gamma.sf(m, a=(y + 1) ** 2 / (v + 1), scale=(v + 1) / (y + 1)), rel=1e-12)
    two = credited_count_test(w, m, "two-sided")
    assert two.pvalue == pytest.approx(min(1.0, 2 * min(r.pvalue, less.pvalue)), rel=1e-12)
    assert r.effective_n == pytest.approx(y * y / v)
    assert r.ci_low == pytest.approx(stats.gamma.ppf(0.05, a=y * y / v, scale=v / y) / m, rel=1e-10)
    # Credits a hair below 1 behave like whole credits (the method is continuous at the limit).
    near = credited_count_test([1 - 1e-6] * 30, 20.0)
    assert near.method == "fay-feuer gamma"
    assert near.pvalue == pytest.approx(poisson_test(30, 20.0).pvalue, rel=1e-4)


def test_fractional_false_positive_rate_under_the_null() -> None:
    """Fans arrive Poisson(lam), each carries a random fractional credit; H0 is true by construction."""
    rng = np.random.default_rng(20260301)
    reps = 3000
    for lam in (15.0, 60.0):
        n = rng.poisson(lam, reps)
        w = rng.uniform(0.0, 1.0, n.sum())
        rep = np.repeat(np.arange(reps), n)
        y = np.bincount(rep, w, minlength=reps)
        v = np.bincount(rep, w * w, minlength=reps)
        expected = lam * 0.5
        for alternative in ("greater", "two-sided"):
            rate = float(np.mean(weighted_poisson_pvalues(y, v, expected, alternative) < 0.05))
            se = math.sqrt(0.05 * 0.95 / reps)
            assert rate <= 0.05 + 3 * se, (lam, alternative, rate)
        # ...and it is not trivially conservative: it does reject sometimes.
        assert float(np.mean(weighted_poisson_pvalues(y, v, expected) < 0.05)) > 0.02


def test_fractional_power_exceeds_rounding_to_a_poisson_count() -> None:
    # A real 2x lift split over many fans: the variance-aware test sees it more clearly than
    # treating the rounded credit sum as a Poisson count (whose variance is too large).
    w = np.full(60, 0.4)  # 24 credited subscribers against 12 expected
    frac = credited_count_test(w, 12.0)
    naive = poisson_test(round(w.sum()), 12.0)
    assert frac.pvalue < naive.pvalue


def test_weighted_input_validation() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        credited_count_test([0.5, 1.2], 3.0)
    with pytest.raises(ValueError, match="finite"):
        credited_count_test([0.5, float("nan")], 3.0)
    with pytest.raises(ValueError, match="credit_sumsq must be <="):
        weighted_poisson_test(2.0, 3.0, 1.0)
    with pytest.raises(ValueError, match="expected must be"):
        weighted_poisson_test(2.0, 1.0, 0.0)
    p = weighted_poisson_pvalues([2.0, 2.0], [1.0, 3.0], [1.0, 1.0], on_invalid="nan")
    assert np.isfinite(p[0]) and np.isnan(p[1])
    assert credited_count_test([], 3.0).pvalue == 1.0
