"""The Monday digest: one creator's week in plain text and HTML, written to disk and e-mailed.

A :class:`CreatorDigest` holds everything one digest shows, for ONE creator and ONE
window: the window, the creator's new subscribers against the baseline, the confounders,
the recommendation rows (:func:`funnellens.recommendations.recommend`), the weekly plan or
why it is withheld (:func:`funnellens.recommendations.weekly_plan` /
:func:`~funnellens.recommendations.plan_for`), and the chart rows
(:func:`funnellens.charts.lift_chart_rows`). :func:`digest_for_creator` builds one from
those frames.

- :func:`render_digest_text` and :func:`render_digest_html` render it. The HTML is
  self-contained (inline CSS, the chart as a base64 PNG ``data:`` URI, or a ``cid:``
  reference for e-mail bodies that carry the PNG as a related part). Every user-provided
  string is escaped with :func:`html.escape`.
- :func:`write_digest` writes ``<digest_dir>/<week_start>/<creator_id>.txt``, ``.html``
  and ``.png``; ``digest_dir`` defaults to ``FUNNELLENS_DIGEST_DIR``
  (``data/digests`` under the project).
- :func:`send_digest` e-mails it through :func:`funnellens.notify.send_email` (text, HTML
  alternative, PNG attachment) and returns False when SMTP is not configured.

Every number in a digest is printed with its n and its confidence (tier, level and score,
or an exact interval for the subscriber total).
"""

from __future__ import annotations

import base64
import html
import math
import os
import re
import tempfile
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from hashlib import sha256
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from funnellens import notify
from funnellens.charts import (
    CHART_HEIGHT_PX,
    CHART_WIDTH_PX,
    exact_lift_interval,
    lift_chart_png,
    lift_chart_rows,
)
from funnellens.config import get_settings
from funnellens.recommendations import CONFIDENCE_LEVELS, plan_for, split_confounders

CHART_CID = "lift-chart@funnellens"
"""Content-ID used by ``render_digest_html(..., chart_cid=CHART_CID)``."""

RECOMMENDATION_FIELDS = ("content_type", "action", "tier", "confidence_level", "confidence_score",
                         "lift_pct", "pvalue", "n", "current_posts_per_week", "suggested_posts_per_week",
                         "confounders", "advice")
"""Columns a digest needs from the recommendation rows (``recommend()`` output has them)."""

PLAN_FIELDS = ("content_type", "action", "tier", "confidence_level", "n", "lift_pct",
               "current_posts_per_week", "suggested_posts_per_week")
"""Columns a digest needs from ready plan rows (``weekly_plan()`` output has them)."""

INTERVAL_LEVEL = 0.95


# ---------------------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BaselineComparison:
    """The creator's new subscribers in the window against the baseline expectation.

    ``observed``: subscriber events in the window (this is its n). ``expected``: what the
    baseline predicts for the same window. ``baseline_days``: days of history behind it.
    ``insufficient_baseline``: True when fewer than 7 baseline days were available and
    ``expected`` is the documented default (the digest says so). ``pvalue`` and
    ``confidence_level`` are optional results of the Poisson test on observed vs expected;
    the digest always adds the exact 95% interval of the lift.
    """

    observed: int
    expected: float
    baseline_days: float
    insufficient_baseline: bool = False
    day_of_week_adjusted: bool = True
    pvalue: float | None = None
    confidence_level: str | None = None

    def __post_init__(self) -> None:
        if int(self.observed) != self.observed or self.observed < 0:
            raise ValueError(f"observed must be a whole number >= 0, got {self.observed}")
        if not math.isfinite(self.expected) or self.expected < 0:
            raise ValueError(f"expected must be a finite number >= 0, got {self.expected}")
        if not math.isfinite(self.baseline_days) or self.baseline_days < 0:
            raise ValueError(f"baseline_days must be >= 0, got {self.baseline_days}")
        if self.pvalue is not None and not (0 <= self.pvalue <= 1):
            raise ValueError(f"pvalue must be in [0, 1], got {self.pvalue}")
        if self.confidence_level is not None and self.confidence_level not in CONFIDENCE_LEVELS:
            raise ValueError(f"confidence_level must be one of {', '.join(CONFIDENCE_LEVELS)}, "
                             f"got {self.confidence_level!r}")


def _as_utc(value: datetime | pd.Timestamp | str, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} is not a timestamp: {value!r} ({exc})") from None
    if pd.isna(ts):
        raise ValueError(f"{name} is empty")
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def _naive_utc(values: pd.Series) -> pd.Series:
    ts = pd.to_datetime(values)
    return ts.dt.tz_convert("UTC").dt.tz_localize(None) if ts.dt.tz is not None else ts


def _missing(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} is missing column(s) {', '.join(missing)}")


@dataclass(frozen=True)
class CreatorDigest:
    """Everything one creator's digest shows (one creator, one window).

    ``window_start``/``window_end``: UTC (naive values are taken as UTC). ``agency_timezone``:
    IANA name the window is shown in. ``recommendations``: this creator's rows for this
    window from ``recommend()`` (``RECOMMENDATION_FIELDS``). ``plan``: the ready plan rows
    (``PLAN_FIELDS``), empty when withheld; ``plan_withheld_reason``: why, or None when a
    plan is given. ``chart_rows``: ``lift_chart_rows()`` rows for this creator and window.
    ``confounders``: the names; the ones in the recommendation rows are added. ``sample``:
    label the digest as illustrative sample data (documentation, tests).
    """

    creator_id: str
    window_start: datetime | pd.Timestamp
    window_end: datetime | pd.Timestamp
    baseline: BaselineComparison
    recommendations: pd.DataFrame
    chart_rows: pd.DataFrame
    plan: pd.DataFrame = field(default_factory=pd.DataFrame)
    plan_withheld_reason: str | None = None
    confounders: Sequence[str] = ()
    creator_name: str | None = None
    agency_name: str | None = None
    agency_timezone: str = "UTC"
    sample: bool = False

    def __post_init__(self) -> None:
        if not str(self.creator_id).strip():
            raise ValueError("creator_id is empty")
        start = _as_utc(self.window_start, "window_start")
        end = _as_utc(self.window_end, "window_end")
        if end <= start:
            raise ValueError(f"window_end ({end}) must be after window_start ({start})")
        try:
            ZoneInfo(self.agency_timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValueError(f"agency_timezone {self.agency_timezone!r} is not an IANA time zone") from None
        _missing(self.recommendations, RECOMMENDATION_FIELDS, "recommendations")
        _missing(self.chart_rows, ("content_type", "lift_pct", "lift_ci_low", "lift_ci_high", "n", "tier"),
                 "chart_rows")
        if self.plan_withheld_reason is None:
            _missing(self.plan, PLAN_FIELDS, "plan")
            if self.plan.empty:
                raise ValueError("give either plan rows or plan_withheld_reason (the plan is empty)")
        elif not str(self.plan_withheld_reason).strip():
            raise ValueError("plan_withheld_reason is empty")
        object.__setattr__(self, "window_start", start)
        object.__setattr__(self, "window_end", end)
        names: dict[str, None] = {}
        for name in [*self.confounders, *self.recommendations["confounders"]]:
            for part in split_confounders(name):
                names.setdefault(part, None)
        object.__setattr__(self, "confounders", tuple(names))

    @property
    def display_name(self) -> str:
        name = (self.creator_name or "").strip()
        return f"{name} ({self.creator_id})" if name and name != self.creator_id else str(self.creator_id)

    @property
    def week_start(self) -> date:
        """The window's first day in the agency's time zone (the digest folder's name)."""
        return self.window_start.tz_convert(ZoneInfo(self.agency_timezone)).date()  # type: ignore[union-attr]

    @cached_property
    def chart_png(self) -> bytes:
        """The lift chart as PNG bytes (rendered once)."""
        title = f"Lift by content type, week of {self.week_start:%d %b %Y}"
        if self.sample:
            title = "SAMPLE DATA: " + title
        return lift_chart_png(self.chart_rows, title)


def digest_for_creator(
    creator_id: str,
    *,
    recommendations: pd.DataFrame,
    plan: pd.DataFrame,
    performance: pd.DataFrame,
    baseline: BaselineComparison,
    window_start: datetime | pd.Timestamp | None = None,
    creator_name: str | None = None,
    agency_name: str | None = None,
    agency_timezone: str = "UTC",
    confounders: Sequence[str] = (),
) -> CreatorDigest:
    """Build one creator's digest from the whole-warehouse frames.

    Picks the creator's rows of ``recommendations`` (``recommend()``), ``plan``
    (``weekly_plan()``) and ``performance`` (for the chart's exact intervals) for
    ``window_start``, by default the creator's latest window in ``recommendations``.
    """
    cid = str(creator_id)
    rec = recommendations.loc[recommendations["creator_id"].astype(str) == cid]
    if rec.empty:
        raise ValueError(f"no recommendation rows for creator {cid!r}")
    starts = _naive_utc(rec["window_start"])
    wanted = starts.max() if window_start is None else _as_utc(window_start, "window_start").tz_localize(None)
    rec = rec.loc[starts == wanted]
    if rec.empty:
        raise ValueError(f"no recommendation rows for creator {cid!r} and window {window_start}")
    perf = performance.loc[(performance["creator_id"].astype(str) == cid)
                           & (_naive_utc(performance["window_start"]) == wanted)]
    rows, reason = plan_for(plan, cid, wanted)
    return CreatorDigest(
        creator_id=cid,
        window_start=wanted,
        window_end=pd.Timestamp(rec["window_end"].iloc[0]),
        baseline=baseline,
        recommendations=rec.reset_index(drop=True),
        chart_rows=lift_chart_rows(perf, level=INTERVAL_LEVEL),
        plan=rows,
        plan_withheld_reason=reason,
        confounders=confounders,
        creator_name=creator_name,
        agency_name=agency_name,
        agency_timezone=agency_timezone,
    )


# ---------------------------------------------------------------------------------------
# Wording shared by the text and HTML renderings
# ---------------------------------------------------------------------------------------
def _num(x: object) -> float:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return v


def _signed_pct(x: float) -> str:
    if math.isnan(x):
        return "n/a"
    v = round(x)
    return "0%" if v == 0 else f"{v:+d}%"


def _p(x: float) -> str:
    if math.isnan(x):
        return "p n/a"
    return "p<0.001" if x < 0.001 else f"p={x:.3f}"


def _posts(x: object) -> str:
    v = _num(x)
    if math.isnan(v):
        return "n/a"
    return f"{v:.0f}" if v.is_integer() else f"{v:.1f}"


def _window_text(d: CreatorDigest) -> str:
    zone = ZoneInfo(d.agency_timezone)
    start = d.window_start.tz_convert(zone)  # type: ignore[union-attr]
    end = d.window_end.tz_convert(zone)  # type: ignore[union-attr]
    hours = (d.window_end - d.window_start).total_seconds() / 3600  # type: ignore[operator]
    return (f"{start:%a %d %b %Y %H:%M} to {end:%a %d %b %Y %H:%M} ({d.agency_timezone}, "
            f"{_posts(round(hours, 1))} h)")


def _intervals(d: CreatorDigest) -> dict[str, tuple[float, float]]:
    rows = d.chart_rows
    return {str(r.content_type): (_num(r.lift_ci_low), _num(r.lift_ci_high))
            for r in rows.itertuples(index=False)}


def _stats(r: pd.Series, interval: tuple[float, float] | None) -> str:
    """'lift +40% [+1%, +89%], n=42, p=0.010, confidence high (score 0.85, confident)'."""
    lift = _num(r["lift_pct"])
    iv = ""
    if interval and not any(math.isnan(v) for v in interval):
        iv = f" [{_signed_pct(interval[0])}, {_signed_pct(interval[1])}]"
    return (f"lift {_signed_pct(lift)}{iv}, n={int(r['n'])}, {_p(_num(r['pvalue']))}, confidence "
            f"{r['confidence_level']} (score {_num(r['confidence_score']):.2f}, {str(r['tier']).replace('_', ' ')})")


@dataclass(frozen=True)
class _Item:
    headline: str
    stats: str
    detail: str


def _sections(d: CreatorDigest) -> dict[str, object]:
    """The digest's content, independent of the output format."""
    b = d.baseline
    lift = (b.observed / b.expected - 1) * 100 if b.expected > 0 else math.nan
    low, high = exact_lift_interval(b.observed, b.expected, INTERVAL_LEVEL)
    days = f"{_posts(b.baseline_days)}-day baseline" + (", day-of-week adjusted" if b.day_of_week_adjusted else "")
    test = []
    if b.pvalue is not None:
        test.append(_p(b.pvalue))
    test.append(f"confidence {b.confidence_level}" if b.confidence_level else "confidence: interval only")
    baseline = (
        f"{b.observed} new subscribers (n={b.observed}) against {b.expected:.1f} expected from a {days}: "
        f"{_signed_pct(lift)} [{int(INTERVAL_LEVEL * 100)}% interval {_signed_pct(float(low))} to "
        f"{_signed_pct(float(high))}], {', '.join(test)}."
    )
    baseline_flag = None
    if b.insufficient_baseline:
        baseline_flag = (
            f"Insufficient baseline: only {_posts(b.baseline_days)} day(s) of history before the window "
            f"(7 needed). The expected {b.expected:.1f} is the documented default, not a measurement: "
            f"treat this comparison as indicative only."
        )
    intervals = _intervals(d)
    rec = d.recommendations.copy()
    rec["_lift"] = pd.to_numeric(rec["lift_pct"]).fillna(-math.inf)
    rec = rec.sort_values(["_lift", "n", "content_type"], ascending=[False, False, True], kind="stable")
    confident, hypotheses, insufficient = [], [], []
    for _, r in rec.iterrows():
        ct = str(r["content_type"])
        stats = _stats(r, intervals.get(ct))
        action = str(r["action"])
        conf = "; ".join(split_confounders(r["confounders"]))
        item = _Item(f"{action.capitalize()} {ct}", stats, str(r["advice"]))
        if action in ("increase", "decrease", "maintain"):
            confident.append(item)
        elif str(r["tier"]) == "insufficient_data" and not conf:
            insufficient.append(_Item(ct, stats, str(r["advice"])))
        else:
            hypotheses.append(item)
    plan_rows = []
    if d.plan_withheld_reason is None:
        plan = d.plan.sort_values("content_type", kind="stable")
        for _, r in plan.iterrows():
            plan_rows.append({
                "content_type": str(r["content_type"]),
                "now": _posts(r["current_posts_per_week"]),
                "suggested": _posts(r["suggested_posts_per_week"]),
                "action": str(r["action"]),
                "lift": _signed_pct(_num(r["lift_pct"])),
                "n": str(int(r["n"])),
                "confidence": f"{r['confidence_level']}, {str(r['tier']).replace('_', ' ')}",
            })
    return {
        "baseline": baseline,
        "baseline_flag": baseline_flag,
        "confident": confident,
        "hypotheses": hypotheses,
        "insufficient": insufficient,
        "plan_rows": plan_rows,
    }


SAMPLE_NOTICE = "SAMPLE DATA: illustrative input for documentation and tests, not real results."
CONFOUNDER_NOTE = ("A confounder can explain a lift on its own: every recommendation it touches is a "
                   "test, and the weekly plan is withheld.")
HOW_TO_READ = (
    "How to read this: n is the number of new subscribers whose dominant content type it is (for the "
    "total, all new subscribers in the window). Lift compares n with what the baseline predicts; "
    "brackets are exact 95% Poisson intervals. Confidence comes from subscriber counts, never post "
    "counts: under 10 is insufficient data, 10 to 24 at most a hypothesis, and confident needs 25 or "
    "more, a significant lift, a score of at least 0.7 and no confounder."
)


# ---------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------
def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, width=100, initial_indent=indent, subsequent_indent=indent) or [indent]


def render_digest_text(digest: CreatorDigest) -> str:
    """The digest as plain text (UTF-8), lines wrapped at 100 characters."""
    d, s = digest, _sections(digest)
    out: list[str] = []
    if d.sample:
        out += [f"*** {SAMPLE_NOTICE} ***", ""]
    out.append(f"FunnelLens Monday digest: {d.display_name}")
    if d.agency_name:
        out.append(f"Agency: {d.agency_name}")
    out += [f"Window: {_window_text(d)}", ""]
    out.append("SUBSCRIBERS VS BASELINE")
    out += _wrap(str(s["baseline"]), "  ")
    if s["baseline_flag"]:
        out += _wrap("! " + str(s["baseline_flag"]), "  ")
    out.append("")
    out.append("CONFOUNDER ALERT" if d.confounders else "CONFOUNDERS")
    if d.confounders:
        out += [f"  ! {name}" for name in d.confounders]
        out += _wrap(CONFOUNDER_NOTE, "  ")
    else:
        out.append("  No confounder overlaps this window.")
    for title, key, empty in (
        ("CONFIDENT RECOMMENDATIONS", "confident", "No confident recommendation this week."),
        ("HYPOTHESES TO TEST", "hypotheses", "Nothing to test this week."),
        ("NOT ENOUGH DATA YET", "insufficient", None),
    ):
        items: list[_Item] = s[key]  # type: ignore[assignment]
        if not items and empty is None:
            continue
        out += ["", title]
        if not items:
            out.append(f"  {empty}")
        for item in items:
            out += _wrap(f"- {item.headline}", "  ")
            out += _wrap(item.stats, "    ")
            out += _wrap(item.detail, "    ")
    out += ["", "WEEKLY PLAN"]
    if d.plan_withheld_reason is not None:
        out += _wrap(str(d.plan_withheld_reason), "  ")
    else:
        rows: list[dict[str, str]] = s["plan_rows"]  # type: ignore[assignment]
        head = {"content_type": "content type", "now": "now/wk", "suggested": "suggested/wk",
                "action": "action", "lift": "lift", "n": "n", "confidence": "confidence"}
        widths = {k: max(len(head[k]), *(len(r[k]) for r in rows)) for k in head}
        out.append("  " + "  ".join(head[k].ljust(widths[k]) for k in head).rstrip())
        for r in rows:
            out.append("  " + "  ".join(r[k].ljust(widths[k]) for k in head).rstrip())
    out += ["", "CHART"]
    out += _wrap("Lift by content type with its exact 95% interval, n and confidence: the PNG attached to "
                 "the e-mail, or written beside this file; the HTML digest shows it inline.", "  ")
    out += [""] + _wrap(HOW_TO_READ, "")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------
def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


_FONT = "font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;"
_H2 = f"{_FONT}font-size:17px;margin:26px 0 8px 0;color:#1f2328;border-bottom:1px solid #e1e4e8;padding-bottom:4px;"
_P = f"{_FONT}font-size:14px;line-height:1.5;margin:6px 0;color:#1f2328;"
_SMALL = f"{_FONT}font-size:12.5px;line-height:1.45;color:#57606a;"
_TD = f"{_FONT}font-size:13px;padding:5px 8px;border-bottom:1px solid #e1e4e8;text-align:left;"


def _items_html(items: list[_Item], colour: str, empty: str) -> str:
    if not items:
        return f'<p style="{_P}">{_e(empty)}</p>'
    lis = []
    for item in items:
        lis.append(
            f'<li style="margin:0 0 12px 0;padding-left:10px;border-left:4px solid {colour};list-style:none;">'
            f'<div style="{_P}font-weight:600;margin:0;">{_e(item.headline)}</div>'
            f'<div style="{_P}margin:2px 0;">{_e(item.stats)}</div>'
            f'<div style="{_SMALL}">{_e(item.detail)}</div></li>'
        )
    return f'<ul style="margin:0;padding:0;">{"".join(lis)}</ul>'


def render_digest_html(digest: CreatorDigest, *, chart_cid: str | None = None) -> str:
    """The digest as one self-contained HTML document (inline CSS, no external resources).

    The chart is a base64 PNG ``data:`` URI, or ``cid:<chart_cid>`` when ``chart_cid`` is
    given (for an e-mail that carries the PNG as a related part with that Content-ID).
    """
    d, s = digest, _sections(digest)
    if chart_cid is None:
        src = "data:image/png;base64," + base64.b64encode(d.chart_png).decode("ascii")
    else:
        src = "cid:" + chart_cid
    parts: list[str] = []
    if d.sample:
        parts.append(f'<div style="{_P}background:#fff8c5;border:2px dashed #9a6700;padding:8px 12px;'
                     f'font-weight:700;">{_e(SAMPLE_NOTICE)}</div>')
    parts.append(f'<h1 style="{_FONT}font-size:22px;margin:14px 0 4px 0;">Monday digest: '
                 f'{_e(d.display_name)}</h1>')
    meta = f"Window: {_window_text(d)}"
    if d.agency_name:
        meta = f"Agency: {d.agency_name} · " + meta
    parts.append(f'<p style="{_SMALL}margin:0 0 8px 0;">{_e(meta)}</p>')

    parts.append(f'<h2 style="{_H2}">Subscribers vs baseline</h2><p style="{_P}">{_e(s["baseline"])}</p>')
    if s["baseline_flag"]:
        parts.append(f'<p style="{_P}background:#fff8c5;padding:6px 10px;border-left:4px solid #d4a72c;">'
                     f'{_e(s["baseline_flag"])}</p>')

    if d.confounders:
        names = "".join(f'<li style="{_P}margin:2px 0;">{_e(n)}</li>' for n in d.confounders)
        parts.append(
            f'<div style="margin:18px 0 0 0;padding:10px 14px;background:#ffebe9;border:1px solid #cf222e;'
            f'border-left:6px solid #cf222e;"><div style="{_P}font-weight:700;color:#a40e26;margin:0;">'
            f'Confounder alert</div><ul style="margin:4px 0 4px 18px;padding:0;">{names}</ul>'
            f'<div style="{_SMALL}color:#1f2328;">{_e(CONFOUNDER_NOTE)}</div></div>'
        )
    else:
        parts.append(f'<p style="{_P}color:#1a7f37;margin-top:14px;">No confounder overlaps this window.</p>')

    parts.append(f'<h2 style="{_H2}">Confident recommendations</h2>')
    parts.append(_items_html(s["confident"], "#1b7f3b", "No confident recommendation this week."))  # type: ignore[arg-type]
    parts.append(f'<h2 style="{_H2}">Hypotheses to test</h2>')
    parts.append(_items_html(s["hypotheses"], "#d99a00", "Nothing to test this week."))  # type: ignore[arg-type]
    if s["insufficient"]:
        parts.append(f'<h2 style="{_H2}">Not enough data yet</h2>')
        parts.append(_items_html(s["insufficient"], "#9aa0a6", ""))  # type: ignore[arg-type]

    parts.append(f'<h2 style="{_H2}">Weekly plan</h2>')
    if d.plan_withheld_reason is not None:
        parts.append(f'<p style="{_P}background:#f6f8fa;padding:8px 12px;border-left:4px solid #57606a;">'
                     f'{_e(d.plan_withheld_reason)}</p>')
    else:
        heads = ("Content type", "Now /wk", "Suggested /wk", "Action", "Lift", "n", "Confidence")
        keys = ("content_type", "now", "suggested", "action", "lift", "n", "confidence")
        th = "".join(f'<th style="{_TD}background:#f6f8fa;">{_e(h)}</th>' for h in heads)
        trs = "".join(
            "<tr>" + "".join(f'<td style="{_TD}">{_e(r[k])}</td>' for k in keys) + "</tr>"
            for r in s["plan_rows"]  # type: ignore[union-attr]
        )
        parts.append(f'<table style="border-collapse:collapse;width:100%;" role="table"><thead><tr>{th}'
                     f'</tr></thead><tbody>{trs}</tbody></table>')

    parts.append(f'<h2 style="{_H2}">Lift by content type</h2>')
    parts.append(
        f'<img src="{_e(src)}" width="{CHART_WIDTH_PX}" height="{CHART_HEIGHT_PX}" '
        f'alt="{_e("Bar chart of lift by content type with exact 95% intervals, n and confidence")}" '
        f'style="display:block;max-width:100%;height:auto;border:1px solid #e1e4e8;">'
    )
    parts.append(f'<p style="{_SMALL}margin-top:20px;">{_e(HOW_TO_READ)}</p>')
    title = f"FunnelLens digest: {d.display_name}"
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title></head>\n"
        '<body style="margin:0;padding:0;background:#f4f5f7;">\n'
        f'<div style="max-width:840px;margin:0 auto;padding:20px 24px;background:#ffffff;">\n{body}\n'
        "</div>\n</body></html>\n"
    )


# ---------------------------------------------------------------------------------------
# Delivery
# ---------------------------------------------------------------------------------------
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_file_stem(creator_id: str) -> str:
    """A file name for a creator id that cannot leave its folder ('../x' -> '_.._x-<hash>')."""
    raw = str(creator_id)
    stem = _SAFE.sub("_", raw).strip(".") or "_"
    if stem != raw:
        stem = f"{stem[:80]}-{sha256(raw.encode('utf-8')).hexdigest()[:8]}"
    return stem


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_digest(digest: CreatorDigest, out_dir: Path | None = None,
                 week_start: date | None = None) -> list[Path]:
    """Write ``<out_dir>/<week_start>/<creator_id>.txt``, ``.html`` and ``.png``; return the paths.

    ``out_dir`` defaults to ``get_settings().digest_dir`` (``FUNNELLENS_DIGEST_DIR``, by default
    ``data/digests``); ``week_start`` to the window's first day in the agency time zone. The
    HTML embeds the chart, so it stands alone; the PNG is the same chart. Files are replaced
    atomically, so a re-run overwrites the week's digest and a reader never sees half a file.
    """
    folder = Path(out_dir) if out_dir is not None else get_settings().digest_dir
    week = week_start or digest.week_start
    target = folder / week.isoformat()
    target.mkdir(parents=True, exist_ok=True)
    stem = safe_file_stem(digest.creator_id)
    files = {
        target / f"{stem}.txt": render_digest_text(digest).encode("utf-8"),
        target / f"{stem}.html": render_digest_html(digest).encode("utf-8"),
        target / f"{stem}.png": digest.chart_png,
    }
    for path, data in files.items():
        _atomic_write(path, data)
    return list(files)


def digest_subject(digest: CreatorDigest) -> str:
    """'FunnelLens digest: Name (id), week of 02 Mar 2026' on one line (no header injection)."""
    subject = f"FunnelLens digest: {digest.display_name}, week of {digest.week_start:%d %b %Y}"
    if digest.sample:
        subject = "[SAMPLE] " + subject
    return " ".join(subject.split())[:200]


def send_digest(
    digest: CreatorDigest,
    to: Sequence[str],
    *,
    subject: str | None = None,
    settings: notify.SmtpSettings | None = None,
) -> bool:
    """E-mail the digest: text body, HTML alternative (chart inline), chart PNG attached.

    Uses :func:`funnellens.notify.send_email` and its SMTP settings (``SMTP_HOST``, ...).
    Returns False, sending nothing, when SMTP is not configured or ``to`` is empty; SMTP
    errors propagate (the caller has already written the digest to disk).
    """
    recipients = [a.strip() for a in to if a and a.strip()]
    png_name = f"lift-chart-{safe_file_stem(digest.creator_id)}.png"
    return notify.send_email(
        " ".join((subject or digest_subject(digest)).split()),
        render_digest_text(digest),
        recipients,
        html=render_digest_html(digest),
        attachments=[(png_name, digest.chart_png, "image/png")],
        settings=settings,
    )
