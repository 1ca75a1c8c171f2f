"""Recommendation rules: what each creator should post next week, and how sure we are.

Pure functions over pandas DataFrames (no Dagster, no database). The Dagster asset that
builds ``marts.fct_recommendations`` reads ``marts.fct_content_type_performance``, calls
:func:`recommend`, and writes the result; :func:`weekly_plan`, :func:`rank_content_types`
and :func:`creator_summary` derive the plan, the ranking and the one-line summaries.

Input: the performance frame
----------------------------
One row per creator x content type x window (key: ``creator_id, window_start,
content_type``). ``PERFORMANCE_COLUMNS`` lists the columns; all are required.

==========================  ===========  ==================================================
column                      type         meaning
==========================  ===========  ==================================================
creator_id                  str          the creator
agency_id                   str          the creator's agency
window_start, window_end    timestamp    the window, UTC (naive values are taken as UTC)
content_type                str          storytime, grwm, ... or an agency type
view_delta                  float        views gained by posts of the type in the window
view_share                  float        view_delta over the creator's views in the window
credited_subscribers        float        fractional subscriber credit (view-share split)
dominant_fans               int          fans whose dominant content type it is: the
                                         integer count the lift is tested on. It is ``n``.
subscribers_total           int          the creator's subscriber events in the window
expected_subscribers        float        the baseline expectation of ``dominant_fans``
lift_pct                    float        (dominant_fans / expected - 1) x 100; NaN if none
pvalue                      float        the Poisson test's p-value (NaN if not tested)
confidence_score            float        0..1, from subscriber event counts
confidence_level            str          low | medium | high
tier                        str          confident | hypothesis | insufficient_data
confounders                 str          the confounders that touch the window, as one
                                         ``'; '``-joined string of names (e.g. ``promo:
                                         spring sale; collab: @x``). Empty or NULL: none.
                                         A list/tuple of names is accepted too and is
                                         joined the same way.
posts_in_window             int          posts of the type published in the window
agency_timezone (optional)  str          IANA zone, used to state the window in words
==========================  ===========  ==================================================

Rules (``RecommendationThresholds`` holds every number)
-------------------------------------------------------
In this order, the first rule that matches decides the action:

1. a confounder touches the row -> ``test`` (the confounder is named);
2. tier ``insufficient_data`` -> ``test`` (collect data, do not judge);
3. tier ``hypothesis`` -> ``test``;
4. tier ``confident`` but ``confidence_score < min_confidence_score`` -> ``test``;
5. tier ``confident`` and no lift (NaN) -> ``test``;
6. tier ``confident`` and ``lift_pct >= increase_lift_pct`` (+20) -> ``increase``;
7. tier ``confident`` and ``lift_pct <= decrease_lift_pct`` (-20) -> ``decrease``;
8. tier ``confident`` otherwise -> ``maintain``.

Suggested posts per week
------------------------
``current_posts_per_week = posts_in_window x 168 / window_hours``. Per creator and window
the integer posting budget ``B`` is the largest-remainder rounding of the current values
(so ``B = round(sum(current))``), and the suggestion keeps ``B``:

1. every ``decrease`` type gives up ``post_step`` posts (fewer if it has fewer);
2. every ``increase`` type asks for ``post_step`` posts (up to ``max_posts_per_type``);
   when the released posts do not cover that, ``maintain`` types give up at most
   ``post_step`` each, lowest lift first; what still is not covered is not added (the
   rationale says the budget limited the increase), highest lift served first;
3. posts released beyond the increases go one at a time, cycling, to the increase types,
   then the maintain types, then the unconfounded test types, highest lift first within
   each group; only when there is no such type does the total fall below ``B``;
4. ``test`` types (confounded, hypothesis, insufficient data) keep their current volume
   except for rule 3.

So a suggestion is never negative, never above ``max(B, max_posts_per_type)``, and a type
changes by at most ``post_step`` except for the leftover posts of rule 3.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, fields
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

ACTIONS = ("increase", "maintain", "decrease", "test")
TIERS = ("confident", "hypothesis", "insufficient_data")
CONFIDENCE_LEVELS = ("low", "medium", "high")
CONFOUNDER_SEPARATOR = "; "

PERFORMANCE_COLUMNS = (
    "creator_id",
    "agency_id",
    "window_start",
    "window_end",
    "content_type",
    "view_delta",
    "view_share",
    "credited_subscribers",
    "dominant_fans",
    "subscribers_total",
    "expected_subscribers",
    "lift_pct",
    "pvalue",
    "confidence_score",
    "confidence_level",
    "tier",
    "confounders",
    "posts_in_window",
)
"""Required columns of the performance frame (see the module docstring)."""

KEY = ("creator_id", "window_start", "content_type")
WINDOW_KEY = ("creator_id", "window_start")

REASON_CODES = {
    "confounded": "a confounder overlaps the window or its lag",
    "insufficient_data": "fewer subscribers than the hypothesis tier needs",
    "hypothesis": "a hypothesis, not a confident result",
    "score_below_minimum": "tier confident but the score is below the configured minimum",
    "lift_unavailable": "no lift can be computed (no expected subscribers)",
    "lift_above_increase": "confident lift at or above the increase threshold",
    "lift_below_decrease": "confident lift at or below the decrease threshold",
    "lift_within_band": "confident, lift between the two thresholds",
}
"""``fct_recommendations.reason_code`` values and what they mean."""

RECOMMENDATION_COLUMNS = (
    "creator_id",
    "agency_id",
    "window_start",
    "window_end",
    "window_hours",
    "content_type",
    "action",
    "reason_code",
    "tier",
    "confidence_level",
    "confidence_score",
    "lift_pct",
    "pvalue",
    "n",
    "expected_subscribers",
    "credited_subscribers",
    "subscribers_total",
    "view_share",
    "confounders",
    "is_confounded",
    "posts_in_window",
    "current_posts_per_week",
    "suggested_posts_per_week",
    "posts_change",
    "posting_budget_per_week",
    "advice",
    "rationale",
)
"""Columns of :func:`recommend`'s output (``marts.fct_recommendations``), in order.

``n`` is ``dominant_fans``: the subscriber count the lift, p-value and tier rest on.
``posting_budget_per_week`` is the creator-window budget ``B`` the suggestion keeps.
``advice`` is the action in plain words; ``rationale`` is the advice followed by the window,
n, lift, p-value, confidence and confounders behind it.
"""

PLAN_COLUMNS = (
    "creator_id",
    "agency_id",
    "window_start",
    "window_end",
    "plan_status",
    "withheld_reason",
    "content_type",
    "action",
    "tier",
    "confidence_level",
    "confidence_score",
    "n",
    "lift_pct",
    "current_posts_per_week",
    "suggested_posts_per_week",
    "posting_budget_per_week",
)
"""Columns of :func:`weekly_plan`'s output."""


# ---------------------------------------------------------------------------------------
# Thresholds
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RecommendationThresholds:
    """The configurable numbers behind the rules (defaults in brackets).

    - ``increase_lift_pct`` [+20.0]: a confident lift at or above it means ``increase``.
    - ``decrease_lift_pct`` [-20.0]: a confident lift at or below it means ``decrease``.
    - ``min_confidence_score`` [0.7]: a ``confident`` row scoring below it is treated as a
      ``test`` (the confident tier already requires 0.7; raise it to be stricter).
    - ``post_step`` [1]: posts per week an increase adds or a decrease removes.
    - ``max_posts_per_type`` [None]: an optional cap on any type's suggested posts per week.

    Every value can come from the environment with :meth:`from_env`:
    ``FUNNELLENS_REC_INCREASE_LIFT_PCT``, ``FUNNELLENS_REC_DECREASE_LIFT_PCT``,
    ``FUNNELLENS_REC_MIN_CONFIDENCE_SCORE``, ``FUNNELLENS_REC_POST_STEP``,
    ``FUNNELLENS_REC_MAX_POSTS_PER_TYPE`` (empty or ``none``: no cap).
    """

    increase_lift_pct: float = 20.0
    decrease_lift_pct: float = -20.0
    min_confidence_score: float = 0.7
    post_step: int = 1
    max_posts_per_type: int | None = None

    def __post_init__(self) -> None:
        if not np.isfinite(self.increase_lift_pct) or not np.isfinite(self.decrease_lift_pct):
            raise ValueError("increase_lift_pct and decrease_lift_pct must be finite numbers")
        if self.increase_lift_pct <= 0 or self.decrease_lift_pct >= 0:
            raise ValueError(
                f"increase_lift_pct must be > 0 and decrease_lift_pct < 0, got "
                f"{self.increase_lift_pct} and {self.decrease_lift_pct}"
            )
        if self.decrease_lift_pct <= -100:
            raise ValueError(f"decrease_lift_pct must be above -100 (a lift cannot go lower), "
                             f"got {self.decrease_lift_pct}")
        if not 0 <= self.min_confidence_score <= 1:
            raise ValueError(f"min_confidence_score must be in [0, 1], got {self.min_confidence_score}")
        if int(self.post_step) != self.post_step or self.post_step < 1:
            raise ValueError(f"post_step must be a whole number >= 1, got {self.post_step}")
        if self.max_posts_per_type is not None and (
            int(self.max_posts_per_type) != self.max_posts_per_type or self.max_posts_per_type < 1
        ):
            raise ValueError(f"max_posts_per_type must be None or a whole number >= 1, "
                             f"got {self.max_posts_per_type}")

    @classmethod
    def from_env(cls) -> RecommendationThresholds:
        """Defaults overridden by the ``FUNNELLENS_REC_*`` environment variables."""
        parsers = {
            "increase_lift_pct": float,
            "decrease_lift_pct": float,
            "min_confidence_score": float,
            "post_step": int,
            "max_posts_per_type": int,
        }
        values: dict[str, object] = {}
        for f in fields(cls):
            var = f"FUNNELLENS_REC_{f.name.upper()}"
            raw = os.environ.get(var)
            if raw is None:
                continue
            raw = raw.strip()
            if f.name == "max_posts_per_type" and raw.lower() in {"", "none"}:
                values[f.name] = None
                continue
            try:
                values[f.name] = parsers[f.name](raw)
            except ValueError:
                kind = "a whole number" if parsers[f.name] is int else "a number"
                raise ValueError(f"{var}={raw!r} is not {kind}") from None
        return cls(**values)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------
# Input checks and small helpers
# ---------------------------------------------------------------------------------------
def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} is missing column(s) {', '.join(missing)}; "
            f"see funnellens.recommendations for the expected columns"
        )


def _utc_naive(values: pd.Series, name: str) -> pd.Series:
    """Timestamps as naive UTC (the warehouse convention); aware values are converted."""
    try:
        ts = pd.to_datetime(values)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"column {name} does not parse as timestamps: {exc}") from None
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    if ts.isna().any():
        raise ValueError(f"column {name} has {int(ts.isna().sum())} empty value(s)")
    return ts


def _join_confounders(value: object) -> str:
    """Canonical ``'; '``-joined confounder names from a string, a list or NULL."""
    if value is None:
        return ""
    if isinstance(value, str):
        parts = value.split(";")
    elif isinstance(value, (list, tuple, np.ndarray, pd.Series)):
        parts = [str(v) for v in value if v is not None and not (isinstance(v, float) and np.isnan(v))]
    elif value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    else:
        raise ValueError(f"confounders must be a '; '-joined string or a list of names, got {value!r}")
    seen: dict[str, None] = {}
    for part in parts:
        name = " ".join(part.split())
        if name:
            seen.setdefault(name, None)
    return CONFOUNDER_SEPARATOR.join(seen)


def split_confounders(value: object) -> list[str]:
    """The confounder names of one ``confounders`` value (string or list), in order, unique."""
    joined = _join_confounders(value)
    return joined.split(CONFOUNDER_SEPARATOR) if joined else []


def _check_vocab(frame: pd.DataFrame, column: str, allowed: tuple[str, ...]) -> None:
    bad = sorted(set(frame[column].dropna().astype(str)) - set(allowed))
    if bad or frame[column].isna().any():
        shown = bad[:5] + (["<empty>"] if frame[column].isna().any() else [])
        raise ValueError(f"column {column} holds {', '.join(map(repr, shown))}; allowed: {', '.join(allowed)}")


def _prepare_performance(performance: pd.DataFrame) -> pd.DataFrame:
    _require(performance, PERFORMANCE_COLUMNS, "the performance frame")
    df = performance.copy()
    for col in ("creator_id", "agency_id", "content_type"):
        if df[col].isna().any():
            raise ValueError(f"column {col} has {int(df[col].isna().sum())} empty value(s)")
        df[col] = df[col].astype(str)
    df["window_start"] = _utc_naive(df["window_start"], "window_start")
    df["window_end"] = _utc_naive(df["window_end"], "window_end")
    bad_window = df["window_end"] <= df["window_start"]
    if bad_window.any():
        row = df.loc[bad_window].iloc[0]
        raise ValueError(f"window_end must be after window_start; creator {row['creator_id']} has "
                         f"{row['window_start']} to {row['window_end']}")
    numeric = ("view_delta", "view_share", "credited_subscribers", "dominant_fans", "subscribers_total",
               "expected_subscribers", "lift_pct", "pvalue", "confidence_score", "posts_in_window")
    for col in numeric:
        try:
            df[col] = pd.to_numeric(df[col]).astype("float64")
        except (ValueError, TypeError) as exc:
            raise ValueError(f"column {col} is not numeric: {exc}") from None
    for col in ("dominant_fans", "subscribers_total", "posts_in_window"):
        values = df[col]
        if values.isna().any() or (values < 0).any() or (values % 1 != 0).any():
            raise ValueError(f"column {col} must hold whole numbers >= 0")
        df[col] = values.astype("int64")
    score = df["confidence_score"]
    if score.isna().any() or ((score < 0) | (score > 1)).any():
        raise ValueError("column confidence_score must hold values in [0, 1]")
    _check_vocab(df, "tier", TIERS)
    _check_vocab(df, "confidence_level", CONFIDENCE_LEVELS)
    dup = df.duplicated(list(KEY), keep=False)
    if dup.any():
        row = df.loc[dup].iloc[0]
        raise ValueError(f"the performance frame has {int(dup.sum())} rows with a repeated key "
                         f"(creator_id, window_start, content_type), e.g. {row['creator_id']}, "
                         f"{row['window_start']}, {row['content_type']}")
    df["confounders"] = df["confounders"].map(_join_confounders).astype(object)
    return df


# ---------------------------------------------------------------------------------------
# Wording
# ---------------------------------------------------------------------------------------
def _fmt_lift(lift: float) -> str:
    return "n/a" if lift is None or lift != lift else f"{lift:+.0f}%"


def _fmt_p(p: float) -> str:
    if p is None or p != p:
        return "p n/a"
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def _fmt_posts(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


def _tz(name: object) -> ZoneInfo | None:
    if not isinstance(name, str) or not name.strip():
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        return None


def describe_window(start: pd.Timestamp, end: pd.Timestamp, timezone: str | None = None) -> str:
    """'2026-03-02 00:00 to 2026-03-09 00:00 Europe/Berlin (168 h)' from naive-UTC bounds."""
    return _describe_window(pd.Timestamp(start), pd.Timestamp(end), timezone if isinstance(timezone, str) else None)


@lru_cache(maxsize=4096)
def _describe_window(start: pd.Timestamp, end: pd.Timestamp, timezone: str | None) -> str:
    start_utc = pd.Timestamp(start).tz_localize("UTC") if pd.Timestamp(start).tz is None else pd.Timestamp(start)
    end_utc = pd.Timestamp(end).tz_localize("UTC") if pd.Timestamp(end).tz is None else pd.Timestamp(end)
    zone = _tz(timezone)
    label = "UTC"
    if zone is not None:
        start_utc, end_utc, label = start_utc.tz_convert(zone), end_utc.tz_convert(zone), str(timezone)
    hours = (end_utc - start_utc).total_seconds() / 3600
    return (f"{start_utc:%Y-%m-%d %H:%M} to {end_utc:%Y-%m-%d %H:%M} {label} "
            f"({_fmt_posts(round(hours, 1))} h)")


def _per_week(x: float) -> str:
    """'1 post/week', '2.5 posts/week'."""
    return f"{_fmt_posts(x)} post{'' if float(x) == 1 else 's'}/week"


def _advice(r: dict, t: RecommendationThresholds) -> str:
    """The action in plain words: what to do with the content type and why (no statistics)."""
    ct, n = r["content_type"], int(r["n"])
    conf = r["confounders"]
    cur, sug, change = r["current_posts_per_week"], int(r["suggested_posts_per_week"]), int(r["posts_change"])
    budget = int(r["posting_budget_per_week"])
    keep = f"Keep {_per_week(cur)}" if change == 0 else (
        f"Go from {_fmt_posts(cur)} to {_per_week(sug)} (posts freed by a decrease elsewhere; "
        f"the budget stays {_per_week(budget)})")
    code = r["reason_code"]
    if code == "confounded":
        return (f"Test {ct}; do not change its volume on this evidence: {conf} overlaps the window "
                f"and can explain a lift on its own. {keep}.")
    if code == "insufficient_data":
        return (f"Not enough data on {ct} to judge: n={n} is below the 10 subscribers a hypothesis "
                f"needs. {keep} and put a tracking link on them to collect data.")
    if code == "hypothesis":
        why = (f"n={n} is below the 25 subscribers a confident result needs" if n < 25 else
               "the result does not meet the confident tier (a significant lift and a score of at "
               "least 0.7)")
        return (f"Test {ct} before changing its volume: {why}. {keep} and put a tracking link on "
                f"them to collect more subscribers.")
    if code == "score_below_minimum":
        return (f"Test {ct}: its confidence score {r['confidence_score']:.2f} is below the configured "
                f"minimum {t.min_confidence_score:.2f}. {keep}.")
    if code == "lift_unavailable":
        return f"Test {ct}: no lift can be computed (no expected subscribers in the baseline). {keep}."
    if code == "lift_above_increase":
        if change > 0:
            head = f"Increase {ct} from {_fmt_posts(cur)} to {_per_week(sug)}."
        else:
            head = (f"Increase {ct} when you can: the posting budget of {_per_week(budget)} left no "
                    f"post to move to it, so it stays at {_per_week(sug)}.")
        head += f" Its lift is at or above the {t.increase_lift_pct:+.0f}% increase threshold."
        if 0 < change < t.post_step:
            head += f" (The budget covered {change} of the {t.post_step} extra posts.)"
        return head
    if code == "lift_below_decrease":
        head = (f"Decrease {ct} from {_fmt_posts(cur)} to {_per_week(sug)}." if change < 0 else
                f"Decrease {ct}: it is already at {_per_week(sug)}.")
        return head + f" Its lift is at or below the {t.decrease_lift_pct:+.0f}% decrease threshold."
    band = f"{t.decrease_lift_pct:+.0f}% to {t.increase_lift_pct:+.0f}%"
    if change == 0:
        return f"Maintain {ct} at {_per_week(sug)}: its lift is within the {band} band."
    if change < 0:
        return (f"Maintain {ct} (lift within the {band} band), but move {-change} of its posts to a "
                f"content type with a confident higher lift: {_fmt_posts(cur)} to {_per_week(sug)}, "
                f"budget {_per_week(budget)}.")
    return (f"Maintain {ct} (lift within the {band} band); it takes {change} post(s) freed by a "
            f"decrease: {_fmt_posts(cur)} to {_per_week(sug)}, budget {_per_week(budget)}.")


def _rationale(r: dict, advice: str) -> str:
    """The advice, then the window, n, lift, p-value, confidence and confounders behind it."""
    ct, n = r["content_type"], int(r["n"])
    measured = (
        f"In the window {r['window']}, {n} of the creator's {int(r['subscribers_total'])} new subscribers "
        f"had {ct} as their dominant content type against {r['expected_subscribers']:.1f} expected: "
        f"lift {_fmt_lift(r['lift_pct'])} ({_fmt_p(r['pvalue'])}), confidence {r['confidence_level']} "
        f"(score {r['confidence_score']:.2f}, tier {r['tier']}, n={n})."
    )
    conf = r["confounders"]
    return f"{advice} {measured} {'Confounders: ' + conf if conf else 'Confounders: none'}."


# ---------------------------------------------------------------------------------------
# Posting budget
# ---------------------------------------------------------------------------------------
def _largest_remainder(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per group, integers summing to round(sum(values)), each the floor or ceiling of its value.

    ``group`` holds sorted group codes 0..G-1. Vectorised: the rows with the largest
    fractional parts (ties: first row first) get the ceiling.
    """
    values = np.round(values.astype("float64"), 9)
    floors = np.floor(values)
    n_groups = int(group.max()) + 1 if len(group) else 0
    total = np.floor(np.bincount(group, weights=values, minlength=n_groups) + 0.5)
    short = (total - np.bincount(group, weights=floors, minlength=n_groups)).round().astype(np.int64)
    order = np.lexsort((np.arange(len(values)), -(values - floors), group))
    starts = np.searchsorted(group, np.arange(n_groups))
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(len(values)) - starts[group[order]]
    return floors.astype(np.int64) + (rank < short[group])


def _allocate(actions: list[str], lifts: list[float], confounded: list[bool], base: list[int],
              step: int, cap: int | None) -> list[int]:
    """Suggested posts per week for one creator-window (see the module docstring).

    Plain lists: a group is one row per content type, so this stays small.
    """
    sug = list(base)
    limit = cap if cap is not None else 1 << 62
    idx = range(len(sug))

    def key(i: int) -> float:
        return -np.inf if lifts[i] != lifts[i] else lifts[i]

    inc = sorted((i for i in idx if actions[i] == "increase"), key=key, reverse=True)
    maint_high_first = sorted((i for i in idx if actions[i] == "maintain"), key=key, reverse=True)
    maint_low_first = sorted((i for i in idx if actions[i] == "maintain"), key=key)
    pool = 0
    for i in idx:
        if actions[i] == "decrease":
            released = min(step, sug[i])
            sug[i] -= released
            pool += released
    wants = [max(0, min(step, limit - sug[i])) for i in inc]
    need = sum(wants) - pool
    for j in maint_low_first:
        if need <= 0:
            break
        give = min(step, sug[j], need)
        sug[j] -= give
        pool += give
        need -= give
    for i, want in zip(inc, wants, strict=True):
        got = min(want, pool)
        sug[i] += got
        pool -= got
    if pool > 0:
        tests = sorted((i for i in idx if actions[i] == "test" and not confounded[i]), key=key, reverse=True)
        recipients = [*inc, *maint_high_first, *tests]
        while pool > 0:
            open_ = [i for i in recipients if sug[i] < limit]
            if not open_:
                break
            for i in open_:
                if pool == 0:
                    break
                sug[i] += 1
                pool -= 1
    return sug


def _suggest_posts(df: pd.DataFrame, t: RecommendationThresholds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(base, suggested, budget) per row of ``df`` (sorted by creator-window)."""
    group = df.groupby(list(WINDOW_KEY), sort=False).ngroup().to_numpy()
    base = _largest_remainder(df["current_posts_per_week"].to_numpy(), group)
    budget = np.bincount(group, weights=base).astype(np.int64)[group]
    suggested = base.copy()
    moving = df["action"].isin(("increase", "decrease")).to_numpy()
    # only creator-windows with an increase or a decrease move posts; the rest keep their base
    active = np.isin(group, np.unique(group[moving]))
    if active.any():
        rows = np.flatnonzero(active)
        g = group[rows]
        bounds = np.flatnonzero(np.diff(g)) + 1
        actions = df["action"].to_numpy(dtype=object)[rows].tolist()
        lifts = df["lift_pct"].to_numpy(dtype="float64")[rows].tolist()
        confounded = df["is_confounded"].to_numpy(dtype=bool)[rows].tolist()
        b = base[rows].tolist()
        out: list[int] = []
        for lo, hi in zip([0, *bounds.tolist()], [*bounds.tolist(), len(rows)], strict=True):
            out += _allocate(actions[lo:hi], lifts[lo:hi], confounded[lo:hi], b[lo:hi], int(t.post_step),
                             t.max_posts_per_type)
        suggested[rows] = out
    if (suggested < 0).any():  # pragma: no cover - guaranteed by construction
        raise AssertionError("a suggested posts-per-week value came out negative")
    return base, suggested, budget


def _window_texts(df: pd.DataFrame) -> list[str]:
    """describe_window() of every row, computed once per distinct window and time zone."""
    tz = (df["agency_timezone"].astype(object).tolist() if "agency_timezone" in df.columns
          else [None] * len(df))
    # nanoseconds since the epoch (pandas 3 may hold microseconds: normalise before viewing)
    keys = list(zip(df["window_start"].to_numpy().astype("datetime64[ns]").view("i8").tolist(),
                    df["window_end"].to_numpy().astype("datetime64[ns]").view("i8").tolist(), tz, strict=True))
    texts = {k: describe_window(pd.Timestamp(k[0]), pd.Timestamp(k[1]), k[2]) for k in set(keys)}
    return [texts[k] for k in keys]


def _records(df: pd.DataFrame, columns: Iterable[str]) -> list[dict]:
    """Rows as dicts of plain Python values (much faster than to_dict on Arrow strings)."""
    cols = [c for c in columns if c in df.columns]
    values = [df[c].astype(object).tolist() for c in cols]
    return [dict(zip(cols, row, strict=True)) for row in zip(*values, strict=True)]


# ---------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------
def recommend(
    performance: pd.DataFrame,
    *,
    thresholds: RecommendationThresholds | None = None,
) -> pd.DataFrame:
    """``fct_recommendations`` rows: one per creator x window x content type.

    ``performance`` has the columns in ``PERFORMANCE_COLUMNS`` (module docstring). The
    result has ``RECOMMENDATION_COLUMNS``: the action and the rule that chose it
    (``reason_code``), tier, confidence, lift, ``n`` (= ``dominant_fans``), p-value, the
    current posts per week (``posts_in_window x 168 / window_hours``) and the suggested
    ones (integers that keep the creator-window posting budget), and a plain-words
    rationale that states the window, n, confidence and confounders. Timestamps come back
    as naive UTC. Raises ``ValueError`` with the offending column on bad input.
    """
    t = thresholds or RecommendationThresholds()
    df = _prepare_performance(performance)
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in RECOMMENDATION_COLUMNS})
    df = df.sort_values(list(KEY), kind="stable").reset_index(drop=True)

    df["window_hours"] = (df["window_end"] - df["window_start"]).dt.total_seconds() / 3600.0
    df["current_posts_per_week"] = (df["posts_in_window"] * 168.0 / df["window_hours"]).round(2)
    df["is_confounded"] = df["confounders"].str.len() > 0
    lift, tier = df["lift_pct"], df["tier"]
    confident = tier.eq("confident")
    conditions = [
        df["is_confounded"],
        tier.eq("insufficient_data"),
        tier.eq("hypothesis"),
        confident & (df["confidence_score"] < t.min_confidence_score),
        confident & lift.isna(),
        confident & (lift >= t.increase_lift_pct),
        confident & (lift <= t.decrease_lift_pct),
    ]
    codes = ["confounded", "insufficient_data", "hypothesis", "score_below_minimum", "lift_unavailable",
             "lift_above_increase", "lift_below_decrease"]
    df["reason_code"] = np.select(conditions, codes, default="lift_within_band")
    action_of = {"lift_above_increase": "increase", "lift_below_decrease": "decrease",
                 "lift_within_band": "maintain"}
    df["action"] = df["reason_code"].map(action_of).fillna("test")

    base, suggested, budget = _suggest_posts(df, t)
    df["suggested_posts_per_week"] = suggested
    df["posts_change"] = suggested - base
    df["posting_budget_per_week"] = budget
    df["n"] = df["dominant_fans"]
    records = _records(df, [c for c in RECOMMENDATION_COLUMNS if c not in ("window_start", "window_end")])
    for r, w in zip(records, _window_texts(df), strict=True):
        r["window"] = w
    advice = [_advice(r, t) for r in records]
    df["advice"] = advice
    df["rationale"] = [_rationale(r, a) for r, a in zip(records, advice, strict=True)]
    return df.loc[:, list(RECOMMENDATION_COLUMNS)]


def _require_recommendations(recommendations: pd.DataFrame) -> None:
    _require(recommendations, RECOMMENDATION_COLUMNS, "the recommendations frame (the output of recommend())")


def _window_status(rec: pd.DataFrame) -> pd.DataFrame:
    """Per creator-window: counts, confounders, and the plan status with its withheld reason."""
    keys = list(WINDOW_KEY)
    conf = rec["confounders"].fillna("").astype(str)
    flags = rec.loc[:, [*keys, "agency_id", "window_end", "subscribers_total"]].assign(
        any_confident=rec["action"].isin(("increase", "maintain", "decrease")),
        n_confident=rec["action"].isin(("increase", "maintain", "decrease")).astype(int),
        n_hypothesis=(rec["tier"] == "hypothesis").astype(int),
        n_insufficient=(rec["tier"] == "insufficient_data").astype(int),
        n_test=(rec["action"] == "test").astype(int),
    )
    per = flags.groupby(keys, sort=False).agg(
        agency_id=("agency_id", "first"), window_end=("window_end", "first"),
        subscribers_total=("subscribers_total", "first"), any_confident=("any_confident", "any"),
        n_confident=("n_confident", "sum"), n_hypothesis=("n_hypothesis", "sum"),
        n_insufficient=("n_insufficient", "sum"), n_test=("n_test", "sum"),
    ).reset_index()
    touched = rec.loc[conf.str.len() > 0, keys].assign(confounders=conf[conf.str.len() > 0])
    joined = touched.drop_duplicates().groupby(keys, sort=False)["confounders"].agg(
        lambda s: _join_confounders(CONFOUNDER_SEPARATOR.join(s))).rename("confounders").reset_index()
    per = per.merge(joined, on=keys, how="left")
    per["confounders"] = per["confounders"].fillna("").astype(object)
    reasons: list[str | None] = []
    for confs, any_conf, total, n_hyp, n_ins in zip(
            per["confounders"].tolist(), per["any_confident"].tolist(), per["subscribers_total"].tolist(),
            per["n_hypothesis"].tolist(), per["n_insufficient"].tolist(), strict=True):
        parts = []
        if confs:
            parts.append(f"A confounder overlaps this window ({confs}) and can explain a lift on its own, "
                         f"so no change is recommended on this week's evidence.")
        if not any_conf:
            parts.append(f"No content type has a confident result (n={int(total)} new subscribers in the "
                         f"window; {n_hyp} hypothesis, {n_ins} with insufficient data).")
        reasons.append("Plan withheld. " + " ".join(parts) + " Keep the current mix, run the tests and wait "
                       "for a clean week." if parts else None)
    per["withheld_reason"] = pd.Series(reasons, index=per.index, dtype=object)
    per["plan_status"] = np.where(per["withheld_reason"].isna(), "ready", "withheld")
    return per


def weekly_plan(recommendations: pd.DataFrame) -> pd.DataFrame:
    """The posting plan per creator and window, or why it is withheld.

    A plan is **withheld** for a creator-window when any of its rows is confounded, or when
    no row has a confident action (``increase``/``maintain``/``decrease``). A withheld
    creator-window is one row with ``plan_status='withheld'``, the ``withheld_reason`` and
    empty content-type columns (the "empty plan"). A ready one has ``plan_status='ready'``
    and one row per content type with its current and suggested posts per week. Columns:
    ``PLAN_COLUMNS``. Use :func:`plan_for` to get one creator's rows and reason.
    """
    _require_recommendations(recommendations)
    if recommendations.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in PLAN_COLUMNS})
    rec = recommendations.sort_values(list(KEY), kind="stable")
    per_window = _window_status(rec)
    ready_keys = per_window.loc[per_window["withheld_reason"].isna(), list(WINDOW_KEY)]
    ready = rec.merge(ready_keys, on=list(WINDOW_KEY), how="inner")
    ready = ready.assign(plan_status="ready", withheld_reason=None)
    withheld = per_window.loc[per_window["withheld_reason"].notna(),
                              ["creator_id", "agency_id", "window_start", "window_end", "withheld_reason"]]
    withheld = withheld.assign(plan_status="withheld")
    out = pd.concat([ready.loc[:, [c for c in PLAN_COLUMNS if c in ready.columns]], withheld],
                    ignore_index=True)
    out = out.reindex(columns=list(PLAN_COLUMNS))
    for col in ("n", "suggested_posts_per_week", "posting_budget_per_week"):
        out[col] = pd.to_numeric(out[col]).astype("Int64")
    return out.sort_values(["creator_id", "window_start", "content_type"], kind="stable",
                           na_position="first").reset_index(drop=True)


def plan_for(plan: pd.DataFrame, creator_id: str,
             window_start: pd.Timestamp | None = None) -> tuple[pd.DataFrame, str | None]:
    """One creator's plan rows and withheld reason (latest window unless one is given).

    Returns ``(rows, None)`` for a ready plan and ``(empty frame, reason)`` when withheld.
    """
    _require(plan, PLAN_COLUMNS, "the plan frame (the output of weekly_plan())")
    mine = plan.loc[plan["creator_id"].astype(str) == str(creator_id)]
    if mine.empty:
        raise ValueError(f"the plan has no rows for creator {creator_id!r}")
    starts = _utc_naive(mine["window_start"], "window_start")
    wanted = starts.max() if window_start is None else _utc_naive(pd.Series([window_start]), "window_start")[0]
    mine = mine.loc[starts == wanted]
    if mine.empty:
        raise ValueError(f"the plan has no rows for creator {creator_id!r} and window {window_start}")
    withheld = mine.loc[mine["plan_status"] == "withheld"]
    if not withheld.empty:
        return mine.iloc[0:0].reset_index(drop=True), str(withheld["withheld_reason"].iloc[0])
    return mine.reset_index(drop=True), None


RANKING_COLUMNS = ("creator_id", "agency_id", "window_start", "window_end", "rank", "content_type",
                   "lift_pct", "n", "pvalue", "tier", "confidence_level", "confidence_score",
                   "confounders")


def rank_content_types(performance: pd.DataFrame) -> pd.DataFrame:
    """Content types ranked by lift per creator and window (rank 1 = highest lift).

    Ties and missing lifts: NaN lifts rank last; equal lifts are broken by the larger ``n``
    (``dominant_fans``), then by content type name, so the ranking is deterministic. The
    tier and n travel with every rank so a reader never mistakes a lucky small sample for
    a winner. Columns: ``RANKING_COLUMNS``.
    """
    df = _prepare_performance(performance)
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in RANKING_COLUMNS})
    df["n"] = df["dominant_fans"]
    df["_lift_key"] = df["lift_pct"].fillna(-np.inf)
    df = df.sort_values(["creator_id", "window_start", "_lift_key", "n", "content_type"],
                        ascending=[True, True, False, False, True], kind="stable")
    df["rank"] = df.groupby(list(WINDOW_KEY), sort=False).cumcount() + 1
    return df.loc[:, list(RANKING_COLUMNS)].reset_index(drop=True)


SUMMARY_COLUMNS = ("creator_id", "agency_id", "window_start", "window_end", "subscribers_total",
                   "n_confident", "n_hypothesis", "n_insufficient_data", "top_content_type",
                   "top_lift_pct", "top_n", "top_confidence_level", "confounders", "plan_status",
                   "summary")


def creator_summary(recommendations: pd.DataFrame, *, latest_only: bool = False) -> pd.DataFrame:
    """A one-line summary per creator and window (or only each creator's latest window).

    ``top_*`` describe the confident, unconfounded type with the highest lift (empty when
    there is none). ``summary`` reads like: "2026-03-02 00:00 to 2026-03-09 00:00 UTC
    (168 h): 80 new subscribers. Increase storytime (+38%, n=31, confidence high). 2 types
    to test. Plan ready." Columns: ``SUMMARY_COLUMNS``.
    """
    _require_recommendations(recommendations)
    if recommendations.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in SUMMARY_COLUMNS})
    rec = recommendations.sort_values(list(KEY), kind="stable").copy()
    rec["window_start"] = _utc_naive(rec["window_start"], "window_start")
    if latest_only:
        latest = rec.groupby("creator_id")["window_start"].transform("max")
        rec = rec.loc[rec["window_start"] == latest]
    keys = list(WINDOW_KEY)
    per = _window_status(rec).sort_values(keys, kind="stable").reset_index(drop=True)
    confident = rec.loc[rec["action"].isin(("increase", "maintain", "decrease"))]
    # the changes in the order increase, decrease, maintain; content types alphabetical within
    order = confident["action"].map({"increase": 0, "decrease": 1, "maintain": 2})
    confident = confident.assign(_order=order).sort_values([*keys, "_order", "content_type"], kind="stable")
    fragments = [
        f"{a.capitalize()} {ct} ({_fmt_lift(lift)}, n={int(n)}, confidence {level})."
        for a, ct, lift, n, level in zip(
            confident["action"].tolist(), confident["content_type"].tolist(), confident["lift_pct"].tolist(),
            confident["n"].tolist(), confident["confidence_level"].tolist(), strict=True)
    ]
    changes = (confident.loc[:, keys].assign(changes=fragments).groupby(keys, sort=False)["changes"]
               .agg(" ".join).rename("changes").reset_index())
    top = (confident.sort_values([*keys, "lift_pct", "n"], ascending=[True, True, False, False],
                                 kind="stable", na_position="last")
           .drop_duplicates(keys)
           .loc[:, [*keys, "content_type", "lift_pct", "n", "confidence_level"]]
           .rename(columns={"content_type": "top_content_type", "lift_pct": "top_lift_pct", "n": "top_n",
                            "confidence_level": "top_confidence_level"}))
    per = per.merge(changes, on=keys, how="left").merge(top, on=keys, how="left")
    summaries = []
    for start, end, total, confs, change, n_test, status in zip(
            per["window_start"].tolist(), per["window_end"].tolist(), per["subscribers_total"].tolist(),
            per["confounders"].tolist(), per["changes"].tolist(), per["n_test"].tolist(),
            per["plan_status"].tolist(), strict=True):
        text = [f"{describe_window(start, end)}: {int(total)} new subscribers."]
        if confs:
            text.append(f"Confounded by {confs}.")
        text.append(change if isinstance(change, str) and change else "No confident result.")
        if n_test:
            text.append(f"{n_test} type{'s' if n_test != 1 else ''} to test.")
        text.append("Plan ready." if status == "ready" else "Plan withheld.")
        summaries.append(" ".join(text))
    per["summary"] = summaries
    out = per.rename(columns={"n_insufficient": "n_insufficient_data"}).loc[:, list(SUMMARY_COLUMNS)]
    out["top_n"] = pd.to_numeric(out["top_n"]).astype("Int64")
    out["top_lift_pct"] = pd.to_numeric(out["top_lift_pct"]).astype("float64")
    return out
