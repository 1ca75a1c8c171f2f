"""A/B experiment statistics (issue 5, point 8): pure functions over counts and summary statistics.

- :func:`proportion_test`: pooled two-proportion z-test (= statsmodels ``proportions_ztest``,
  R ``prop.test(correct = FALSE)``) with an unpooled Wald interval of the difference.
- :func:`mean_test`: Welch's t-test from summary statistics (= scipy ``ttest_ind_from_stats``).
- :func:`srm_test`: chi-square goodness of fit of the traffic split (sample ratio mismatch).
- :func:`holm`, :func:`benjamini_hochberg`: adjusted p-values (= statsmodels ``multipletests``).
- :func:`cuped_adjust`, :func:`cuped_mean_test`: CUPED variance reduction (Deng et al. 2013).
- :func:`chance_to_win`: exact Bayesian probability that each variant has the highest rate.
- :func:`evaluate_ab_test`: one row per variant x metric for ``fct_ab_test_results``.

``docs/methodology.md`` ("A/B test statistics") documents the formulas and the winner rules.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special, stats

METRICS: tuple[str, ...] = ("conversion_rate", "revenue_per_visitor")
CORRECTIONS: tuple[str, ...] = ("holm", "bh", "none")
DEFAULT_SRM_ALPHA = 0.001


# ---------------------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------------------


def _check_alpha(alpha: float, name: str = "alpha") -> float:
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number in (0, 1), got {alpha!r}") from None
    if not (0.0 < a < 1.0):
        raise ValueError(f"{name} must be strictly between 0 and 1, got {alpha!r}")
    return a


def _check_int(value: object, name: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be an integer count, got a boolean")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an integer count, got {value!r}") from None
    if not math.isfinite(number) or number != math.floor(number):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if number < minimum:
        qualifier = "positive" if minimum == 1 else f">= {minimum}"
        raise ValueError(f"{name} must be {qualifier}, got {value!r}")
    return int(number)


def _check_finite(value: object, name: str, *, non_negative: bool = False) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if non_negative and number < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return number


def _relative_lift(treatment: float, control: float) -> float:
    """(treatment - control) / control; NaN when the control value is 0 (no relative change exists)."""
    if control == 0:
        return math.nan
    return (treatment - control) / control


# ---------------------------------------------------------------------------------------
# Two proportions
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProportionTestResult:
    """Pooled two-proportion z-test of treatment vs control, with a Wald interval of the difference."""

    control_n: int
    control_conversions: int
    treatment_n: int
    treatment_conversions: int
    control_rate: float
    treatment_rate: float
    difference: float
    z: float
    pvalue: float
    ci_low: float
    ci_high: float
    lift: float
    alpha: float
    significant: bool

    @property
    def lift_pct(self) -> float:
        """The relative lift in percent (NaN when the control rate is 0)."""
        return self.lift * 100.0


def proportion_test(
    control_n: int,
    control_conversions: int,
    treatment_n: int,
    treatment_conversions: int,
    alpha: float = 0.05,
) -> ProportionTestResult:
    """Two-sided pooled two-proportion z-test; unpooled Wald interval of p_t - p_c.

    p_c = x_c / n_c, p_t = x_t / n_t, pooled p = (x_c + x_t) / (n_c + n_t);
    z = (p_t - p_c) / sqrt(p (1 - p) (1/n_c + 1/n_t)), p-value = 2 * (1 - Phi(|z|)),
    the same as statsmodels ``proportions_ztest([x_t, x_c], [n_t, n_c])`` and R
    ``prop.test(c(x_t, x_c), c(n_t, n_c), correct = FALSE)``. When the pooled variance is 0
    (both arms convert none or all of their visitors) the rates are equal: z = 0 and p = 1.

    Interval: (p_t - p_c) +/- z_{1 - alpha/2} * sqrt(p_t (1 - p_t) / n_t + p_c (1 - p_c) / n_c)
    (statsmodels ``confint_proportions_2indep(method="wald", compare="diff")``).
    lift = (p_t - p_c) / p_c, NaN when p_c = 0. significant = p-value < alpha.
    """
    a = _check_alpha(alpha)
    n_c = _check_int(control_n, "control_n", minimum=1)
    x_c = _check_int(control_conversions, "control_conversions")
    n_t = _check_int(treatment_n, "treatment_n", minimum=1)
    x_t = _check_int(treatment_conversions, "treatment_conversions")
    if x_c > n_c:
        raise ValueError(f"control_conversions ({x_c}) cannot exceed control_n ({n_c})")
    if x_t > n_t:
        raise ValueError(f"treatment_conversions ({x_t}) cannot exceed treatment_n ({n_t})")
    p_c, p_t = x_c / n_c, x_t / n_t
    diff = p_t - p_c
    pooled = (x_c + x_t) / (n_c + n_t)
    se_pooled = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n_c + 1.0 / n_t))
    if se_pooled > 0:
        z = diff / se_pooled
        pvalue = float(2.0 * stats.norm.sf(abs(z)))
    else:
        z, pvalue = 0.0, 1.0
    se_unpooled = math.sqrt(p_t * (1.0 - p_t) / n_t + p_c * (1.0 - p_c) / n_c)
    half = float(stats.norm.isf(a / 2.0)) * se_unpooled
    return ProportionTestResult(
        control_n=n_c,
        control_conversions=x_c,
        treatment_n=n_t,
        treatment_conversions=x_t,
        control_rate=p_c,
        treatment_rate=p_t,
        difference=diff,
        z=z,
        pvalue=pvalue,
        ci_low=diff - half,
        ci_high=diff + half,
        lift=_relative_lift(p_t, p_c),
        alpha=a,
        significant=pvalue < a,
    )


# ---------------------------------------------------------------------------------------
# Two means (Welch)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeanTestResult:
    """Welch's t-test of treatment vs control from summary statistics."""

    control_n: int
    control_mean: float
    control_std: float
    treatment_n: int
    treatment_mean: float
    treatment_std: float
    difference: float
    se: float
    t: float
    df: float
    pvalue: float
    ci_low: float
    ci_high: float
    lift: float
    alpha: float
    significant: bool

    @property
    def lift_pct(self) -> float:
        """The relative lift in percent (NaN when the control mean is 0)."""
        return self.lift * 100.0


def mean_test(
    control_n: int,
    control_mean: float,
    control_std: float,
    treatment_n: int,
    treatment_mean: float,
    treatment_std: float,
    alpha: float = 0.05,
) -> MeanTestResult:
    """Welch's two-sided t-test on summary statistics (sample standard deviations, ddof = 1).

    d = m_t - m_c, se = sqrt(s_t^2 / n_t + s_c^2 / n_c), t = d / se, and the Welch-Satterthwaite
    df = se^4 / ((s_t^2/n_t)^2 / (n_t - 1) + (s_c^2/n_c)^2 / (n_c - 1)); p = 2 * P(T_df > |t|),
    the same as ``scipy.stats.ttest_ind_from_stats(..., equal_var=False)``. Interval:
    d +/- t_{1 - alpha/2, df} * se. lift = d / m_c (NaN when m_c = 0).

    When both standard deviations are 0 the test is degenerate: p = 1 if the means are equal,
    else p = 0 (the difference is certain), and the interval is [d, d].
    """
    a = _check_alpha(alpha)
    n_c = _check_int(control_n, "control_n", minimum=2)
    n_t = _check_int(treatment_n, "treatment_n", minimum=2)
    m_c = _check_finite(control_mean, "control_mean")
    m_t = _check_finite(treatment_mean, "treatment_mean")
    s_c = _check_finite(control_std, "control_std", non_negative=True)
    s_t = _check_finite(treatment_std, "treatment_std", non_negative=True)
    v_c, v_t = s_c * s_c / n_c, s_t * s_t / n_t
    diff = m_t - m_c
    se = math.sqrt(v_c + v_t)
    if se > 0:
        df = (v_c + v_t) ** 2 / (v_c**2 / (n_c - 1) + v_t**2 / (n_t - 1))
        t = diff / se
        pvalue = float(2.0 * stats.t.sf(abs(t), df))
        half = float(stats.t.isf(a / 2.0, df)) * se
    else:
        df = float(n_c + n_t - 2)
        t = 0.0 if diff == 0 else math.copysign(math.inf, diff)
        pvalue = 1.0 if diff == 0 else 0.0
        half = 0.0
    return MeanTestResult(
        control_n=n_c,
        control_mean=m_c,
        control_std=s_c,
        treatment_n=n_t,
        treatment_mean=m_t,
        treatment_std=s_t,
        difference=diff,
        se=se,
        t=t,
        df=df,
        pvalue=pvalue,
        ci_low=diff - half,
        ci_high=diff + half,
        lift=_relative_lift(m_t, m_c),
        alpha=a,
        significant=pvalue < a,
    )


# ---------------------------------------------------------------------------------------
# Sample ratio mismatch
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SrmResult:
    """Chi-square goodness-of-fit test of the observed traffic split against the configured one."""

    observed: tuple[int, ...]
    expected: tuple[float, ...]
    chi2: float
    df: int
    pvalue: float
    alpha: float
    flagged: bool


def srm_test(
    observed_counts: Sequence[int] | ArrayLike,
    expected_weights: Sequence[float] | ArrayLike,
    *,
    alpha: float = DEFAULT_SRM_ALPHA,
) -> SrmResult:
    """Sample-ratio-mismatch test: chi2 = sum (O_i - E_i)^2 / E_i with E_i = N * w_i / sum(w).

    df = k - 1; p = P(chi2_df > chi2), equal to ``scipy.stats.chisquare(O, E)``. ``flagged`` is
    p < alpha (default 0.001, the usual SRM threshold). A flagged test never declares a winner.
    """
    a = _check_alpha(alpha, "alpha")
    obs = np.asarray(observed_counts, dtype=float).ravel()
    w = np.asarray(expected_weights, dtype=float).ravel()
    if obs.size != w.size:
        raise ValueError(f"observed_counts has {obs.size} groups but expected_weights has {w.size}")
    if obs.size < 2:
        raise ValueError("srm_test needs at least two groups")
    if (~np.isfinite(obs)).any() or (obs < 0).any() or (obs != np.floor(obs)).any():
        raise ValueError(f"observed_counts must be non-negative whole numbers, got {obs.tolist()}")
    if (~np.isfinite(w)).any() or (w <= 0).any():
        raise ValueError(f"expected_weights must be positive finite numbers, got {w.tolist()}")
    total = obs.sum()
    if total <= 0:
        raise ValueError("srm_test needs at least one observation (all counts are 0)")
    expected = total * w / w.sum()
    chi2 = float(np.sum((obs - expected) ** 2 / expected))
    df = obs.size - 1
    pvalue = float(stats.chi2.sf(chi2, df))
    return SrmResult(
        observed=tuple(int(v) for v in obs),
        expected=tuple(float(v) for v in expected),
        chi2=chi2,
        df=df,
        pvalue=pvalue,
        alpha=a,
        flagged=pvalue < a,
    )


# ---------------------------------------------------------------------------------------
# Multiple comparisons
# ---------------------------------------------------------------------------------------


def _pvalue_array(pvalues: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pvalues, dtype=float)
    finite = ~np.isnan(p)
    if (finite & ((p < 0) | (p > 1))).any():
        raise ValueError(f"p-values must lie in [0, 1] (NaN allowed), got {p[finite & ((p < 0) | (p > 1))][:5]}")
    return p, finite


def holm(pvalues: ArrayLike) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values (= statsmodels ``multipletests(method="holm")``).

    With the m non-NaN p-values sorted ascending, p_(1) <= ... <= p_(m):
    adj_(i) = min(1, max_{j <= i} (m - j + 1) p_(j)). NaN entries stay NaN and do not count in m.
    """
    p, finite = _pvalue_array(pvalues)
    out = np.full(p.shape, np.nan)
    values = p[finite]
    m = values.size
    if m == 0:
        return out
    order = np.argsort(values, kind="stable")
    scaled = (m - np.arange(m)) * values[order]
    adjusted = np.minimum(1.0, np.maximum.accumulate(scaled))
    result = np.empty(m)
    result[order] = adjusted
    out[finite] = result
    return out


def benjamini_hochberg(pvalues: ArrayLike) -> np.ndarray:
    """Benjamini-Hochberg (1995) FDR-adjusted p-values (= statsmodels ``multipletests(method="fdr_bh")``).

    With the m non-NaN p-values sorted ascending: adj_(i) = min(1, min_{j >= i} m p_(j) / j).
    NaN entries stay NaN and do not count in m.
    """
    p, finite = _pvalue_array(pvalues)
    out = np.full(p.shape, np.nan)
    values = p[finite]
    m = values.size
    if m == 0:
        return out
    order = np.argsort(values, kind="stable")
    scaled = values[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    result = np.empty(m)
    result[order] = adjusted
    out[finite] = result
    return out


def adjust_pvalues(pvalues: ArrayLike, correction: str = "holm") -> np.ndarray:
    """Adjust p-values with ``correction`` in {"holm", "bh", "none"} ("fdr_bh" is an alias of "bh")."""
    key = {"fdr_bh": "bh", "benjamini_hochberg": "bh", "benjamini-hochberg": "bh"}.get(correction, correction)
    if key == "holm":
        return holm(pvalues)
    if key == "bh":
        return benjamini_hochberg(pvalues)
    if key == "none":
        p, _ = _pvalue_array(pvalues)
        return p.copy()
    raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}; got {correction!r}")


# ---------------------------------------------------------------------------------------
# CUPED
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CupedAdjustment:
    """CUPED-adjusted values y - theta (x - mean(x)), the theta used and the covariate mean."""

    adjusted: np.ndarray
    theta: float
    covariate_mean: float


def _finite_vector(values: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    if (~np.isfinite(arr)).any():
        raise ValueError(f"{name} must hold finite numbers only (found NaN or infinity)")
    return arr


def cuped_theta(y: ArrayLike, x: ArrayLike) -> float:
    """theta = cov(y, x) / var(x) (Deng et al. 2013); 0 when the covariate is constant."""
    ya, xa = _finite_vector(y, "y"), _finite_vector(x, "x")
    if ya.size != xa.size:
        raise ValueError(f"y and x must have the same length, got {ya.size} and {xa.size}")
    if ya.size < 2:
        raise ValueError("CUPED needs at least two units")
    xc = xa - xa.mean()
    var_x = float(np.dot(xc, xc))
    if var_x == 0:
        return 0.0
    return float(np.dot(ya - ya.mean(), xc) / var_x)


def cuped_adjust(y: ArrayLike, x: ArrayLike, *, theta: float | None = None) -> CupedAdjustment:
    """CUPED (Deng, Xu, Kohavi & Walker 2013): y_cv = y - theta * (x - mean(x)).

    ``x`` is the pre-period covariate of each unit (e.g. revenue per visitor before the test),
    ``y`` the in-test metric. theta = cov(y, x) / var(x) estimated on the arrays given, which
    should be *all variants pooled* so every variant is adjusted with the same theta; pass
    ``theta`` to reuse one. The adjusted mean keeps its expectation and its variance falls by
    the factor 1 - corr(y, x)^2.
    """
    ya, xa = _finite_vector(y, "y"), _finite_vector(x, "x")
    if ya.size != xa.size:
        raise ValueError(f"y and x must have the same length, got {ya.size} and {xa.size}")
    th = cuped_theta(ya, xa) if theta is None else _check_finite(theta, "theta")
    x_mean = float(xa.mean()) if xa.size else 0.0
    return CupedAdjustment(adjusted=ya - th * (xa - x_mean), theta=th, covariate_mean=x_mean)


@dataclass(frozen=True)
class CupedMeanTestResult:
    """Welch test on CUPED-adjusted values, with the unadjusted test for comparison."""

    theta: float
    variance_reduction: float
    adjusted: MeanTestResult
    unadjusted: MeanTestResult

    @property
    def pvalue(self) -> float:
        return self.adjusted.pvalue

    @property
    def ci_low(self) -> float:
        return self.adjusted.ci_low

    @property
    def ci_high(self) -> float:
        return self.adjusted.ci_high

    @property
    def lift(self) -> float:
        return self.adjusted.lift

    @property
    def significant(self) -> bool:
        return self.adjusted.significant


def cuped_mean_test(
    control_y: ArrayLike,
    control_x: ArrayLike,
    treatment_y: ArrayLike,
    treatment_x: ArrayLike,
    alpha: float = 0.05,
) -> CupedMeanTestResult:
    """Welch's t-test of treatment vs control on CUPED-adjusted per-unit values.

    theta is estimated once on both arms pooled, both arms are adjusted with it around the
    pooled covariate mean, and :func:`mean_test` runs on the adjusted means and standard
    deviations. ``variance_reduction`` = 1 - var(y_cv) / var(y) over the pooled units.
    """
    cy, cx = _finite_vector(control_y, "control_y"), _finite_vector(control_x, "control_x")
    ty, tx = _finite_vector(treatment_y, "treatment_y"), _finite_vector(treatment_x, "treatment_x")
    if cy.size != cx.size or ty.size != tx.size:
        raise ValueError("each arm needs one covariate value per unit (y and x of equal length)")
    y = np.concatenate([cy, ty])
    x = np.concatenate([cx, tx])
    adj = cuped_adjust(y, x)
    c_adj, t_adj = adj.adjusted[: cy.size], adj.adjusted[cy.size :]
    var_y = float(np.var(y, ddof=1)) if y.size > 1 else math.nan
    reduction = 1.0 - float(np.var(adj.adjusted, ddof=1)) / var_y if var_y > 0 else 0.0
    adjusted = mean_test(
        c_adj.size, float(c_adj.mean()), _sd(c_adj), t_adj.size, float(t_adj.mean()), _sd(t_adj), alpha
    )
    unadjusted = mean_test(cy.size, float(cy.mean()), _sd(cy), ty.size, float(ty.mean()), _sd(ty), alpha)
    return CupedMeanTestResult(
        theta=adj.theta, variance_reduction=reduction, adjusted=adjusted, unadjusted=unadjusted
    )


def _sd(values: np.ndarray) -> float:
    if values.size < 2:
        raise ValueError("each arm needs at least two units for a standard deviation")
    return float(np.std(values, ddof=1))


# ---------------------------------------------------------------------------------------
# Bayesian chance to win
# ---------------------------------------------------------------------------------------

_CLOSED_FORM_MAX_TERMS = 2_000_000
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(32)
_BREAK_QUANTILES = np.array(
    [1e-15, 1e-12, 1e-9, 1e-7, 1e-5, 1e-4, 1e-3, 0.005, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5,
     0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.995, 0.999, 1 - 1e-4, 1 - 1e-5, 1 - 1e-7, 1 - 1e-9,
     1 - 1e-12, 1 - 1e-15]
)


def _beta_params(conversions: Sequence[int] | ArrayLike, visitors: Sequence[int] | ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    conv = np.asarray(conversions, dtype=float).ravel()
    vis = np.asarray(visitors, dtype=float).ravel()
    if conv.size != vis.size:
        raise ValueError(f"conversions has {conv.size} variants but visitors has {vis.size}")
    if conv.size == 0:
        raise ValueError("chance_to_win needs at least one variant")
    for arr, name in ((conv, "conversions"), (vis, "visitors")):
        if (~np.isfinite(arr)).any() or (arr < 0).any() or (arr != np.floor(arr)).any():
            raise ValueError(f"{name} must be non-negative whole numbers, got {arr.tolist()}")
    if (conv > vis).any():
        i = int(np.flatnonzero(conv > vis)[0])
        raise ValueError(f"variant {i}: conversions ({conv[i]:.0f}) exceed visitors ({vis[i]:.0f})")
    return 1.0 + conv, 1.0 + vis - conv


def prob_b_beats_a(
    a_conversions: int, a_visitors: int, b_conversions: int, b_visitors: int
) -> float:
    """P(p_B > p_A) under independent Beta(1 + conv, 1 + visitors - conv) posteriors, exactly.

    Evan Miller's closed form, with alpha = 1 + conversions and beta = 1 + visitors - conversions:
    P(p_B > p_A) = sum_{i=0}^{alpha_B - 1} B(alpha_A + i, beta_A + beta_B)
                   / ((beta_B + i) B(1 + i, beta_B) B(alpha_A, beta_A)),
    summed in log space (``betaln`` + log-sum-exp) so large counts neither overflow nor underflow.
    The sum runs over the smaller of alpha_A and alpha_B (using P(B > A) = 1 - P(A > B)); past
    2,000,000 terms it falls back to numerical integration (accurate to ~1e-10).
    """
    a, b = _beta_params([a_conversions, b_conversions], [a_visitors, b_visitors])
    return _prob_b_beats_a(a[0], b[0], a[1], b[1])


def _miller_sum(alpha_a: float, beta_a: float, alpha_b: float, beta_b: float) -> float:
    i = np.arange(int(alpha_b), dtype=float)
    log_terms = (
        special.betaln(alpha_a + i, beta_a + beta_b)
        - np.log(beta_b + i)
        - special.betaln(1.0 + i, beta_b)
        - special.betaln(alpha_a, beta_a)
    )
    return float(np.exp(special.logsumexp(log_terms)))


def _prob_b_beats_a(alpha_a: float, beta_a: float, alpha_b: float, beta_b: float) -> float:
    if min(alpha_a, alpha_b) > _CLOSED_FORM_MAX_TERMS:
        return float(_prob_best_integrated(np.array([alpha_a, alpha_b]), np.array([beta_a, beta_b]))[1])
    if alpha_b <= alpha_a:
        value = _miller_sum(alpha_a, beta_a, alpha_b, beta_b)
    else:
        value = 1.0 - _miller_sum(alpha_b, beta_b, alpha_a, beta_a)
    return min(1.0, max(0.0, value))


def _prob_best_integrated(alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """P(variant i has the highest rate) = integral of f_i(x) * prod_{j != i} F_j(x) dx.

    Composite Gauss-Legendre (32 nodes a panel) over [q_i(1e-15), q_i(1 - 1e-15)], the region
    holding all but 2e-15 of f_i's mass, with panel edges at quantiles of *every* posterior so
    that each F_j's rise from 0 to 1 is resolved however narrow it is.
    """
    k = alpha.size
    quantiles = special.betaincinv(alpha[:, None], beta[:, None], _BREAK_QUANTILES[None, :])
    all_points = np.unique(quantiles.ravel())
    out = np.empty(k)
    for i in range(k):
        lo, hi = quantiles[i, 0], quantiles[i, -1]
        edges = np.unique(np.concatenate([[lo, hi], all_points[(all_points > lo) & (all_points < hi)]]))
        if edges.size < 2 or hi <= lo:
            out[i] = 0.0 if k > 1 else 1.0
            continue
        left, right = edges[:-1, None], edges[1:, None]
        half = (right - left) / 2.0
        x = (left + right) / 2.0 + half * _GL_NODES[None, :]
        log_integrand = stats.beta.logpdf(x, alpha[i], beta[i])
        with np.errstate(divide="ignore"):  # log(0) = -inf where another variant surely wins
            for j in range(k):
                if j != i:
                    log_integrand = log_integrand + np.log(special.betainc(alpha[j], beta[j], x))
        out[i] = float(np.sum(half * _GL_WEIGHTS[None, :] * np.exp(log_integrand)))
    return np.clip(out, 0.0, 1.0)


def chance_to_win(conversions: Sequence[int] | ArrayLike, visitors: Sequence[int] | ArrayLike) -> np.ndarray:
    """Probability that each variant has the highest conversion rate (Bayesian, computed, not sampled).

    Posteriors: p_i ~ Beta(1 + conversions_i, 1 + visitors_i - conversions_i) (uniform prior).
    Two variants use Evan Miller's exact closed form (:func:`prob_b_beats_a`); more variants use
    P(i best) = integral_0^1 f_i(x) prod_{j != i} F_j(x) dx by composite Gauss-Legendre
    quadrature (error below 1e-7; the tests check it against the closed form and Monte Carlo). A variant
    with no visitors has the uniform prior as its posterior. The values sum to 1.
    """
    alpha, beta = _beta_params(conversions, visitors)
    if alpha.size == 1:
        return np.array([1.0])
    if alpha.size == 2:
        p_second = _prob_b_beats_a(alpha[0], beta[0], alpha[1], beta[1])
        return np.array([1.0 - p_second, p_second])
    return _prob_best_integrated(alpha, beta)


# ---------------------------------------------------------------------------------------
# The whole A/B test: one row per variant x metric
# ---------------------------------------------------------------------------------------

RESULT_COLUMNS: tuple[str, ...] = (
    "variant_id",
    "is_control",
    "metric",
    "visitors",
    "conversions",
    "conversion_rate",
    "revenue",
    "revenue_per_visitor",
    "value",
    "control_value",
    "difference",
    "improvement_pct",
    "ci_low",
    "ci_high",
    "pvalue",
    "pvalue_adjusted",
    "chance_to_win",
    "significant",
    "srm_pvalue",
    "srm_flagged",
    "is_winner",
    "winner_variant_id",
    "cuped_applied",
    "method",
    "alpha",
    "correction",
    "note",
)

_REQUIRED = ("variant_id", "is_control", "traffic_split", "visitors", "conversions", "revenue_sum")
_CUPED_COLUMNS = ("covariate_sum", "covariate_sumsq", "revenue_covariate_sum")


def _normalize_correction(correction: str) -> str:
    key = {"fdr_bh": "bh", "benjamini_hochberg": "bh", "benjamini-hochberg": "bh"}.get(correction, correction)
    if key not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}; got {correction!r}")
    return key


def _validate_variants(frame: pd.DataFrame, test_label: str) -> None:
    if frame["variant_id"].isna().any():
        raise ValueError(f"{test_label}: variant_id has empty values")
    if frame["variant_id"].duplicated().any():
        dups = sorted(frame.loc[frame["variant_id"].duplicated(), "variant_id"].astype(str).unique())
        raise ValueError(f"{test_label}: duplicate variant_id(s) {dups}")
    flags = frame["is_control"]
    if flags.isna().any() or not flags.map(lambda v: isinstance(v, bool | np.bool_) or v in (0, 1)).all():
        raise ValueError(f"{test_label}: is_control must be true/false for every variant, got {flags.tolist()}")
    controls = int(flags.astype(bool).sum())
    if controls != 1:
        raise ValueError(f"{test_label}: exactly one variant must have is_control = true, found {controls}")
    if len(frame) < 2:
        raise ValueError(f"{test_label}: an A/B test needs a control and at least one treatment")
    for col in ("visitors", "conversions"):
        values = pd.to_numeric(frame[col], errors="coerce")
        if values.isna().any() or (values < 0).any() or (values != np.floor(values)).any():
            raise ValueError(f"{test_label}: {col} must be non-negative whole numbers, got {frame[col].tolist()}")
    if (frame["conversions"] > frame["visitors"]).any():
        bad = frame.loc[frame["conversions"] > frame["visitors"], "variant_id"].tolist()
        raise ValueError(f"{test_label}: conversions exceed visitors for variant(s) {bad}")
    split = pd.to_numeric(frame["traffic_split"], errors="coerce")
    if split.isna().any() or (split <= 0).any():
        raise ValueError(f"{test_label}: traffic_split must be positive numbers, got {frame['traffic_split'].tolist()}")
    if not np.isfinite(pd.to_numeric(frame["revenue_sum"], errors="coerce")).all():
        raise ValueError(f"{test_label}: revenue_sum must be finite numbers")


def _revenue_moments(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per-variant revenue per visitor (mean) and its sample variance (ddof = 1; NaN when n < 2)."""
    n = frame["visitors"].to_numpy(dtype=float)
    total = frame["revenue_sum"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, total / n, np.nan)
        if "revenue_sumsq" in frame.columns and frame["revenue_sumsq"].notna().all():
            sumsq = frame["revenue_sumsq"].to_numpy(dtype=float)
            var = np.where(n > 1, (sumsq - n * mean * mean) / (n - 1), np.nan)
            var = np.where(np.isfinite(var), np.maximum(var, 0.0), np.nan)
        else:
            std = frame["revenue_std"].to_numpy(dtype=float)
            var = np.where(n > 1, std * std, np.nan)
    return mean, var


def _cuped_moments(
    frame: pd.DataFrame, mean: np.ndarray, var: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """CUPED-adjusted per-variant means and variances from sums (theta pooled over all variants).

    With per-variant n, Sy, Syy, Sx, Sxx, Sxy: theta = cov_pooled(y, x) / var_pooled(x),
    mean_cv = mean_y - theta (mean_x - pooled mean_x),
    var_cv = var_y - 2 theta cov_v(y, x) + theta^2 var_v(x), the same as adjusting every unit.
    """
    n = frame["visitors"].to_numpy(dtype=float)
    sy = frame["revenue_sum"].to_numpy(dtype=float)
    sx = frame["covariate_sum"].to_numpy(dtype=float)
    sxx = frame["covariate_sumsq"].to_numpy(dtype=float)
    sxy = frame["revenue_covariate_sum"].to_numpy(dtype=float)
    big_n = n.sum()
    cov_pooled = (sxy.sum() - sx.sum() * sy.sum() / big_n) / (big_n - 1)
    var_x_pooled = (sxx.sum() - sx.sum() ** 2 / big_n) / (big_n - 1)
    theta = float(cov_pooled / var_x_pooled) if var_x_pooled > 0 else 0.0
    x_bar = sx.sum() / big_n
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_x = sx / n
        var_x = (sxx - n * mean_x**2) / (n - 1)
        cov_yx = (sxy - n * mean_x * mean) / (n - 1)
    adj_mean = mean - theta * (mean_x - x_bar)
    adj_var = np.maximum(var - 2 * theta * cov_yx + theta**2 * var_x, 0.0)
    return adj_mean, adj_var, theta


def _evaluate_one(
    frame: pd.DataFrame, *, alpha: float, correction: str, srm_alpha: float, test_label: str
) -> pd.DataFrame:
    _validate_variants(frame, test_label)
    frame = frame.reset_index(drop=True)
    is_control = frame["is_control"].astype(bool).to_numpy()
    ci = int(np.flatnonzero(is_control)[0])
    variant_ids = frame["variant_id"].tolist()
    visitors = frame["visitors"].to_numpy(dtype=np.int64)
    conversions = frame["conversions"].to_numpy(dtype=np.int64)
    revenue = frame["revenue_sum"].to_numpy(dtype=float)
    k = len(frame)
    notes: list[list[str]] = [[] for _ in range(k)]
    test_notes: list[str] = []

    # Sample ratio mismatch on visitors against the configured split.
    if visitors.sum() > 0:
        srm = srm_test(visitors, frame["traffic_split"].to_numpy(dtype=float), alpha=srm_alpha)
        srm_p, srm_flag = srm.pvalue, srm.flagged
        if srm_flag:
            test_notes.append(f"sample ratio mismatch (p = {srm_p:.2g} < {srm_alpha:g}): no winner declared")
    else:
        srm_p, srm_flag = math.nan, False
        test_notes.append("no visitors yet")

    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(visitors > 0, conversions / visitors, np.nan)
    rpv, rpv_var = _revenue_moments(frame)
    cuped = all(c in frame.columns for c in _CUPED_COLUMNS) and frame[list(_CUPED_COLUMNS)].notna().all().all()
    if cuped and visitors.sum() > 1 and (visitors > 1).all():
        test_mean, test_var, theta = _cuped_moments(frame, rpv, rpv_var)
        revenue_method = f"Welch t-test (CUPED, theta={theta:.4g})"
    else:
        cuped = False
        test_mean, test_var = rpv, rpv_var
        revenue_method = "Welch t-test"

    rows: list[dict[str, object]] = []
    raw_p: list[float] = []
    for metric in METRICS:
        for i in range(k):
            row: dict[str, object] = {
                "variant_id": variant_ids[i],
                "is_control": bool(is_control[i]),
                "metric": metric,
                "visitors": int(visitors[i]),
                "conversions": int(conversions[i]),
                "conversion_rate": float(rate[i]),
                "revenue": float(revenue[i]),
                "revenue_per_visitor": float(rpv[i]),
                "difference": math.nan,
                "improvement_pct": math.nan,
                "ci_low": math.nan,
                "ci_high": math.nan,
                "pvalue": math.nan,
                "cuped_applied": bool(cuped and metric == "revenue_per_visitor"),
                "method": "pooled two-proportion z-test" if metric == "conversion_rate" else revenue_method,
            }
            row["value"] = row["conversion_rate"] if metric == "conversion_rate" else row["revenue_per_visitor"]
            row["control_value"] = float(rate[ci]) if metric == "conversion_rate" else float(rpv[ci])
            if i != ci:
                if metric == "conversion_rate":
                    if visitors[i] > 0 and visitors[ci] > 0:
                        res = proportion_test(visitors[ci], conversions[ci], visitors[i], conversions[i], alpha)
                        row.update(
                            difference=res.difference, improvement_pct=res.lift_pct, ci_low=res.ci_low,
                            ci_high=res.ci_high, pvalue=res.pvalue,
                        )
                    else:
                        notes[i].append("conversion test needs visitors in both this variant and control")
                elif visitors[i] > 1 and visitors[ci] > 1 and np.isfinite(test_var[[i, ci]]).all():
                    res_m = mean_test(
                        visitors[ci], test_mean[ci], math.sqrt(test_var[ci]),
                        visitors[i], test_mean[i], math.sqrt(test_var[i]), alpha,
                    )
                    row.update(
                        difference=res_m.difference, improvement_pct=res_m.lift_pct, ci_low=res_m.ci_low,
                        ci_high=res_m.ci_high, pvalue=res_m.pvalue,
                    )
                else:
                    notes[i].append("revenue test needs at least 2 visitors in this variant and control")
                raw_p.append(float(row["pvalue"]))  # type: ignore[arg-type]
            rows.append(row)

    result = pd.DataFrame(rows)
    treatment_rows = ~result["is_control"].to_numpy()
    adjusted = np.full(len(result), np.nan)
    adjusted[treatment_rows] = adjust_pvalues(np.array(raw_p), correction)
    result["pvalue_adjusted"] = adjusted
    result["significant"] = np.nan_to_num(adjusted, nan=1.0) < alpha

    # Bayesian chance to win on the conversion rate (all variants need visitors).
    ctw = np.full(len(result), np.nan)
    if (visitors > 0).all():
        conv_rows = (result["metric"] == "conversion_rate").to_numpy()
        ctw[conv_rows] = chance_to_win(conversions, visitors)
    result["chance_to_win"] = ctw

    # Winner per metric: only when significant after correction and no SRM.
    result["is_winner"] = False
    result["winner_variant_id"] = None
    for metric in METRICS:
        sub = result[result["metric"] == metric]
        treat = sub[~sub["is_control"]]
        winner = None
        if not srm_flag:
            better = treat[treat["significant"] & (treat["difference"] > 0)]
            if len(better):
                winner = better.loc[better["difference"].idxmax(), "variant_id"]
            elif len(treat) and bool((treat["significant"] & (treat["difference"] < 0)).all()):
                winner = variant_ids[ci]
        if winner is not None:
            result.loc[sub.index, "winner_variant_id"] = winner
            result.loc[sub.index[sub["variant_id"] == winner], "is_winner"] = True

    result["srm_pvalue"] = srm_p
    result["srm_flagged"] = srm_flag
    result["alpha"] = alpha
    result["correction"] = correction
    variant_pos = {v: i for i, v in enumerate(variant_ids)}
    result["note"] = [
        "; ".join(test_notes + notes[variant_pos[v]]) or None for v in result["variant_id"]
    ]
    return result[list(RESULT_COLUMNS)]


def evaluate_ab_test(
    variants: pd.DataFrame,
    *,
    alpha: float = 0.05,
    correction: Literal["holm", "bh", "none"] | str = "holm",
    srm_alpha: float = DEFAULT_SRM_ALPHA,
) -> pd.DataFrame:
    """Evaluate A/B tests from per-variant aggregates: one output row per variant x metric.

    Input: one row per variant with ``variant_id``, ``is_control`` (exactly one true per test),
    ``traffic_split``, ``visitors``, ``conversions``, ``revenue_sum`` and either
    ``revenue_sumsq`` (sum of squared per-visitor revenue) or ``revenue_std`` (sample std of
    revenue per visitor). Optional: ``ab_test_id`` (several tests are evaluated independently),
    ``alpha`` (a per-test level that overrides the ``alpha`` argument), and for CUPED the
    pre-period covariate sums ``covariate_sum``, ``covariate_sumsq`` and
    ``revenue_covariate_sum`` (sum of covariate x revenue per visitor).

    Output columns (``RESULT_COLUMNS``, prefixed by ``ab_test_id`` when given): per metric
    (``conversion_rate``: pooled z-test; ``revenue_per_visitor``: Welch t-test, CUPED-adjusted
    when the covariate sums are given) the value, the control's value, the difference
    (treatment - control) with its 1 - alpha interval, ``improvement_pct`` (relative, percent),
    the raw p-value, the p-value adjusted over every treatment x metric comparison of the test
    (Holm by default, "bh" or "none"), the chance to win (conversion rate only, NaN for
    revenue), ``significant`` (adjusted p < alpha), the SRM p-value and flag, and the winner.

    Winner rules, per test and metric: none when the SRM test is flagged (p < ``srm_alpha``);
    otherwise the treatment with the largest difference to control (the estimate the test used)
    among those significantly *better* than control after correction; if there is none and every treatment is significantly *worse*,
    the control; otherwise no winner.
    """
    if not isinstance(variants, pd.DataFrame):
        raise TypeError(f"variants must be a pandas DataFrame, got {type(variants).__name__}")
    missing = [c for c in _REQUIRED if c not in variants.columns]
    if "revenue_sumsq" not in variants.columns and "revenue_std" not in variants.columns:
        missing.append("revenue_sumsq or revenue_std")
    if missing:
        raise KeyError(f"evaluate_ab_test: missing column(s) {missing}; have {list(variants.columns)}")
    default_alpha = _check_alpha(alpha)
    corr = _normalize_correction(correction)
    srm_a = _check_alpha(srm_alpha, "srm_alpha")

    def level_for(group: pd.DataFrame, label: str) -> float:
        if "alpha" in group.columns and group["alpha"].notna().any():
            values = group["alpha"].dropna().unique()
            if len(values) > 1:
                raise ValueError(f"{label}: the variants disagree on alpha ({sorted(values)})")
            return _check_alpha(values[0], f"{label} alpha")
        return default_alpha

    if "ab_test_id" not in variants.columns:
        return _evaluate_one(
            variants, alpha=level_for(variants, "A/B test"), correction=corr, srm_alpha=srm_a,
            test_label="A/B test",
        )
    if variants["ab_test_id"].isna().any():
        raise ValueError("ab_test_id has empty values")
    parts = []
    for test_id, group in variants.groupby("ab_test_id", sort=True):
        label = f"A/B test {test_id!r}"
        part = _evaluate_one(
            group, alpha=level_for(group, label), correction=corr, srm_alpha=srm_a, test_label=label
        )
        part.insert(0, "ab_test_id", test_id)
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=["ab_test_id", *RESULT_COLUMNS])
    return pd.concat(parts, ignore_index=True)
