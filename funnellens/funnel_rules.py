"""Drop-off severity and data-driven suggestions for funnel steps (issue 5, point 6).

Pure functions over pandas/numpy (no database, no Dagster). ``docs/funnels.md`` ("Drop-off
severity and suggestions") lists every rule with its condition; this docstring is the summary.

Severity (:func:`classify_severity`) of a step with ``n`` entries and drop-off rate ``r``
(drop-offs / entries) under :class:`DropoffThresholds` ``(medium_from, high_from, min_entries)``:

- ``insufficient_data`` when ``n < min_entries`` (or ``n = 0``);
- ``low`` when ``r < medium_from`` (default 20%);
- ``medium`` when ``medium_from <= r < high_from`` (default 40%);
- ``high`` when ``r >= high_from``.

Suggestions (:func:`dropoff_suggestions`): each rule fires only when the step's own numbers meet
its condition, and its text names those numbers. A step with too few entries gets no suggestion.
With :class:`SuggestionRules` defaults:

- ``quick_bounce``: >= 20 drop-offs, bounces >= 50% of them, and the median time in step of the
  bouncing visitors <= 10 s (the page may not match the promise that brought the visitor);
- ``late_close``: >= 20 drop-offs, closes >= 50% of them, and the median time in step of the
  closing visitors >= 60 s (friction that appears late: costs, required fields, errors);
- ``slow_step``: median time in step >= 120 s and drop-off rate >= ``medium_from``
  (the form or content may be too long);
- ``device_gap``: mobile and desktop both >= 100 entries, their drop-off rates differ by >= 10
  percentage points, and the two-sided pooled two-proportion z-test gives p < 0.05
  (:func:`two_proportion_pvalue`); the text names the worse device;
- ``top_exit_reason``: >= 20 drop-offs and one stated exit reason (other than the exit outcomes
  bounce/close/next_step/conversion, which the rules above cover) accounts for >= 30% of them;
- ``biggest_leak``: the funnel has >= 2 steps and >= 20 drop-offs, the step's severity is medium
  or high, it has the most drop-offs of its funnel (ties all fire), and it holds >= 40% of all
  the funnel's drop-offs.

Input: one row per funnel step (for one period), columns in :data:`REQUIRED_STEP_COLUMNS` and,
optionally, :data:`OPTIONAL_STEP_COLUMNS`. A rule whose inputs are missing or null does not fire.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from scipy import stats

SEVERITIES = ("low", "medium", "high", "insufficient_data")
"""Values of ``severity``; ``insufficient_data`` when a step has fewer entries than the minimum."""

REQUIRED_STEP_COLUMNS = ("funnel_id", "step_id", "step_order", "entries", "dropoffs")
"""Columns every step row must have. ``entries``: visitors who entered the step; ``dropoffs``:
those who left the funnel from it (bounce or close exits)."""

OPTIONAL_STEP_COLUMNS: dict[str, str] = {
    "step_name": "display name of the step (defaults to step_id)",
    "dropoff_rate": "dropoffs / entries in [0, 1]; computed when absent",
    "bounce_share": "share of the step's drop-offs that are bounce exits, in [0, 1]",
    "close_share": "share of the step's drop-offs that are close exits, in [0, 1]",
    "median_time_in_step_s": "median seconds visitors spent in the step (all visitors of the step)",
    "median_bounce_time_s": "median seconds in the step of the visitors who bounced",
    "median_close_time_s": "median seconds in the step of the visitors who closed the page",
    "mobile_entries": "entries from device_type = 'mobile'",
    "mobile_dropoff_rate": "drop-off rate of the mobile entries, in [0, 1]",
    "desktop_entries": "entries from device_type = 'desktop'",
    "desktop_dropoff_rate": "drop-off rate of the desktop entries, in [0, 1]",
    "top_exit_reasons": "stated exit reasons with their shares of the drop-offs: a list of "
    "{'reason': str, 'share': float} (DuckDB LIST(STRUCT)), a {reason: share} mapping, "
    "or the same as JSON text",
}
"""Optional columns: a rule that needs one of them does not fire when it is missing or null."""

RULE_IDS = ("quick_bounce", "late_close", "slow_step", "device_gap", "top_exit_reason", "biggest_leak")
"""Suggestion rules, in the order their suggestions are listed."""

EXIT_OUTCOME_REASONS = frozenset({"bounce", "close", "next_step", "conversion"})
"""Exit outcomes, not stated reasons: ``top_exit_reason`` ignores them (other rules cover them)."""

_SHARE_COLUMNS = (
    "dropoff_rate",
    "bounce_share",
    "close_share",
    "mobile_dropoff_rate",
    "desktop_dropoff_rate",
)


# ---------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DropoffThresholds:
    """Severity thresholds on the drop-off rate, and the minimum sample for any verdict.

    ``low``: rate < ``medium_from``; ``medium``: ``medium_from`` <= rate < ``high_from``;
    ``high``: rate >= ``high_from``; ``insufficient_data``: entries < ``min_entries``.
    """

    medium_from: float = 0.20
    high_from: float = 0.40
    min_entries: int = 30

    def __post_init__(self) -> None:
        for name in ("medium_from", "high_from"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
                raise ValueError(f"DropoffThresholds.{name} must be a rate in [0, 1], got {value!r}")
        if self.medium_from > self.high_from:
            raise ValueError(
                f"DropoffThresholds.medium_from ({self.medium_from}) must not exceed high_from "
                f"({self.high_from})"
            )
        _check_count_setting("DropoffThresholds", "min_entries", self.min_entries, minimum=1)


@dataclass(frozen=True)
class SuggestionRules:
    """Conditions of the suggestion rules (see the module docstring and ``docs/funnels.md``)."""

    min_dropoffs: int = 20
    """Exit-composition rules (quick_bounce, late_close, top_exit_reason, biggest_leak) need this
    many drop-offs: a share of 5 exits says nothing."""
    bounce_share_min: float = 0.50
    quick_bounce_max_s: float = 10.0
    close_share_min: float = 0.50
    late_close_min_s: float = 60.0
    slow_step_min_s: float = 120.0
    device_gap_min: float = 0.10
    """Minimum absolute gap between mobile and desktop drop-off rates (0.10 = 10 points)."""
    device_min_entries: int = 100
    device_alpha: float = 0.05
    exit_reason_min_share: float = 0.30
    biggest_leak_min_share: float = 0.40

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("min_dropoffs", "device_min_entries"):
                _check_count_setting("SuggestionRules", f.name, value, minimum=1)
                continue
            if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
                raise ValueError(f"SuggestionRules.{f.name} must be a finite number, got {value!r}")
            if value < 0:
                raise ValueError(f"SuggestionRules.{f.name} must be non-negative, got {value!r}")
            if (f.name.endswith(("_share_min", "_min_share", "_gap_min")) or f.name == "device_alpha") and value > 1:
                raise ValueError(f"SuggestionRules.{f.name} is a share and must be <= 1, got {value!r}")
        if self.device_alpha <= 0:
            raise ValueError(f"SuggestionRules.device_alpha must be in (0, 1], got {self.device_alpha!r}")


def _check_count_setting(owner: str, name: str, value: object, *, minimum: int) -> None:
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{owner}.{name} must be an integer >= {minimum}, got {value!r}")


# ---------------------------------------------------------------------------------------
# Severity
# ---------------------------------------------------------------------------------------


def classify_severity(rate: float, n: int, thresholds: DropoffThresholds | None = None) -> str:
    """Severity of one step's drop-off ``rate`` (drop-offs / entries) over ``n`` entries.

    Returns ``insufficient_data`` when ``n < thresholds.min_entries``; otherwise ``low`` when
    ``rate < medium_from``, ``medium`` when ``rate < high_from``, else ``high``.
    """
    thresholds = thresholds or DropoffThresholds()
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "insufficient_data"
    if n < 0:
        raise ValueError(f"n (entries) must be non-negative, got {n!r}")
    if n < thresholds.min_entries:
        return "insufficient_data"
    if rate is None or (isinstance(rate, float) and math.isnan(rate)):
        raise ValueError(f"rate is missing for a step with {n} entries")
    if not 0 <= rate <= 1:
        raise ValueError(f"rate must be a drop-off rate in [0, 1], got {rate!r}")
    if rate < thresholds.medium_from:
        return "low"
    if rate < thresholds.high_from:
        return "medium"
    return "high"


def classify_severities(
    rates: Sequence[float] | np.ndarray | pd.Series,
    entries: Sequence[float] | np.ndarray | pd.Series,
    thresholds: DropoffThresholds | None = None,
) -> np.ndarray:
    """Vectorised :func:`classify_severity`: an object array of severities, one per step.

    A null ``entries`` (or a null rate with too few entries) gives ``insufficient_data``.
    """
    thresholds = thresholds or DropoffThresholds()
    rate = np.asarray(pd.to_numeric(pd.Series(rates), errors="raise"), dtype=float)
    n = np.asarray(pd.to_numeric(pd.Series(entries), errors="raise"), dtype=float)
    if rate.shape != n.shape:
        raise ValueError(f"rates and entries differ in length: {rate.shape[0]} vs {n.shape[0]}")
    if (n < 0).any():
        raise ValueError("entries must be non-negative")
    enough = n >= thresholds.min_entries  # NaN compares False: insufficient
    bad = enough & (np.isnan(rate) | (rate < 0) | (rate > 1))
    if bad.any():
        raise ValueError(
            f"drop-off rates must be in [0, 1]; got {rate[bad][:5].tolist()} for steps with enough entries"
        )
    out = np.select(
        [~enough, rate < thresholds.medium_from, rate < thresholds.high_from],
        ["insufficient_data", "low", "medium"],
        default="high",
    )
    return out.astype(object)


# ---------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------


def two_proportion_pvalue(
    x1: np.ndarray | Sequence[float],
    n1: np.ndarray | Sequence[float],
    x2: np.ndarray | Sequence[float],
    n2: np.ndarray | Sequence[float],
) -> np.ndarray:
    """Two-sided p-value of the pooled two-proportion z-test, vectorised.

    With p1 = x1/n1, p2 = x2/n2 and the pooled p = (x1 + x2)/(n1 + n2):
    z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2)) and p-value = 2 * (1 - Phi(|z|)), computed as
    ``2 * norm.sf(|z|)``. Equals statsmodels' ``proportions_ztest`` (and R's ``prop.test`` without
    continuity correction). When p is 0 or 1 the two samples are identical: the p-value is 1.
    NaN where an n is 0 or missing.
    """
    x1, n1, x2, n2 = (np.asarray(a, dtype=float) for a in (x1, n1, x2, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (x1 + x2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = (x1 / n1 - x2 / n2) / se
        pvalue = 2 * stats.norm.sf(np.abs(z))
    pvalue = np.where(se == 0, 1.0, pvalue)
    return np.where((n1 > 0) & (n2 > 0), pvalue, np.nan)


# ---------------------------------------------------------------------------------------
# Formatting (every suggestion names its numbers in the same way)
# ---------------------------------------------------------------------------------------


def format_pct(share: float) -> str:
    """A share as a percentage: 0.624 -> '62%', 0.004 -> '0.4%'."""
    pct = 100 * share
    return f"{pct:.1f}%" if 0 < abs(pct) < 1 else f"{pct:.0f}%"


def format_duration(seconds: float) -> str:
    """Seconds as '8 s', '4 min', '2 min 10 s' or '1 h 5 min'."""
    total = int(round(seconds))
    if total < 60:
        return f"{total} s"
    if total < 3600:
        minutes, secs = divmod(total, 60)
        return f"{minutes} min" if secs == 0 else f"{minutes} min {secs} s"
    hours, rest = divmod(total, 3600)
    minutes = rest // 60
    return f"{hours} h" if minutes == 0 else f"{hours} h {minutes} min"


def format_pvalue(p: float) -> str:
    """'p < 0.001' or 'p = 0.012'."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _count(n: float) -> str:
    return f"{int(round(n)):,}"


# ---------------------------------------------------------------------------------------
# Suggestions
# ---------------------------------------------------------------------------------------


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as floats; an all-NaN array when the column is absent."""
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    try:
        return pd.to_numeric(frame[column], errors="raise").to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"column {column!r} must be numeric: {exc}") from exc


def _top_stated_reason(value: object) -> tuple[str, float] | None:
    """The stated exit reason with the largest share, ignoring exit outcomes; None if none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"top_exit_reasons is not valid JSON: {value[:80]!r}") from exc
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, Sequence | np.ndarray):
        items = []
        for item in value:
            if isinstance(item, Mapping) and "reason" in item and "share" in item:
                items.append((item["reason"], item["share"]))
            elif isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2:
                items.append((item[0], item[1]))
            else:
                raise ValueError(
                    "top_exit_reasons items must be {'reason': ..., 'share': ...} or (reason, share) "
                    f"pairs, got {item!r}"
                )
    else:
        raise ValueError(f"top_exit_reasons must be a list, a mapping or JSON text, got {type(value).__name__}")
    best: tuple[str, float] | None = None
    for reason, share in items:
        if reason is None or share is None or str(reason).strip().lower() in EXIT_OUTCOME_REASONS:
            continue
        share = float(share)
        if not 0 <= share <= 1:
            raise ValueError(f"top_exit_reasons share of {reason!r} must be in [0, 1], got {share!r}")
        if best is None or share > best[1]:
            best = (str(reason), share)
    return best


def _validate_steps(steps: pd.DataFrame) -> None:
    if not isinstance(steps, pd.DataFrame):
        raise TypeError(f"step_rows must be a pandas DataFrame, got {type(steps).__name__}")
    missing = [c for c in REQUIRED_STEP_COLUMNS if c not in steps.columns]
    if missing:
        raise ValueError(
            f"step_rows lacks the required column(s) {', '.join(missing)}; expected "
            f"{', '.join(REQUIRED_STEP_COLUMNS)} and optionally {', '.join(OPTIONAL_STEP_COLUMNS)}"
        )
    entries = _numeric(steps, "entries")
    dropoffs = _numeric(steps, "dropoffs")
    if np.isnan(entries).any() or np.isnan(dropoffs).any():
        raise ValueError("entries and dropoffs must not be null")
    if (entries < 0).any() or (dropoffs < 0).any():
        raise ValueError("entries and dropoffs must be non-negative")
    over = dropoffs > entries
    if over.any():
        where = steps.loc[over, ["funnel_id", "step_id"]].head(5).to_dict("records")
        raise ValueError(f"dropoffs exceed entries for step(s) {where}")
    for column in _SHARE_COLUMNS:
        values = _numeric(steps, column)
        bad = ~np.isnan(values) & ((values < 0) | (values > 1))
        if bad.any():
            raise ValueError(f"{column} must be in [0, 1]; got {values[bad][:5].tolist()}")
    for column in ("median_time_in_step_s", "median_bounce_time_s", "median_close_time_s",
                   "mobile_entries", "desktop_entries"):
        values = _numeric(steps, column)
        if (values[~np.isnan(values)] < 0).any():
            raise ValueError(f"{column} must be non-negative")
    duplicated = steps.duplicated(["funnel_id", "step_id"])
    if duplicated.any():
        where = steps.loc[duplicated, ["funnel_id", "step_id"]].head(5).to_dict("records")
        raise ValueError(
            f"step_rows has more than one row for {where}: pass one period at a time "
            "(group by period and call dropoff_suggestions per group)"
        )


def dropoff_suggestions(
    step_rows: pd.DataFrame,
    thresholds: DropoffThresholds | None = None,
    rules: SuggestionRules | None = None,
) -> pd.DataFrame:
    """Severity and data-driven suggestions for each funnel step.

    ``step_rows`` has one row per (funnel, step) for one period: :data:`REQUIRED_STEP_COLUMNS`
    plus any of :data:`OPTIONAL_STEP_COLUMNS`. Returns a copy of it (same index and order) with
    ``dropoff_rate`` filled in where absent and three added columns:

    - ``severity``: :func:`classify_severity` of (``dropoff_rate``, ``entries``);
    - ``rule_ids``: the ids (:data:`RULE_IDS`) of the rules that fired, in that order;
    - ``suggestions``: their texts, one per rule id, each naming the numbers behind it.

    ``rule_ids``/``suggestions`` are lists (empty when nothing fired; always empty for
    ``insufficient_data``). ``df.explode(["rule_ids", "suggestions"])`` gives one row per
    suggestion. The rule conditions are in the module docstring and ``docs/funnels.md``.
    """
    thresholds = thresholds or DropoffThresholds()
    rules = rules or SuggestionRules()
    _validate_steps(step_rows)
    out = step_rows.copy()
    n = len(out)

    entries = _numeric(out, "entries")
    dropoffs = _numeric(out, "dropoffs")
    if "dropoff_rate" in out.columns:
        rate = _numeric(out, "dropoff_rate")
        rate = np.where(np.isnan(rate) & (entries > 0), dropoffs / np.where(entries > 0, entries, 1), rate)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(entries > 0, dropoffs / entries, np.nan)
    out["dropoff_rate"] = rate
    severity = classify_severities(rate, entries, thresholds)
    out["severity"] = severity
    enough = severity != "insufficient_data"
    enough_exits = enough & (dropoffs >= rules.min_dropoffs)
    names = (
        out["step_name"].where(out["step_name"].notna(), out["step_id"]).astype(str)
        if "step_name" in out.columns
        else out["step_id"].astype(str)
    ).to_numpy()

    texts: dict[str, list[str | None]] = {rule: [None] * n for rule in RULE_IDS}

    # quick_bounce: most exits are bounces, and fast ones.
    bounce_share = _numeric(out, "bounce_share")
    bounce_time = _numeric(out, "median_bounce_time_s")
    fire = enough_exits & (bounce_share >= rules.bounce_share_min) & (bounce_time <= rules.quick_bounce_max_s)
    for i in np.flatnonzero(fire):
        texts["quick_bounce"][i] = (
            f"{format_pct(bounce_share[i])} of the {_count(dropoffs[i])} exits are bounces after a median "
            f"{format_duration(bounce_time[i])} in the step: visitors leave before engaging, so the page "
            "may not match the promise of the ad or link that brought them"
        )

    # late_close: most exits close the page after real time spent in the step.
    close_share = _numeric(out, "close_share")
    close_time = _numeric(out, "median_close_time_s")
    fire = enough_exits & (close_share >= rules.close_share_min) & (close_time >= rules.late_close_min_s)
    for i in np.flatnonzero(fire):
        texts["late_close"][i] = (
            f"{format_pct(close_share[i])} of the {_count(dropoffs[i])} exits close the page after a median "
            f"{format_duration(close_time[i])} in the step: visitors engage, then give up; look for "
            "friction that appears late (unexpected costs, required fields, errors)"
        )

    # slow_step: a long median time in a step that also loses visitors.
    step_time = _numeric(out, "median_time_in_step_s")
    fire = enough & (step_time >= rules.slow_step_min_s) & (rate >= thresholds.medium_from)
    for i in np.flatnonzero(fire):
        texts["slow_step"][i] = (
            f"median {format_duration(step_time[i])} in the step with a {format_pct(rate[i])} drop-off: "
            "the form or content may be too long or unclear; cut or split fields and show progress"
        )

    # device_gap: mobile and desktop drop-off rates differ, by enough and significantly.
    m_n, m_rate = _numeric(out, "mobile_entries"), _numeric(out, "mobile_dropoff_rate")
    d_n, d_rate = _numeric(out, "desktop_entries"), _numeric(out, "desktop_dropoff_rate")
    pvalue = two_proportion_pvalue(np.round(m_rate * m_n), m_n, np.round(d_rate * d_n), d_n)
    fire = (
        enough
        & (m_n >= rules.device_min_entries)
        & (d_n >= rules.device_min_entries)
        & (np.abs(m_rate - d_rate) >= rules.device_gap_min)
        & (pvalue < rules.device_alpha)
    )
    for i in np.flatnonzero(fire):
        evidence_m = f"{format_pct(m_rate[i])} ({_count(m_n[i])} entries)"
        evidence_d = f"{format_pct(d_rate[i])} ({_count(d_n[i])} entries)"
        mobile_share = f"mobile is {format_pct(m_n[i] / entries[i])} of entries" if entries[i] > 0 else ""
        if m_rate[i] > d_rate[i]:
            texts["device_gap"][i] = (
                f"mobile drop-off {evidence_m} vs desktop {evidence_d}, {format_pvalue(pvalue[i])}; "
                f"{mobile_share}: check the mobile layout (viewport, tap targets, keyboard types, load time)"
            )
        else:
            texts["device_gap"][i] = (
                f"desktop drop-off {evidence_d} vs mobile {evidence_m}, {format_pvalue(pvalue[i])}; "
                f"{mobile_share}: check the desktop layout and browser compatibility"
            )

    # top_exit_reason: one stated reason explains a large share of the exits.
    if "top_exit_reasons" in out.columns:
        for i in np.flatnonzero(enough_exits):
            top = _top_stated_reason(out["top_exit_reasons"].iloc[i])
            if top is not None and top[1] >= rules.exit_reason_min_share:
                texts["top_exit_reason"][i] = (
                    f"the exit reason '{top[0]}' accounts for {format_pct(top[1])} of the "
                    f"{_count(dropoffs[i])} exits: address it first"
                )

    # biggest_leak: the step holds most of the funnel's losses.
    funnel_key = out["funnel_id"].astype(str).to_numpy()
    funnel_total = pd.Series(dropoffs).groupby(funnel_key).transform("sum").to_numpy()
    funnel_steps = pd.Series(np.ones(n)).groupby(funnel_key).transform("sum").to_numpy()
    funnel_max = pd.Series(dropoffs).groupby(funnel_key).transform("max").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        leak_share = np.where(funnel_total > 0, dropoffs / funnel_total, np.nan)
    fire = (
        np.isin(severity, ["medium", "high"])
        & (funnel_steps >= 2)
        & (funnel_total >= rules.min_dropoffs)
        & (leak_share >= rules.biggest_leak_min_share)
        & (dropoffs == funnel_max)
    )
    for i in np.flatnonzero(fire):
        texts["biggest_leak"][i] = (
            f"'{names[i]}' loses {format_pct(leak_share[i])} of all visitors lost in this funnel "
            f"({_count(dropoffs[i])} of {_count(funnel_total[i])}) at a {format_pct(rate[i])} drop-off: "
            "fix it first"
        )

    rule_ids: list[list[str]] = [[] for _ in range(n)]
    suggestions: list[list[str]] = [[] for _ in range(n)]
    for rule in RULE_IDS:
        for i, text in enumerate(texts[rule]):
            if text is not None:
                rule_ids[i].append(rule)
                suggestions[i].append(text)
    out["rule_ids"] = pd.Series(rule_ids, index=out.index, dtype=object)
    out["suggestions"] = pd.Series(suggestions, index=out.index, dtype=object)
    return out
