"""Exact Poisson tests for subscriber counts, and their extension to fractional credits.

Everything here is a pure function over numbers or numpy arrays (no database, no Dagster).

- :func:`poisson_test` is the one-sample exact Poisson test of R's ``poisson.test(x, T = expected)``:
  one-sided tails from ``scipy.stats.poisson`` (``sf``/``cdf``, never ``1 - cdf``), R's two-sided
  "minimum likelihood" p-value, and the exact (Garwood) interval of the rate ratio.
- :func:`poisson_pvalues` and :func:`poisson_ci` are the vectorised forms for marts with many rows.
- :func:`weighted_poisson_test` / :func:`credited_count_test` test a *sum of fractional credits*
  against its expectation with the gamma method of Fay & Feuer (1997). With whole credits it is
  exactly :func:`poisson_test`. ``docs/methodology.md`` ("Fractional credits") explains the choice.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

Alternative = Literal["greater", "less", "two-sided"]
ALTERNATIVES: tuple[str, ...] = ("greater", "less", "two-sided")
_ALTERNATIVE_ALIASES = {"two.sided": "two-sided", "two_sided": "two-sided", "two sided": "two-sided"}

R_REL_ERR = 1 + 1e-7
"""R's ``relErr`` in ``poisson.test``/``binom.test``: outcomes whose density is within this factor
of the observed density count as "as extreme" in the two-sided p-value."""

_LOG_REL_ERR = math.log(R_REL_ERR)


# ---------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------


def normalize_alternative(alternative: str) -> str:
    """Return the canonical name of an alternative ("greater", "less", "two-sided").

    R's spelling ``"two.sided"`` and ``"two_sided"`` are accepted as aliases.
    """
    if not isinstance(alternative, str):
        raise TypeError(f"alternative must be a string, got {type(alternative).__name__}")
    key = alternative.strip().lower()
    key = _ALTERNATIVE_ALIASES.get(key, key)
    if key not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {', '.join(ALTERNATIVES)}; got {alternative!r}")
    return key


def _check_conf_level(conf_level: float) -> float:
    conf = float(conf_level)
    if not (0.0 < conf < 1.0):
        raise ValueError(f"conf_level must be strictly between 0 and 1, got {conf_level!r}")
    return conf


def _check_scalar_count(value: object, name: str) -> int:
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a count (a non-negative integer), got a boolean")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a count (a non-negative integer), got {value!r}") from None
    if math.isnan(number) or math.isinf(number):
        raise ValueError(f"{name} must be a finite count, got {value!r}")
    if number < 0:
        raise ValueError(f"{name} must be non-negative, got {value!r}")
    if number != math.floor(number):
        raise ValueError(
            f"{name} must be a whole number of events, got {value!r}; fractional credits are tested "
            "with funnellens.stats.credited_count_test / weighted_poisson_test"
        )
    return int(number)


def _check_scalar_expected(value: object, name: str = "expected") -> float:
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a positive number, got a boolean")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a positive number, got {value!r}") from None
    if math.isnan(number) or math.isinf(number):
        raise ValueError(f"{name} must be a finite positive number, got {value!r}")
    if number <= 0:
        raise ValueError(
            f"{name} must be > 0, got {value!r}: a Poisson test needs a positive expected count "
            "(no baseline means no test, not a test against zero)"
        )
    return number


def _as_float_array(values: ArrayLike, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numeric (array-like of numbers)") from None
    return arr


def _count_and_expected_arrays(
    observed: ArrayLike, expected: ArrayLike, on_invalid: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Broadcast and validate; returns (x, m, valid mask)."""
    if on_invalid not in ("raise", "nan"):
        raise ValueError(f"on_invalid must be 'raise' or 'nan', got {on_invalid!r}")
    x = _as_float_array(observed, "observed")
    m = _as_float_array(expected, "expected")
    try:
        x, m = np.broadcast_arrays(x, m)
    except ValueError:
        raise ValueError(
            f"observed (shape {np.shape(x)}) and expected (shape {np.shape(m)}) do not broadcast"
        ) from None
    bad_x = ~np.isfinite(x) | (x < 0) | (x != np.floor(np.where(np.isfinite(x), x, 0)))
    bad_m = ~np.isfinite(m) | (m <= 0)
    valid = ~(bad_x | bad_m)
    if on_invalid == "raise" and not valid.all():
        idx = np.flatnonzero(~valid.ravel())
        first = int(idx[0])
        problems = []
        if bad_x.ravel()[first]:
            problems.append(f"observed={x.ravel()[first]!r} is not a non-negative whole count")
        if bad_m.ravel()[first]:
            problems.append(f"expected={m.ravel()[first]!r} is not a finite number > 0")
        raise ValueError(
            f"{idx.size} invalid row(s); first at flat index {first}: {'; '.join(problems)}. "
            "Pass on_invalid='nan' to get NaN for such rows instead."
        )
    return x, m, valid


# ---------------------------------------------------------------------------------------
# The exact Poisson test
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoissonTestResult:
    """Result of :func:`poisson_test` (R ``poisson.test(observed, T = expected)``).

    ``rate_ratio`` is observed / expected; ``ci_low``/``ci_high`` is its exact interval at
    ``conf_level`` (one-sided intervals for one-sided alternatives, as R reports them).
    """

    observed: int
    expected: float
    alternative: str
    pvalue: float
    rate_ratio: float
    ci_low: float
    ci_high: float
    conf_level: float

    @property
    def lift_pct(self) -> float:
        """Relative lift in percent: (observed / expected - 1) * 100."""
        return (self.rate_ratio - 1.0) * 100.0

    @property
    def conf_int(self) -> tuple[float, float]:
        """The interval of the rate ratio as a tuple (low, high)."""
        return (self.ci_low, self.ci_high)


def _upper_tail(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """P(X >= x) for X ~ Poisson(m): ``poisson.sf(x - 1, m)`` (exact, no 1 - cdf cancellation)."""
    return stats.poisson.sf(x - 1, m)


def _lower_tail(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """P(X <= x) for X ~ Poisson(m)."""
    return stats.poisson.cdf(x, m)


def _first_true(
    predicate: Callable[[np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Vectorised bisection for the smallest integer k in (lo, hi] with predicate(k) true.

    The predicate must be monotone (false ... false true ... true) on (lo, hi] and true at hi;
    ``lo`` is a sentinel index where it is taken as false. Returns hi where hi == lo + 1.
    """
    lo = lo.astype(np.float64).copy()
    hi = hi.astype(np.float64).copy()
    while True:
        active = (hi - lo) > 1
        if not active.any():
            return hi
        mid = np.floor((lo + hi) / 2)
        mid = np.where(active, mid, hi)
        ok = predicate(mid)
        hi = np.where(active & ok, mid, hi)
        lo = np.where(active & ~ok, mid, lo)


def _two_sided_minlike(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """R's two-sided ``poisson.test`` p-value, vectorised over valid (x, m) pairs.

    p = sum of P(X = i) over all i with P(X = i) <= P(X = x) * relErr, X ~ Poisson(m).
    The Poisson pmf increases up to the mode and decreases after it, so the outcomes on the
    other side of the mode that are "as extreme" form one tail, whose edge is found by
    bisection instead of R's enumeration (the same set of outcomes; densities are compared in
    log space, which also keeps the comparison meaningful when the densities underflow).
    """
    p = np.ones_like(m)
    if x.size == 0:
        return p
    threshold = stats.poisson.logpmf(x, m) + _LOG_REL_ERR

    below = x < m
    if below.any():
        xb, mb, tb = x[below], m[below], threshold[below]
        start = np.ceil(mb)
        # Upper search bound as in R: N = ceil(2m - x), doubled while its density is above d.
        n_hi = np.maximum(np.ceil(2 * mb - xb), start)
        while True:
            too_dense = stats.poisson.logpmf(n_hi, mb) > tb
            if not too_dense.any():
                break
            n_hi = np.where(too_dense, 2 * n_hi, n_hi)
        k = _first_true(lambda i: stats.poisson.logpmf(i, mb) <= tb, start - 1, n_hi)
        p[below] = _lower_tail(xb, mb) + stats.poisson.sf(k - 1, mb)

    above = x > m
    if above.any():
        xa, ma, ta = x[above], m[above], threshold[above]
        top = np.floor(ma)
        # j = number of outcomes 0..floor(m) that are as extreme: the first i with a larger density.
        j = _first_true(
            lambda i: (i > top) | (stats.poisson.logpmf(i, ma) > ta), np.full_like(ma, -1.0), top + 1
        )
        p[above] = _lower_tail(j - 1, ma) + _upper_tail(xa, ma)
    return np.minimum(p, 1.0)


def _pvalues(x: np.ndarray, m: np.ndarray, alternative: str) -> np.ndarray:
    if alternative == "greater":
        return _upper_tail(x, m)
    if alternative == "less":
        return _lower_tail(x, m)
    return _two_sided_minlike(x, m)


def _rate_ratio_ci(
    x: np.ndarray, m: np.ndarray, alternative: str, conf_level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval of observed/expected, as R's poisson.test.

    lower = qgamma(a, x) / m (0 when x = 0), upper = qgamma(1 - a, x + 1) / m, with
    a = (1 - conf_level) / 2 for two-sided and a = 1 - conf_level for one-sided bounds.
    """
    alpha = 1.0 - conf_level
    a = alpha / 2 if alternative == "two-sided" else alpha
    safe_x = np.where(x > 0, x, 1.0)
    lower = np.where(x > 0, special.gammaincinv(safe_x, a), 0.0) / m
    upper = special.gammainccinv(x + 1, a) / m
    if alternative == "greater":
        upper = np.full_like(lower, np.inf)
    elif alternative == "less":
        lower = np.zeros_like(upper)
    return lower, upper


def poisson_test(
    observed: int, expected: float, alternative: str = "greater", *, conf_level: float = 0.95
) -> PoissonTestResult:
    """Exact one-sample Poisson test of ``observed`` events against ``expected`` events.

    Same results as R's ``poisson.test(observed, T = expected, r = 1, alternative=...)``:

    - greater: p = P(X >= x) = ``poisson.sf(x - 1, m)``, X ~ Poisson(m), m = expected;
    - less: p = P(X <= x) = ``poisson.cdf(x, m)``;
    - two-sided: p = sum of P(X = i) over every i with P(X = i) <= P(X = x) * (1 + 1e-7)
      (R's minimum-likelihood rule with its relErr); 1 when x == m.

    The interval of the rate ratio x / m is the exact Garwood interval from gamma quantiles
    (see :func:`poisson_ci`). Tails come from ``scipy.stats.poisson`` directly, so large counts
    stay exact: 200 observed against 150 expected gives p ~ 1.1e-4.

    Raises ValueError/TypeError for a negative, fractional or non-finite count, an expected
    count that is not a finite number > 0, an unknown alternative or a bad conf_level.
    """
    x = _check_scalar_count(observed, "observed")
    m = _check_scalar_expected(expected)
    alt = normalize_alternative(alternative)
    conf = _check_conf_level(conf_level)
    xa, ma = np.array([float(x)]), np.array([m])
    pvalue = float(_pvalues(xa, ma, alt)[0])
    low, high = _rate_ratio_ci(xa, ma, alt, conf)
    return PoissonTestResult(
        observed=x,
        expected=m,
        alternative=alt,
        pvalue=pvalue,
        rate_ratio=x / m,
        ci_low=float(low[0]),
        ci_high=float(high[0]),
        conf_level=conf,
    )


def poisson_pvalues(
    observed: ArrayLike,
    expected: ArrayLike,
    alternative: str = "greater",
    *,
    on_invalid: Literal["raise", "nan"] = "raise",
) -> np.ndarray:
    """Vectorised :func:`poisson_test` p-values (same formulas), broadcasting the two inputs.

    ``on_invalid="raise"`` (default) rejects a negative/fractional/non-finite count or an
    expected count that is not > 0, naming the first offending row; ``on_invalid="nan"``
    returns NaN for such rows instead (for marts where "no baseline" is a legitimate row).
    """
    alt = normalize_alternative(alternative)
    x, m, valid = _count_and_expected_arrays(observed, expected, on_invalid)
    out = np.full(x.shape, np.nan)
    if valid.any():
        out[valid] = _pvalues(x[valid], m[valid], alt)
    return out


def poisson_ci(
    observed: ArrayLike,
    expected: ArrayLike,
    *,
    conf_level: float = 0.95,
    alternative: str = "two-sided",
    on_invalid: Literal["raise", "nan"] = "raise",
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised exact interval of the rate ratio observed / expected (Garwood 1936).

    lower = G^-1(a; x) / m (0 for x = 0), upper = G^-1(1 - a; x + 1) / m, with G the unit-scale
    gamma distribution, a = (1 - conf_level) / 2 (two-sided) or 1 - conf_level (one-sided; the
    other end is 0 or infinity). Equals R's ``poisson.test(x, T = m)$conf.int``.
    """
    alt = normalize_alternative(alternative)
    conf = _check_conf_level(conf_level)
    x, m, valid = _count_and_expected_arrays(observed, expected, on_invalid)
    low = np.full(x.shape, np.nan)
    high = np.full(x.shape, np.nan)
    if valid.any():
        lo_v, hi_v = _rate_ratio_ci(x[valid], m[valid], alt, conf)
        low[valid], high[valid] = lo_v, hi_v
    return low, high


# ---------------------------------------------------------------------------------------
# Fractional credits: weighted sums of Poisson counts (Fay & Feuer 1997)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeightedPoissonTestResult:
    """Result of :func:`weighted_poisson_test` / :func:`credited_count_test`.

    ``credited`` is the sum of credits y, ``credit_sumsq`` is v = sum of squared credits,
    ``effective_n`` = y^2 / v is the Poisson-equivalent count the test behaves like, and
    ``method`` says which formula produced the p-value ("exact poisson" when every credit is
    whole, "fay-feuer gamma" otherwise).
    """

    credited: float
    credit_sumsq: float
    credit_max: float
    expected: float
    alternative: str
    pvalue: float
    rate_ratio: float
    ci_low: float
    ci_high: float
    conf_level: float
    effective_n: float
    method: str

    @property
    def lift_pct(self) -> float:
        """Relative lift in percent: (credited / expected - 1) * 100."""
        return (self.rate_ratio - 1.0) * 100.0


def _whole_credits(y: np.ndarray, v: np.ndarray) -> np.ndarray:
    """True where every credit is 0 or 1: with 0 <= w <= 1, sum(w^2) == sum(w) iff all w are whole."""
    return (np.abs(v - y) <= 1e-9 * np.maximum(y, 1.0)) & (np.abs(y - np.round(y)) <= 1e-9 * np.maximum(y, 1.0))


def _fay_feuer_tails(
    y: np.ndarray, v: np.ndarray, w_max: np.ndarray, m: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One-sided p-values (greater, less) of the gamma method for Y = sum of w_i X_i.

    Lower-bound gamma: shape y^2/v, scale v/y  -> p_greater = P(G_L <= m) = P(shape, m*y/v).
    Upper-bound gamma: shape (y+wM)^2/(v+wM^2), scale (v+wM^2)/(y+wM) -> p_less = P(G_U >= m).
    P is the regularized lower incomplete gamma function. With all weights 1 these are the exact
    Poisson tails P(X >= y) and P(X <= y).
    """
    positive = y > 0
    safe_y = np.where(positive, y, 1.0)
    safe_v = np.where(positive, v, 1.0)
    p_greater = np.where(positive, special.gammainc(safe_y**2 / safe_v, m * safe_y / safe_v), 1.0)
    shape_u = (y + w_max) ** 2 / (v + w_max**2)
    scale_u = (v + w_max**2) / (y + w_max)
    p_less = special.gammaincc(shape_u, m / scale_u)
    return p_greater, p_less


def _fay_feuer_ci(
    y: np.ndarray, v: np.ndarray, w_max: np.ndarray, m: np.ndarray, alternative: str, conf_level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Gamma-method interval of y / m: lower = G_L^-1(a) / m (0 when y = 0), upper = G_U^-1(1-a) / m."""
    alpha = 1.0 - conf_level
    a = alpha / 2 if alternative == "two-sided" else alpha
    positive = y > 0
    safe_y = np.where(positive, y, 1.0)
    safe_v = np.where(positive, v, 1.0)
    lower = np.where(positive, special.gammaincinv(safe_y**2 / safe_v, a) * safe_v / safe_y, 0.0) / m
    shape_u = (y + w_max) ** 2 / (v + w_max**2)
    scale_u = (v + w_max**2) / (y + w_max)
    upper = special.gammainccinv(shape_u, a) * scale_u / m
    if alternative == "greater":
        upper = np.full_like(lower, np.inf)
    elif alternative == "less":
        lower = np.zeros_like(upper)
    return lower, upper


def _weighted_arrays(
    credit_sum: ArrayLike,
    credit_sumsq: ArrayLike,
    expected: ArrayLike,
    credit_max: ArrayLike,
    on_invalid: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if on_invalid not in ("raise", "nan"):
        raise ValueError(f"on_invalid must be 'raise' or 'nan', got {on_invalid!r}")
    arrays = [
        _as_float_array(a, n)
        for a, n in (
            (credit_sum, "credit_sum"),
            (credit_sumsq, "credit_sumsq"),
            (expected, "expected"),
            (credit_max, "credit_max"),
        )
    ]
    try:
        y, v, m, w_max = np.broadcast_arrays(*arrays)
    except ValueError:
        raise ValueError("credit_sum, credit_sumsq, expected and credit_max do not broadcast") from None
    tol = 1e-9 * np.maximum(np.abs(np.where(np.isfinite(y), y, 0.0)), 1.0)
    checks = {
        "credit_sum must be finite and >= 0": ~np.isfinite(y) | (y < 0),
        "credit_sumsq must be finite and >= 0": ~np.isfinite(v) | (v < 0),
        "expected must be a finite number > 0": ~np.isfinite(m) | (m <= 0),
        "credit_max must be in (0, 1]": ~np.isfinite(w_max) | (w_max <= 0) | (w_max > 1),
        "credit_sumsq must be <= credit_sum * credit_max (credits are in [0, credit_max])": v > y * w_max + tol,
        "credit_sumsq must be > 0 when credit_sum > 0": (y > 0) & (v <= 0),
    }
    invalid = np.zeros(y.shape, dtype=bool)
    for message, bad in checks.items():
        if on_invalid == "raise" and bad.any():
            first = int(np.flatnonzero(bad.ravel())[0])
            raise ValueError(
                f"{message}; {int(bad.sum())} invalid row(s), first at flat index {first} "
                f"(credit_sum={y.ravel()[first]!r}, credit_sumsq={v.ravel()[first]!r}, "
                f"expected={m.ravel()[first]!r}, credit_max={w_max.ravel()[first]!r})"
            )
        invalid |= bad
    return y, v, m, w_max, ~invalid


def _weighted_pvalues(
    y: np.ndarray, v: np.ndarray, m: np.ndarray, w_max: np.ndarray, alternative: str
) -> np.ndarray:
    whole = _whole_credits(y, v)
    p_greater, p_less = _fay_feuer_tails(y, v, w_max, m)
    if alternative == "greater":
        out = p_greater
    elif alternative == "less":
        out = p_less
    else:
        out = np.minimum(1.0, 2.0 * np.minimum(p_greater, p_less))
    if whole.any():
        # Whole credits are plain counts: use the exact Poisson test itself (R's two-sided rule too).
        out = np.where(whole, 0.0, out)
        out[whole] = _pvalues(np.round(y[whole]), m[whole], alternative)
    return out


def weighted_poisson_pvalues(
    credit_sum: ArrayLike,
    credit_sumsq: ArrayLike,
    expected: ArrayLike,
    alternative: str = "greater",
    *,
    credit_max: ArrayLike = 1.0,
    on_invalid: Literal["raise", "nan"] = "raise",
) -> np.ndarray:
    """Vectorised p-values for sums of fractional credits (see :func:`weighted_poisson_test`).

    Takes the per-row aggregates a SQL GROUP BY gives: ``credit_sum`` = sum(w),
    ``credit_sumsq`` = sum(w^2) and optionally ``credit_max`` = max possible (or observed) w.
    """
    alt = normalize_alternative(alternative)
    y, v, m, w_max, valid = _weighted_arrays(credit_sum, credit_sumsq, expected, credit_max, on_invalid)
    out = np.full(y.shape, np.nan)
    if valid.any():
        out[valid] = _weighted_pvalues(y[valid], v[valid], m[valid], w_max[valid], alt)
    return out


def weighted_poisson_test(
    credit_sum: float,
    credit_sumsq: float,
    expected: float,
    alternative: str = "greater",
    *,
    credit_max: float = 1.0,
    conf_level: float = 0.95,
) -> WeightedPoissonTestResult:
    """Test a sum of fractional credits Y = sum(w_i) against its expected value.

    Each fan i is one Poisson event carrying a credit 0 <= w_i <= credit_max <= 1 for the content
    type; Y is then a weighted sum of Poisson counts, whose variance is estimated by
    v = sum(w_i^2). The gamma method of Fay & Feuer (1997), used for directly standardised rates,
    approximates Y by gamma distributions matching its mean and variance:

    - greater: p = P(G_L <= m), G_L ~ Gamma(shape = y^2 / v, scale = v / y);
    - less: p = P(G_U >= m), G_U ~ Gamma(shape = (y + wM)^2 / (v + wM^2), scale = (v + wM^2) / (y + wM));
    - two-sided: min(1, 2 * min(p_greater, p_less)) (the central rule);

    with m = expected and wM = credit_max. The interval of y / m takes the matching gamma
    quantiles. When every credit is whole (v == y) the result *is* :func:`poisson_test` (all
    three alternatives, R's two-sided rule included), so the method only departs from the exact
    Poisson test when credits are fractional. Fay & Feuer show the interval is conservative.
    """
    alt = normalize_alternative(alternative)
    conf = _check_conf_level(conf_level)
    y, v, m, w_max, _ = _weighted_arrays(credit_sum, credit_sumsq, expected, credit_max, "raise")
    y, v, m, w_max = (a.reshape(1) for a in (y, v, m, w_max))
    whole = bool(_whole_credits(y, v)[0])
    if whole:
        exact = poisson_test(round(float(y[0])), float(m[0]), alt, conf_level=conf)
        pvalue, low, high = exact.pvalue, exact.ci_low, exact.ci_high
        method = "exact poisson"
    else:
        pvalue = float(_weighted_pvalues(y, v, m, w_max, alt)[0])
        lo_a, hi_a = _fay_feuer_ci(y, v, w_max, m, alt, conf)
        low, high = float(lo_a[0]), float(hi_a[0])
        method = "fay-feuer gamma"
    y0, v0 = float(y[0]), float(v[0])
    return WeightedPoissonTestResult(
        credited=y0,
        credit_sumsq=v0,
        credit_max=float(w_max[0]),
        expected=float(m[0]),
        alternative=alt,
        pvalue=pvalue,
        rate_ratio=y0 / float(m[0]),
        ci_low=low,
        ci_high=high,
        conf_level=conf,
        effective_n=(y0 * y0 / v0) if v0 > 0 else 0.0,
        method=method,
    )


def credited_count_test(
    credits: ArrayLike,
    expected: float,
    alternative: str = "greater",
    *,
    conf_level: float = 0.95,
) -> WeightedPoissonTestResult:
    """Test the credited subscribers of one content type (per-fan credits in [0, 1]) against expected.

    ``credits`` holds one credit per fan (fans with zero credit may be included or left out).
    This is :func:`weighted_poisson_test` with y = sum(credits), v = sum(credits^2) and wM = 1
    (the largest credit one fan can carry). With whole credits it equals :func:`poisson_test`.
    """
    w = _as_float_array(credits, "credits").ravel()
    if w.size and (~np.isfinite(w)).any():
        raise ValueError("credits must be finite numbers")
    if w.size and ((w < 0) | (w > 1)).any():
        bad = w[(w < 0) | (w > 1)][0]
        raise ValueError(f"credits must lie in [0, 1] (a share of one fan), got {bad!r}")
    return weighted_poisson_test(
        float(w.sum()), float(np.square(w).sum()), expected, alternative, conf_level=conf_level
    )
