"""Confidence score, level, reasons and tier of a content-type result (issue 3, point 6).

The rules (``docs/methodology.md``, "Confidence score and tiers"):

- The inputs are the number of **subscriber events** behind a result (never the number of
  posts), its lift, its p-value (from :mod:`funnellens.stats`) and the confounders that overlap
  the window or its lag.
- score = S_n^w * S_p^(1 - w) * f^k, a number in [0, 1], where
  S_n = min(1, ln(1 + n) / ln(1 + n_full)) grows with the subscriber events n,
  S_p = clip(log10(p) / log10(p_full), 0, 1) grows as the p-value falls (0 when there is none),
  w = ``events_weight``, f = ``confounder_factor`` and k = the number of confounders.
  Below ``min_events`` the score is capped at ``insufficient_score_cap``.
- level: ``high`` from ``high_score``, ``medium`` from ``medium_score``, else ``low``; with fewer
  than ``min_events`` events the level is ``low``, with fewer than ``confident_min_events`` (or
  any confounder) it is at most ``medium``.
- tier: fewer than ``min_events`` events -> ``insufficient_data``; ``confident`` needs at least
  ``confident_min_events`` events, a significant lift (p < alpha), a score of at least
  ``confident_min_score`` and no confounder; everything else is ``hypothesis``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

TIERS: tuple[str, ...] = ("insufficient_data", "hypothesis", "confident")
LEVELS: tuple[str, ...] = ("low", "medium", "high")


@dataclass(frozen=True)
class ConfidenceThresholds:
    """Configurable thresholds of the confidence score and the tiers (defaults from issue 3).

    Attributes:
        min_events: fewer subscriber events than this is ``insufficient_data`` (default 10).
        confident_min_events: the ``confident`` tier needs at least this many (default 25).
        alpha: a lift is significant when its p-value is below alpha (default 0.05).
        confident_min_score: the ``confident`` tier needs a score of at least this (default 0.7).
        medium_score: the level is at least ``medium`` from this score (default 0.4).
        high_score: the level is ``high`` from this score (default 0.7).
        events_full: n at which the sample-size component S_n reaches 1 (default 100).
        pvalue_full: p-value at which the evidence component S_p reaches 1 (default 0.01).
        events_weight: exponent w of S_n in the weighted geometric mean (default 0.5).
        confounder_factor: the score is multiplied by this once per confounder (default 0.6,
            so a result with a confounder never reaches the ``high`` level).
        insufficient_score_cap: the score's ceiling below ``min_events`` (default 0.3).
    """

    min_events: float = 10
    confident_min_events: float = 25
    alpha: float = 0.05
    confident_min_score: float = 0.7
    medium_score: float = 0.4
    high_score: float = 0.7
    events_full: float = 100
    pvalue_full: float = 0.01
    events_weight: float = 0.5
    confounder_factor: float = 0.6
    insufficient_score_cap: float = 0.3

    def __post_init__(self) -> None:
        problems = []
        if not (0 <= self.min_events <= self.confident_min_events):
            problems.append(
                f"need 0 <= min_events ({self.min_events}) <= confident_min_events ({self.confident_min_events})"
            )
        if not (0 < self.alpha < 1):
            problems.append(f"alpha must be in (0, 1), got {self.alpha}")
        if not (0 <= self.medium_score <= self.high_score <= 1):
            problems.append(
                f"need 0 <= medium_score ({self.medium_score}) <= high_score ({self.high_score}) <= 1"
            )
        if not (0 <= self.confident_min_score <= 1):
            problems.append(f"confident_min_score must be in [0, 1], got {self.confident_min_score}")
        if not (self.events_full > 0):
            problems.append(f"events_full must be > 0, got {self.events_full}")
        if not (0 < self.pvalue_full < 1):
            problems.append(f"pvalue_full must be in (0, 1), got {self.pvalue_full}")
        if not (0 <= self.events_weight <= 1):
            problems.append(f"events_weight must be in [0, 1], got {self.events_weight}")
        if not (0 <= self.confounder_factor <= 1):
            problems.append(f"confounder_factor must be in [0, 1], got {self.confounder_factor}")
        if not (0 <= self.insufficient_score_cap <= 1):
            problems.append(f"insufficient_score_cap must be in [0, 1], got {self.insufficient_score_cap}")
        if problems:
            raise ValueError("invalid ConfidenceThresholds: " + "; ".join(problems))


DEFAULT_THRESHOLDS = ConfidenceThresholds()
DEFAULT = DEFAULT_THRESHOLDS


@dataclass(frozen=True)
class Confidence:
    """The confidence of one result: score in [0, 1], level, tier and plain-word reasons."""

    score: float
    level: str
    tier: str
    significant: bool
    subscribers: float
    lift_pct: float
    pvalue: float
    confounders: tuple[str, ...]
    reasons: tuple[str, ...] = field(default=())

    @property
    def rationale(self) -> str:
        """The reasons joined into one sentence-like string."""
        return "; ".join(self.reasons)


# ---------------------------------------------------------------------------------------
# Vectorised core (used by both the scalar and the frame API, so they cannot disagree)
# ---------------------------------------------------------------------------------------


def _score_arrays(
    n: np.ndarray, p: np.ndarray, k: np.ndarray, t: ConfidenceThresholds
) -> np.ndarray:
    s_n = np.minimum(1.0, np.log1p(np.maximum(n, 0.0)) / math.log1p(t.events_full))
    with np.errstate(divide="ignore", invalid="ignore"):
        s_p = np.where(p > 0, np.log10(np.where(p > 0, p, 1.0)) / math.log10(t.pvalue_full), 1.0)
    s_p = np.where(np.isfinite(p), np.clip(s_p, 0.0, 1.0), 0.0)
    w = t.events_weight
    score = np.power(s_n, w) * np.power(s_p, 1.0 - w) * np.power(t.confounder_factor, k)
    score = np.where(n < t.min_events, np.minimum(score, t.insufficient_score_cap), score)
    return np.clip(score, 0.0, 1.0)


def _significant_arrays(p: np.ndarray, lift: np.ndarray, t: ConfidenceThresholds) -> np.ndarray:
    return np.isfinite(p) & (p < t.alpha) & np.isfinite(lift) & (lift != 0)


def _level_arrays(score: np.ndarray, n: np.ndarray, k: np.ndarray, t: ConfidenceThresholds) -> np.ndarray:
    rank = np.where(score >= t.high_score, 2, np.where(score >= t.medium_score, 1, 0))
    rank = np.where((n < t.confident_min_events) | (k > 0), np.minimum(rank, 1), rank)
    rank = np.where(n < t.min_events, 0, rank)
    return np.asarray(LEVELS, dtype=object)[rank]


def _tier_arrays(
    n: np.ndarray, significant: np.ndarray, score: np.ndarray, k: np.ndarray, t: ConfidenceThresholds
) -> np.ndarray:
    confident = (
        (n >= t.confident_min_events) & significant & (score >= t.confident_min_score) & (k == 0)
    )
    return np.where(n < t.min_events, TIERS[0], np.where(confident, TIERS[2], TIERS[1])).astype(object)


def _fmt_n(n: float) -> str:
    return f"{n:,.0f}" if float(n).is_integer() else f"{n:,.1f}"


def _fmt_p(p: float) -> str:
    return f"{p:.2g}" if p >= 0.0001 else f"{p:.1e}"


def _reasons(
    n: float,
    lift: float,
    p: float,
    significant: bool,
    score: float,
    tier: str,
    confounders: Sequence[str],
    t: ConfidenceThresholds,
) -> tuple[str, ...]:
    out = []
    n_txt = _fmt_n(n)
    if n < t.min_events:
        out.append(
            f"only {n_txt} subscriber events: fewer than {_fmt_n(t.min_events)} is insufficient data"
        )
    elif n < t.confident_min_events:
        out.append(
            f"{n_txt} subscriber events: at most a hypothesis "
            f"(confident needs at least {_fmt_n(t.confident_min_events)})"
        )
    else:
        out.append(f"{n_txt} subscriber events")
    lift_txt = f"lift {lift:+.0f}%" if math.isfinite(lift) else "no lift (no expected baseline)"
    if not math.isfinite(p):
        out.append(f"{lift_txt}, no p-value (nothing to test against)")
    elif significant:
        out.append(f"{lift_txt}, p = {_fmt_p(p)}: significant at alpha {t.alpha:g}")
    else:
        out.append(f"{lift_txt}, p = {_fmt_p(p)}: not significant at alpha {t.alpha:g}")
    out.extend(
        f"confounder: {name} (lowers confidence and blocks the confident tier)" for name in confounders
    )
    if (
        tier != "confident"
        and significant
        and n >= t.confident_min_events
        and not confounders
        and score < t.confident_min_score
    ):
        out.append(f"score {score:.2f} is below the {t.confident_min_score:.2f} that confident needs")
    return tuple(out)


def _check_subscribers(value: object) -> float:
    try:
        n = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"subscribers must be a number of subscriber events, got {value!r}") from None
    if not math.isfinite(n) or n < 0:
        raise ValueError(f"subscribers must be a finite number >= 0, got {value!r}")
    return n


def _check_pvalue(value: object) -> float:
    if value is None:
        return math.nan
    try:
        p = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"pvalue must be a number in [0, 1] or NaN/None, got {value!r}") from None
    if not math.isnan(p) and not (0.0 <= p <= 1.0):
        raise ValueError(f"pvalue must be in [0, 1] (or NaN when there is no test), got {value!r}")
    return p


def _check_lift(value: object) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"lift_pct must be a number (percent) or NaN/None, got {value!r}") from None


def _confounder_names(value: object) -> tuple[str, ...]:
    """Normalise a confounder list: None/NaN -> (); "a; b" -> ("a", "b"); a sequence -> its names."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ()
    if isinstance(value, float) and math.isnan(value):
        return ()
    if isinstance(value, str):
        items: Iterable[object] = value.split(";")
    elif isinstance(value, Iterable):
        items = value
    else:
        raise TypeError(f"confounders must be a sequence of names or a '; '-separated string, got {value!r}")
    names = tuple(str(item).strip() for item in items if item is not None and str(item).strip())
    return names


# ---------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------


def score_confidence(
    subscribers: float,
    lift_pct: float,
    pvalue: float,
    confounders: Sequence[str] = (),
    *,
    thresholds: ConfidenceThresholds = DEFAULT_THRESHOLDS,
) -> Confidence:
    """Score one result from its subscriber events, lift (percent), p-value and confounders.

    score = S_n^w * S_p^(1-w) * f^k (see the module docstring), capped below ``min_events``;
    the level and the tier follow the rules in the module docstring. ``pvalue`` may be NaN/None
    when there was nothing to test against (it then contributes nothing). ``subscribers`` may be
    fractional (credited subscribers). The reasons are plain words naming n, the lift, the
    p-value and each confounder.
    """
    n = _check_subscribers(subscribers)
    lift = _check_lift(lift_pct)
    p = _check_pvalue(pvalue)
    names = _confounder_names(confounders)
    t = thresholds
    n_a, p_a, l_a, k_a = (np.array([v], dtype=float) for v in (n, p, lift, len(names)))
    score = float(_score_arrays(n_a, p_a, k_a, t)[0])
    significant = bool(_significant_arrays(p_a, l_a, t)[0])
    level = str(_level_arrays(np.array([score]), n_a, k_a, t)[0])
    tier = str(_tier_arrays(n_a, np.array([significant]), np.array([score]), k_a, t)[0])
    return Confidence(
        score=score,
        level=level,
        tier=tier,
        significant=significant,
        subscribers=n,
        lift_pct=lift,
        pvalue=p,
        confounders=names,
        reasons=_reasons(n, lift, p, significant, score, tier, names, t),
    )


def assign_tier(
    subscribers: float,
    lift_pct: float,
    pvalue: float,
    score: float,
    confounders: Sequence[str] = (),
    *,
    thresholds: ConfidenceThresholds = DEFAULT_THRESHOLDS,
) -> str:
    """The tier of a result: ``insufficient_data``, ``hypothesis`` or ``confident``.

    fewer than ``min_events`` subscriber events -> insufficient_data; confident needs
    n >= ``confident_min_events``, p < alpha with a non-zero finite lift, score >=
    ``confident_min_score`` and no confounder; otherwise hypothesis.
    """
    n = _check_subscribers(subscribers)
    lift = _check_lift(lift_pct)
    p = _check_pvalue(pvalue)
    s = float(score)
    if not (0.0 <= s <= 1.0):
        raise ValueError(f"score must be in [0, 1], got {score!r}")
    k = len(_confounder_names(confounders))
    n_a = np.array([n])
    significant = _significant_arrays(np.array([p]), np.array([lift]), thresholds)
    return str(_tier_arrays(n_a, significant, np.array([s]), np.array([k]), thresholds)[0])


def score_confidence_frame(
    frame: pd.DataFrame,
    *,
    subscribers: str = "subscribers",
    lift_pct: str = "lift_pct",
    pvalue: str = "pvalue",
    confounders: str | None = "confounders",
    thresholds: ConfidenceThresholds = DEFAULT_THRESHOLDS,
) -> pd.DataFrame:
    """Vectorised :func:`score_confidence` for a mart: returns a copy of ``frame`` with the columns
    ``confidence_score``, ``confidence_level``, ``tier``, ``significant`` and ``confidence_reasons``
    (the reasons joined by "; ").

    The confounders column may hold sequences of names, "; "-separated strings or nulls; pass
    ``confounders=None`` when the frame has no such column.
    """
    missing = [c for c in (subscribers, lift_pct, pvalue) if c not in frame.columns]
    if confounders is not None and confounders not in frame.columns:
        missing.append(confounders)
    if missing:
        raise KeyError(f"score_confidence_frame: missing column(s) {missing}; have {list(frame.columns)}")
    t = thresholds
    n = pd.to_numeric(frame[subscribers], errors="raise").to_numpy(dtype=float)
    if (~np.isfinite(n) | (n < 0)).any():
        raise ValueError(f"column {subscribers!r} must hold finite numbers >= 0")
    p = pd.to_numeric(frame[pvalue], errors="raise").to_numpy(dtype=float)
    if (np.isfinite(p) & ((p < 0) | (p > 1))).any():
        raise ValueError(f"column {pvalue!r} must hold p-values in [0, 1] (or NaN)")
    lift = pd.to_numeric(frame[lift_pct], errors="raise").to_numpy(dtype=float)
    names = (
        [_confounder_names(v) for v in frame[confounders].tolist()]
        if confounders is not None
        else [()] * len(frame)
    )
    k = np.fromiter((len(x) for x in names), dtype=float, count=len(names))
    score = _score_arrays(n, p, k, t)
    significant = _significant_arrays(p, lift, t)
    level = _level_arrays(score, n, k, t)
    tier = _tier_arrays(n, significant, score, k, t)
    reasons = [
        "; ".join(_reasons(*row, t))
        for row in zip(
            n.tolist(), lift.tolist(), p.tolist(), significant.tolist(), score.tolist(), tier.tolist(), names,
            strict=True,
        )
    ]
    out = frame.copy()
    out["confidence_score"] = score
    out["confidence_level"] = pd.array(level, dtype="string")
    out["tier"] = pd.array(tier, dtype="string")
    out["significant"] = significant
    out["confidence_reasons"] = pd.array(reasons, dtype="string")
    return out
