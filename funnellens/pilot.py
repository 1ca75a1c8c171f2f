"""Pilot validation of creator attribution: calibration backtest, placebo and lag sensitivity.

Pure functions over pandas frames; the Dagster asset behind ``marts.fct_pilot_validation``
feeds them from the warehouse. Every function returns rows of :data:`VALIDATION_COLUMNS`
(``test, scope, metric, value, threshold, comparison, passed, n, detail``); ``passed`` is
NULL (``pd.NA``) when a test cannot be evaluated (for example, no placebo windows are known),
and the reason is in ``detail``.

1. **Calibration backtest** (:func:`calibration_backtest`). Fans who came through a referral
   link have a known source. For them the weighted-window method is run as if the link were
   missing, and its dominant type is compared with the link's type. Pass: accuracy at least
   ``calibration_min_accuracy`` (0.60) overall, at least ``calibration_min_creator_accuracy``
   (0.40) for every creator with at least ``calibration_min_creator_links`` (5) link fans, and
   at least ``calibration_min_links`` (20) link fans overall. A fan whose lag has no views
   (no prediction) counts as a miss.
2. **Placebo** (:func:`placebo_test`). Performance rows of quiet windows (no planted effect,
   no confounder). A false positive is a row with ``lift_pct > placebo_lift_pct`` (50) and
   ``confidence_score > placebo_score`` (0.5). Pass: a false-positive rate below
   ``placebo_max_rate`` (0.20) and no false positive in the ``confident`` tier.
3. **Lag sensitivity** (:func:`lag_sensitivity`). For every creator and lag (24, 48, 72,
   168 h) the content types are ranked by credited subscribers per view over the whole period
   (the attribution as deployed: links credit their type, the rest the weighted window at
   that lag). Kendall's tau-b (``scipy.stats.kendalltau``) is taken for
   every pair of lags per creator. Pass: the mean tau over creators and pairs is at least
   ``lag_min_mean_tau`` (0.6), and at least ``lag_min_same_top_share`` (0.70) of creators have
   the same top type at every lag. Types with less than ``lag_min_view_share`` (5 %) of the
   creator's views are left out of the ranking (too few views to rank).

Every threshold is in :class:`PilotThresholds`, overridable by ``FUNNELLENS_PILOT_<NAME>``.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "VALIDATION_COLUMNS",
    "PilotThresholds",
    "calibration_backtest",
    "lag_sensitivity",
    "placebo_test",
    "run_pilot",
]

VALIDATION_COLUMNS = ("test", "scope", "metric", "value", "threshold", "comparison", "passed", "n", "detail")


@dataclass(frozen=True)
class PilotThresholds:
    """The pass thresholds of the three pilot tests (defaults from issue 3)."""

    calibration_min_accuracy: float = 0.60
    calibration_min_creator_accuracy: float = 0.40
    calibration_min_links: int = 20
    calibration_min_creator_links: int = 5
    placebo_lift_pct: float = 50.0
    placebo_score: float = 0.5
    placebo_max_rate: float = 0.20
    lag_min_mean_tau: float = 0.6
    lag_min_same_top_share: float = 0.70
    lag_min_view_share: float = 0.05

    def __post_init__(self) -> None:
        for name in ("calibration_min_accuracy", "calibration_min_creator_accuracy", "placebo_score",
                     "placebo_max_rate", "lag_min_same_top_share", "lag_min_view_share"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"PilotThresholds.{name} must be in [0, 1], got {value}")
        if not -1 <= self.lag_min_mean_tau <= 1:
            raise ValueError(f"PilotThresholds.lag_min_mean_tau must be in [-1, 1], got {self.lag_min_mean_tau}")
        if self.calibration_min_links < 0 or self.calibration_min_creator_links < 1:
            raise ValueError("calibration_min_links must be >= 0 and calibration_min_creator_links >= 1")

    @classmethod
    def from_env(cls) -> PilotThresholds:
        """Defaults overridden by ``FUNNELLENS_PILOT_<FIELD>`` (e.g. ``FUNNELLENS_PILOT_PLACEBO_MAX_RATE``)."""
        values: dict[str, float | int] = {}
        for f in fields(cls):
            var = f"FUNNELLENS_PILOT_{f.name.upper()}"
            raw = os.environ.get(var)
            if raw is None:
                continue
            kind = int if f.type in (int, "int") else float
            try:
                values[f.name] = kind(raw.strip())
            except ValueError:
                raise ValueError(f"{var}={raw!r} is not {'a whole number' if kind is int else 'a number'}") from None
        return cls(**values)  # type: ignore[arg-type]


def _row(test: str, scope: str, metric: str, value: float, threshold: float, comparison: str,
         passed: bool | None, n: int, detail: str) -> dict[str, object]:
    return {"test": test, "scope": scope, "metric": metric, "value": float(value), "threshold": float(threshold),
            "comparison": comparison, "passed": pd.NA if passed is None else bool(passed), "n": int(n),
            "detail": detail}


def _frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=list(VALIDATION_COLUMNS))
    out["passed"] = out["passed"].astype("boolean")
    out["n"] = out["n"].astype("int64")
    return out


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"{what}: missing column(s) {missing}; have {list(frame.columns)}")


def calibration_backtest(link_fans: pd.DataFrame, thresholds: PilotThresholds | None = None) -> pd.DataFrame:
    """Accuracy of the weighted-window dominant type against the referral link's true type.

    ``link_fans``: one row per link fan with ``creator_id``, ``true_type`` and
    ``predicted_type`` (NULL when the lag had no views: a miss).
    """
    t = thresholds or PilotThresholds()
    _require(link_fans, ("creator_id", "true_type", "predicted_type"), "calibration_backtest")
    hit = (link_fans["predicted_type"].astype("string") == link_fans["true_type"].astype("string")).fillna(False)
    n = len(link_fans)
    rows = [_row("calibration", "overall", "link_subscribers", n, t.calibration_min_links, ">=",
                 n >= t.calibration_min_links, n, "fans with a referral link (ground truth)")]
    accuracy = float(hit.mean()) if n else float("nan")
    rows.append(_row("calibration", "overall", "accuracy", accuracy, t.calibration_min_accuracy, ">=",
                     None if n == 0 else accuracy >= t.calibration_min_accuracy, n,
                     "share of link fans whose weighted-window dominant type is the link's type"
                     if n else "no link fans: cannot evaluate"))
    per_creator = pd.DataFrame({"creator_id": link_fans["creator_id"], "hit": hit}).groupby("creator_id")["hit"]
    for creator_id, hits in sorted(per_creator, key=lambda kv: str(kv[0])):
        k = len(hits)
        acc = float(hits.mean())
        evaluated = k >= t.calibration_min_creator_links
        rows.append(_row("calibration", f"creator:{creator_id}", "accuracy", acc, t.calibration_min_creator_accuracy,
                         ">=", acc >= t.calibration_min_creator_accuracy if evaluated else None, k,
                         "" if evaluated else f"fewer than {t.calibration_min_creator_links} link fans: not judged"))
    return _frame(rows)


def placebo_test(placebo_rows: pd.DataFrame, thresholds: PilotThresholds | None = None) -> pd.DataFrame:
    """False positives on quiet windows: ``lift_pct > 50`` and ``confidence_score > 0.5``.

    ``placebo_rows``: the performance rows (``lift_pct``, ``confidence_score``, ``tier``) of
    windows known to have no effect and no confounder.
    """
    t = thresholds or PilotThresholds()
    _require(placebo_rows, ("lift_pct", "confidence_score", "tier"), "placebo_test")
    n = len(placebo_rows)
    if n == 0:
        return _frame([
            _row("placebo", "overall", "false_positive_rate", float("nan"), t.placebo_max_rate, "<", None, 0,
                 "no quiet (placebo) windows are known: not evaluated"),
            _row("placebo", "overall", "confident_false_positives", float("nan"), 0, "<=", None, 0,
                 "no quiet (placebo) windows are known: not evaluated"),
        ])
    lift = pd.to_numeric(placebo_rows["lift_pct"], errors="coerce").to_numpy(dtype=float)
    score = pd.to_numeric(placebo_rows["confidence_score"], errors="coerce").to_numpy(dtype=float)
    false_positive = np.nan_to_num(lift, nan=-np.inf) > t.placebo_lift_pct
    false_positive &= np.nan_to_num(score, nan=0.0) > t.placebo_score
    confident = int((false_positive & (placebo_rows["tier"].astype("string") == "confident").fillna(False)
                     .to_numpy(dtype=bool)).sum())
    rate = float(false_positive.mean())
    return _frame([
        _row("placebo", "overall", "false_positive_rate", rate, t.placebo_max_rate, "<", rate < t.placebo_max_rate, n,
             f"{int(false_positive.sum())} of {n} quiet-window rows show lift > {t.placebo_lift_pct:g}% "
             f"with confidence > {t.placebo_score:g}"),
        _row("placebo", "overall", "confident_false_positives", confident, 0, "<=", confident == 0, n,
             "false positives in the confident tier"),
    ])


def lag_sensitivity(lag_credits: pd.DataFrame, thresholds: PilotThresholds | None = None) -> pd.DataFrame:
    """Stability of the content-type ranking over lags (Kendall's tau-b, scipy).

    ``lag_credits``: one row per creator, lag and content type with ``creator_id``,
    ``lag_hours``, ``content_type``, ``credited`` (credited subscribers over the period) and
    ``views`` (the type's views over the period). The ranking score is ``credited / views``.
    """
    t = thresholds or PilotThresholds()
    _require(lag_credits, ("creator_id", "lag_hours", "content_type", "credited", "views"), "lag_sensitivity")
    frame = lag_credits.loc[pd.to_numeric(lag_credits["views"]) > 0].copy()
    # A type with a sliver of the views (one tagged post) has a rate too noisy to rank.
    per_lag_total = frame.groupby(["creator_id", "lag_hours"])["views"].transform("sum")
    frame = frame.loc[pd.to_numeric(frame["views"]) >= t.lag_min_view_share * per_lag_total]
    frame["rate"] = pd.to_numeric(frame["credited"]) / pd.to_numeric(frame["views"])
    taus: list[float] = []
    same_top: list[bool] = []
    rows: list[dict[str, object]] = []
    for creator_id, group in sorted(frame.groupby("creator_id"), key=lambda kv: str(kv[0])):
        table = group.pivot_table(index="content_type", columns="lag_hours", values="rate", aggfunc="sum").fillna(0.0)
        lags = sorted(table.columns)
        if len(table) < 2 or len(lags) < 2:
            continue
        pair_taus = []
        for a, b in itertools.combinations(lags, 2):
            tau = stats.kendalltau(table[a].to_numpy(), table[b].to_numpy()).statistic
            pair_taus.append(1.0 if np.isnan(tau) else float(tau))  # all ties in both: identical rankings
        tops = {str(table[lag].sort_values(ascending=False, kind="stable").index[0]) for lag in lags}
        taus.extend(pair_taus)
        same_top.append(len(tops) == 1)
        rows.append(_row("lag_sensitivity", f"creator:{creator_id}", "mean_kendall_tau", float(np.mean(pair_taus)),
                         t.lag_min_mean_tau, ">=", None, len(table),
                         f"top type by lag: {', '.join(sorted(tops))}"))
    n_creators = len(same_top)
    mean_tau = float(np.mean(taus)) if taus else float("nan")
    share = float(np.mean(same_top)) if same_top else float("nan")
    detail = "" if n_creators else "no creator has two content types with views at two lags: not evaluated"
    rows.insert(0, _row("lag_sensitivity", "overall", "mean_kendall_tau", mean_tau, t.lag_min_mean_tau, ">=",
                        None if not n_creators else mean_tau >= t.lag_min_mean_tau, n_creators,
                        detail or "mean over creators and lag pairs"))
    rows.insert(1, _row("lag_sensitivity", "overall", "same_top_share", share, t.lag_min_same_top_share, ">=",
                        None if not n_creators else share >= t.lag_min_same_top_share, n_creators,
                        detail or "share of creators with the same top type at every lag"))
    return _frame(rows)


def run_pilot(
    link_fans: pd.DataFrame,
    placebo_rows: pd.DataFrame,
    lag_credits: pd.DataFrame,
    thresholds: PilotThresholds | None = None,
) -> pd.DataFrame:
    """All three tests, one frame of :data:`VALIDATION_COLUMNS`."""
    t = thresholds or PilotThresholds()
    return pd.concat(
        [calibration_backtest(link_fans, t), placebo_test(placebo_rows, t), lag_sensitivity(lag_credits, t)],
        ignore_index=True,
    )
