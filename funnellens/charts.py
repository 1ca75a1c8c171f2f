"""Charts for the digest: lift by content type with its exact interval, as PNG bytes.

Rendering uses matplotlib's Agg canvas directly (``Figure`` + ``FigureCanvasAgg``), so it
needs no display, does not touch pyplot's global state, and is safe to call from Dagster
workers. The PNG is always ``CHART_WIDTH_PX`` x ``CHART_HEIGHT_PX`` pixels.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from funnellens.stats import poisson_ci

CHART_DPI = 100
CHART_WIDTH_PX = 800
CHART_HEIGHT_PX = 450
MAX_BARS = 14
"""At most this many content types are drawn (highest lift first); the title says so."""

LIFT_AXIS_MAX = 400.0
"""The lift axis stops at +400%; a longer interval ends in an arrow at the edge."""

TIER_COLOURS = {
    "confident": "#1b7f3b",
    "hypothesis": "#d99a00",
    "insufficient_data": "#9aa0a6",
}
TIER_LABELS = {
    "confident": "confident",
    "hypothesis": "hypothesis (test it)",
    "insufficient_data": "insufficient data",
}

CHART_ROW_COLUMNS = ("content_type", "lift_pct", "lift_ci_low", "lift_ci_high", "n", "tier")
"""Required columns of :func:`lift_chart_png`'s rows; ``confidence_level`` is optional."""


def exact_lift_interval(
    observed: np.ndarray | pd.Series | float,
    expected: np.ndarray | pd.Series | float,
    level: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval of the lift ``(lambda / expected - 1) x 100`` in percent.

    ``observed`` is a Poisson count k with mean lambda, ``expected`` the baseline
    expectation E. With a = 1 - level, the Garwood bounds of lambda are
    ``L = chi2.ppf(a/2, 2k) / 2`` (0 when k = 0) and ``U = chi2.ppf(1 - a/2, 2k + 2) / 2``;
    they solve ``P(X >= k | L) = a/2`` and ``P(X <= k | U) = a/2``. The lift bounds are
    ``(L/E - 1) x 100`` and ``(U/E - 1) x 100``; NaN where E <= 0 or k is missing or
    invalid. The ratio interval is :func:`funnellens.stats.poisson_ci` (R's ``poisson.test``).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    low, high = poisson_ci(observed, expected, conf_level=level, alternative="two-sided", on_invalid="nan")
    low_pct, high_pct = (np.asarray(low) - 1) * 100, (np.asarray(high) - 1) * 100
    return low_pct, high_pct


def lift_chart_rows(performance: pd.DataFrame, *, level: float = 0.95) -> pd.DataFrame:
    """Chart rows from performance rows: the lift and its exact interval per content type.

    Uses ``content_type``, ``lift_pct``, ``dominant_fans`` (n, the Poisson count),
    ``expected_subscribers``, ``tier`` and ``confidence_level``; the interval is
    :func:`exact_lift_interval` of ``dominant_fans`` against ``expected_subscribers``, so it
    matches ``lift_pct`` when that is ``(dominant_fans / expected - 1) x 100``. Other
    columns (creator_id, window_start, ...) are kept.
    """
    needed = ("content_type", "lift_pct", "dominant_fans", "expected_subscribers", "tier",
              "confidence_level")
    missing = [c for c in needed if c not in performance.columns]
    if missing:
        raise ValueError(f"the performance rows are missing column(s) {', '.join(missing)}")
    out = performance.copy()
    low, high = exact_lift_interval(out["dominant_fans"], out["expected_subscribers"], level)
    out["lift_ci_low"] = low
    out["lift_ci_high"] = high
    out["n"] = pd.to_numeric(out["dominant_fans"]).astype("int64")
    out["interval_level"] = level
    return out


def _plain(text: object, limit: int) -> str:
    """User text as matplotlib plain text: '$' would start mathtext; long labels are cut."""
    s = " ".join(str(text).split())
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return s.replace("\\", "\\\\").replace("$", r"\$")


def _signed(x: float) -> str:
    """Whole-number percentage with a sign; '0' instead of '-0'."""
    v = round(float(x))
    return "0" if v == 0 else f"{v:+d}"


def _fmt_pct(x: float) -> str:
    return "n/a" if np.isnan(x) else f"{_signed(x)}%"


def lift_chart_png(rows: pd.DataFrame, title: str) -> bytes:
    """A horizontal bar chart of lift % by content type with its interval, as PNG bytes.

    ``rows`` has ``CHART_ROW_COLUMNS`` (``lift_chart_rows`` builds them): one bar per
    content type, coloured by tier (green confident, amber hypothesis, grey insufficient
    data), a line for the interval, and beside each bar its lift, interval, n and
    confidence level. Always ``CHART_WIDTH_PX`` x ``CHART_HEIGHT_PX`` pixels.
    """
    missing = [c for c in CHART_ROW_COLUMNS if c not in rows.columns]
    if missing:
        raise ValueError(f"the chart rows are missing column(s) {', '.join(missing)}")
    df = rows.copy()
    for col in ("lift_pct", "lift_ci_low", "lift_ci_high", "n"):
        df[col] = pd.to_numeric(df[col]).astype("float64")
    df["_key"] = df["lift_pct"].fillna(-np.inf)
    df = df.sort_values(["_key", "n", "content_type"], ascending=[False, False, True], kind="stable")
    total = len(df)
    df = df.head(MAX_BARS).iloc[::-1].reset_index(drop=True)  # barh draws bottom-up

    fig = Figure(figsize=(CHART_WIDTH_PX / CHART_DPI, CHART_HEIGHT_PX / CHART_DPI), dpi=CHART_DPI)
    FigureCanvasAgg(fig)
    fig.patch.set_facecolor("white")
    shown = _plain(title, 72) + (f"  ({MAX_BARS} of {total} types)" if total > MAX_BARS else "")
    fig.suptitle(shown, x=0.02, y=0.97, ha="left", fontsize=12, fontweight="bold")
    ax = fig.add_axes((0.19, 0.14, 0.52, 0.68))
    fig.legend(
        handles=[Patch(color=TIER_COLOURS[t], label=TIER_LABELS[t]) for t in TIER_COLOURS],
        loc="upper left", bbox_to_anchor=(0.015, 0.915), ncol=3, frameon=False, fontsize=9,
    )
    ax.set_xlabel("lift vs expected subscribers, % (line: exact interval)", fontsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)

    if df.empty:
        ax.set_xlim(-100, 100)
        ax.set_yticks([])
        ax.text(0.5, 0.5, "No content-type results in this window", ha="center", va="center",
                transform=ax.transAxes, fontsize=11, color="#555555")
    else:
        lift = df["lift_pct"].to_numpy()
        low = df["lift_ci_low"].to_numpy()
        high = df["lift_ci_high"].to_numpy()
        finite = np.concatenate([lift, low, high, [0.0]])
        finite = finite[np.isfinite(finite)]
        xmin = max(min(finite.min(), 0.0), -100.0)
        xmax = min(max(finite.max(), 0.0), LIFT_AXIS_MAX)
        span = max(xmax - xmin, 20.0)
        xmin, xmax = xmin - 0.06 * span, xmax + 0.06 * span
        y = np.arange(len(df))
        colours = [TIER_COLOURS.get(str(t), "#9aa0a6") for t in df["tier"]]
        ax.barh(y, np.nan_to_num(lift, nan=0.0), color=colours, height=0.62, zorder=2)
        for yi, lo, hi in zip(y, low, high, strict=True):
            if np.isnan(lo) or np.isnan(hi):
                continue
            right = min(hi, xmax)
            ax.plot([max(lo, xmin), right], [yi, yi], color="#222222", lw=1.3, zorder=3)
            ax.plot([max(lo, xmin)], [yi], marker="|", color="#222222", ms=8, zorder=3)
            ax.plot([right], [yi], marker=">" if hi > xmax else "|", color="#222222",
                    ms=6 if hi > xmax else 8, zorder=3)
        ax.axvline(0, color="#444444", lw=0.8, zorder=1)
        ax.set_xlim(xmin, xmax)
        ax.set_ylim(-0.6, len(df) - 0.4)
        ax.set_yticks(y, [_plain(c, 22) for c in df["content_type"]], fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", color="#e5e5e5", zorder=0)
        has_level = "confidence_level" in df.columns
        for i, r in enumerate(df.itertuples(index=False)):
            level = f", {_plain(r.confidence_level, 10)}" if has_level and pd.notna(r.confidence_level) else ""
            n_txt = "n/a" if np.isnan(r.n) else f"{r.n:.0f}"
            interval = ("" if np.isnan(r.lift_ci_low) or np.isnan(r.lift_ci_high)
                        else f" [{_signed(r.lift_ci_low)}, {_signed(r.lift_ci_high)}]")
            ax.annotate(f"{_fmt_pct(r.lift_pct)}{interval}  n={n_txt}{level}", xy=(1.0, i),
                        xycoords=("axes fraction", "data"), xytext=(6, 0), textcoords="offset points",
                        va="center", ha="left", fontsize=8.5, color="#222222", annotation_clip=False)

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=CHART_DPI, facecolor="white", metadata={"Software": None})
    return buf.getvalue()
