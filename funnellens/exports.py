"""Funnel report exports (issue 5, point 11): validation, file naming, writers, cleanup.

The Dagster export job is a thin wrapper around this module (``docs/funnels.md``, "Exports"):

1. :func:`validate_export_request` (or constructing :class:`ExportRequest`) checks the run config
   ``funnel_id``, ``report_type``, ``date_from``, ``date_to`` and ``format`` and fails at once,
   before any query, with every problem named (:class:`ExportRequestError`);
2. :func:`run_export` runs the report's SQL (:data:`REPORT_QUERIES`) with the request as
   parameters, checks the result has the documented columns (:data:`REPORT_COLUMNS`), and
   3. writes it with :func:`write_export` to :func:`export_path`:
   ``<export_dir>/<funnel_id>/<report_type>_<date_from>_<date_to>_<YYYYMMDDTHHMMSSZ>.<ext>``;
4. :func:`cleanup_exports` deletes export files older than a maximum age (default 24 h).

Limits: the date range is inclusive at both ends and covers at most :data:`MAX_RANGE_DAYS` (366)
days, so any calendar year (leap years included) fits and 367 days is an error. An XLSX sheet
holds at most 1,048,575 data rows; the PDF's table pages show the first :data:`PDF_TABLE_MAX_ROWS`
rows (the CSV and XLSX files have them all).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import textwrap
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from funnellens.funnel_rules import DropoffThresholds, SuggestionRules, dropoff_suggestions

REPORT_TYPES = ("overview", "conversions", "dropoffs", "revenue")
EXPORT_FORMATS = ("csv", "xlsx", "pdf")
MAX_RANGE_DAYS = 366
"""Most days (inclusive of both ends) one export may cover."""
DEFAULT_MAX_AGE_HOURS = 24.0
PDF_TABLE_ROWS_PER_PAGE = 30
PDF_TABLE_MAX_ROWS = 300
PDF_TABLE_MAX_COLUMNS = 9
XLSX_MAX_DATA_ROWS = 1_048_575
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"

_FUNNEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_EXPORT_NAME = re.compile(
    "^(?:" + "|".join(REPORT_TYPES) + r")_\d{4}-\d{2}-\d{2}_\d{4}-\d{2}-\d{2}_\d{8}T\d{6}Z\.(?:"
    + "|".join(EXPORT_FORMATS) + ")$"
)
_PARTIAL_NAME = re.compile(r"^\..+\.partial-[0-9a-f]{32}$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportRequestError(ValueError):
    """An export request that cannot run; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid export request: " + "; ".join(self.problems))


class ExportError(RuntimeError):
    """An export that was valid but could not be produced (missing mart, wrong columns, ...)."""


# ---------------------------------------------------------------------------------------
# The request
# ---------------------------------------------------------------------------------------


def _parse_date(value: object, name: str, problems: list[str]) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    problems.append(f"{name} {value!r} is not a date (expected YYYY-MM-DD)")
    return None


def _choice(value: object, name: str, allowed: tuple[str, ...], problems: list[str]) -> str:
    text = value.strip().lower() if isinstance(value, str) else value
    if text not in allowed:
        problems.append(f"{name} {value!r} is not one of {', '.join(allowed)}")
    return text if isinstance(text, str) else str(value)


@dataclass(frozen=True)
class ExportRequest:
    """One export: a funnel, a report type, an inclusive date range and a file format.

    Construction validates and normalises (report type and format are case-insensitive; dates
    may be ``date`` objects or ``YYYY-MM-DD`` text) and raises :class:`ExportRequestError` naming
    every problem: an unknown report type or format, an unparseable date, ``date_from`` after
    ``date_to``, a range of more than :data:`MAX_RANGE_DAYS` days, or a ``funnel_id`` that is not
    a safe folder name (letters, digits, ``_``, ``-``, ``.``; it names a folder).
    """

    funnel_id: str
    report_type: str
    date_from: date
    date_to: date
    format: str

    def __post_init__(self) -> None:
        problems: list[str] = []
        funnel_id = self.funnel_id.strip() if isinstance(self.funnel_id, str) else self.funnel_id
        if not isinstance(funnel_id, str) or not _FUNNEL_ID.match(funnel_id) or ".." in funnel_id:
            problems.append(
                f"funnel_id {self.funnel_id!r} must be 1-128 letters, digits, '_', '-' or '.', "
                "starting with a letter or digit (it names the export folder)"
            )
        report_type = _choice(self.report_type, "report_type", REPORT_TYPES, problems)
        fmt = _choice(self.format, "format", EXPORT_FORMATS, problems)
        date_from = _parse_date(self.date_from, "date_from", problems)
        date_to = _parse_date(self.date_to, "date_to", problems)
        if date_from is not None and date_to is not None:
            days = (date_to - date_from).days + 1
            if date_from > date_to:
                problems.append(f"date_from {date_from} is after date_to {date_to}")
            elif days > MAX_RANGE_DAYS:
                problems.append(
                    f"the range {date_from} to {date_to} covers {days} days; one export covers at most "
                    f"{MAX_RANGE_DAYS} days (both ends included): split it into shorter ranges"
                )
        if problems:
            raise ExportRequestError(problems)
        object.__setattr__(self, "funnel_id", funnel_id)
        object.__setattr__(self, "report_type", report_type)
        object.__setattr__(self, "format", fmt)
        object.__setattr__(self, "date_from", date_from)
        object.__setattr__(self, "date_to", date_to)

    @property
    def days(self) -> int:
        """Days covered, both ends included."""
        return (self.date_to - self.date_from).days + 1

    def as_dict(self) -> dict[str, str]:
        """The request as text, for run metadata and the PDF title page."""
        return {
            "funnel_id": self.funnel_id,
            "report_type": self.report_type,
            "date_from": self.date_from.isoformat(),
            "date_to": self.date_to.isoformat(),
            "days": str(self.days),
            "format": self.format,
        }


def validate_export_request(
    funnel_id: str,
    report_type: str,
    date_from: date | str,
    date_to: date | str,
    format: str,
) -> ExportRequest:
    """Validate an export's run config and return the normalised :class:`ExportRequest`.

    Raises :class:`ExportRequestError` (a ``ValueError``) listing every problem at once; its
    ``problems`` attribute has one message per problem. The rules are on :class:`ExportRequest`.
    """
    return ExportRequest(funnel_id, report_type, date_from, date_to, format)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------
# File naming and cleanup
# ---------------------------------------------------------------------------------------


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def export_path(export_dir: str | os.PathLike[str], request: ExportRequest, now: datetime | None = None) -> Path:
    """Where an export is written.

    ``<export_dir>/<funnel_id>/<report_type>_<date_from>_<date_to>_<YYYYMMDDTHHMMSSZ>.<format>``,
    e.g. ``exports/checkout/dropoffs_2026-01-01_2026-01-31_20260201T060000Z.pdf``. The timestamp is
    ``now`` in UTC (a naive ``now`` is taken as UTC; default: the current time).
    """
    if not isinstance(request, ExportRequest):
        raise TypeError(f"request must be an ExportRequest, got {type(request).__name__}")
    stamp = _utc(now).strftime(TIMESTAMP_FORMAT)
    name = f"{request.report_type}_{request.date_from}_{request.date_to}_{stamp}.{request.format}"
    root = Path(export_dir)
    path = root / request.funnel_id / name
    if not path.resolve().is_relative_to(root.resolve()):  # funnel_id is validated; belt and braces
        raise ExportError(f"export path {path} would leave the export folder {root}")
    return path


def cleanup_exports(
    export_dir: str | os.PathLike[str],
    max_age_hours: float = DEFAULT_MAX_AGE_HOURS,
    now: datetime | None = None,
) -> list[Path]:
    """Delete export files last modified more than ``max_age_hours`` before ``now``; return them.

    Only files inside ``export_dir`` whose names follow :func:`export_path`'s pattern (and the
    hidden ``.partial-*`` files of an interrupted write) are candidates: any other file is left
    alone, so a misconfigured folder loses nothing else. Symbolic links are not followed (a link
    to a folder outside is never entered). Funnel folders left empty are removed. A missing
    ``export_dir`` deletes nothing.
    """
    hours = float(max_age_hours)
    if math.isnan(hours) or hours < 0:
        raise ValueError(f"max_age_hours must be a non-negative number of hours, got {max_age_hours!r}")
    root = Path(export_dir)
    if not root.is_dir():
        return []
    root = root.resolve()
    cutoff = _utc(now).timestamp() - hours * 3600
    deleted: list[Path] = []
    for dirpath, _dirnames, filenames in os.walk(root, topdown=False, followlinks=False):
        folder = Path(dirpath)
        if not folder.resolve().is_relative_to(root):
            continue
        deleted_here = False
        for name in filenames:
            if not (_EXPORT_NAME.match(name) or _PARTIAL_NAME.match(name)):
                continue
            path = folder / name
            try:
                if path.lstat().st_mtime < cutoff:
                    path.unlink()
                    deleted.append(path)
                    deleted_here = True
            except FileNotFoundError:  # removed concurrently: nothing to do
                continue
        if folder != root and deleted_here and not any(folder.iterdir()):
            with contextlib.suppress(OSError):  # a new export may have just arrived
                folder.rmdir()
    return sorted(deleted)


# ---------------------------------------------------------------------------------------
# Report queries
# ---------------------------------------------------------------------------------------

REPORT_QUERIES: dict[str, str] = {
    "overview": """
        SELECT CAST(period_start AS DATE) AS period_start,
               visitors_total, visitors_unique, visitors_new, visitors_returning,
               conversions, conversion_rate, conversion_value,
               revenue_per_visitor, revenue_per_conversion
        FROM marts.fct_funnel_overview
        WHERE funnel_id = $funnel_id AND grain = 'day'
          AND CAST(period_start AS DATE) BETWEEN $date_from AND $date_to
        ORDER BY period_start
    """,
    "conversions": """
        SELECT CAST(period_start AS DATE) AS period_start, conversion_type,
               CAST(sum(conversions) AS BIGINT) AS conversions, sum(conversion_value) AS conversion_value
        FROM marts.fct_funnel_conversions
        WHERE funnel_id = $funnel_id AND grain = 'day'
          AND CAST(period_start AS DATE) BETWEEN $date_from AND $date_to
        GROUP BY ALL
        ORDER BY period_start, conversion_type
    """,
    "dropoffs": """
        SELECT $funnel_id AS funnel_id, step_order, step_id, any_value(step_name) AS step_name,
               CAST(sum(entries) AS BIGINT) AS entries, CAST(sum(dropoffs) AS BIGINT) AS dropoffs,
               sum(dropoffs) / nullif(sum(entries), 0) AS dropoff_rate
        FROM marts.fct_funnel_dropoffs
        WHERE funnel_id = $funnel_id AND grain = 'day'
          AND CAST(period_start AS DATE) BETWEEN $date_from AND $date_to
        GROUP BY step_order, step_id
        ORDER BY step_order, step_id
    """,
    "revenue": """
        SELECT CAST(period_start AS DATE) AS period_start,
               revenue, refunds, net_revenue, visitors, conversions,
               revenue / nullif(visitors, 0) AS revenue_per_visitor,
               revenue / nullif(conversions, 0) AS revenue_per_conversion,
               refunds / nullif(revenue, 0) AS refund_rate
        FROM marts.fct_funnel_revenue
        WHERE funnel_id = $funnel_id AND grain = 'day'
          AND CAST(period_start AS DATE) BETWEEN $date_from AND $date_to
        ORDER BY period_start
    """,
}
"""SQL per report type, with the DuckDB parameters ``$funnel_id``, ``$date_from`` and ``$date_to``
(DATEs, both ends included). They read the funnel marts at day grain; the mart columns they assume
are in ``docs/funnels.md`` ("Exports"). The integrator must align these queries with the marts as
built (names of marts and columns); :data:`REPORT_COLUMNS` is what every query must return."""

REPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "overview": ("period_start", "visitors_unique", "conversions"),
    "conversions": ("period_start", "conversion_type", "conversions"),
    "dropoffs": ("funnel_id", "step_order", "step_id", "step_name", "entries", "dropoffs", "dropoff_rate"),
    "revenue": ("period_start", "revenue", "refunds", "net_revenue"),
}
"""Columns each report's query must return (the charts and post-processing use them)."""

REPORT_TITLES = {
    "overview": "Funnel overview",
    "conversions": "Conversions",
    "dropoffs": "Drop-offs",
    "revenue": "Revenue",
}


def _check_report_columns(df: pd.DataFrame, report_type: str) -> None:
    missing = [c for c in REPORT_COLUMNS[report_type] if c not in df.columns]
    if missing:
        raise ExportError(
            f"the {report_type} report lacks the column(s) {', '.join(missing)}; it needs "
            f"{', '.join(REPORT_COLUMNS[report_type])} (align REPORT_QUERIES[{report_type!r}] with the mart)"
        )


def _postprocess_dropoffs(
    df: pd.DataFrame, thresholds: DropoffThresholds | None, rules: SuggestionRules | None
) -> pd.DataFrame:
    """Severity and suggestions for the range's per-step totals (docs/funnels.md)."""
    if df.empty:
        return df.assign(severity=pd.Series(dtype=object), suggestions=pd.Series(dtype=object))
    scored = dropoff_suggestions(df, thresholds=thresholds, rules=rules)
    scored["suggestions"] = scored["suggestions"].map(" | ".join)
    return scored.drop(columns=["rule_ids"])


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def run_export(
    con: duckdb.DuckDBPyConnection,
    request: ExportRequest,
    export_dir: str | os.PathLike[str] | None = None,
    *,
    now: datetime | None = None,
    title: str | None = None,
    thresholds: DropoffThresholds | None = None,
    rules: SuggestionRules | None = None,
) -> Path:
    """Run the report's query for the request and write the export file; return its path.

    ``export_dir`` defaults to ``FUNNELLENS_EXPORT_DIR`` (``funnellens.config``). The dropoffs
    report gets ``severity`` and ``suggestions`` (joined with `` | ``) from
    :func:`funnellens.funnel_rules.dropoff_suggestions` over the range's per-step totals.
    Raises :class:`ExportError` when a mart is missing or lacks the documented columns.
    """
    if not isinstance(request, ExportRequest):
        raise TypeError(f"request must be an ExportRequest, got {type(request).__name__}")
    if export_dir is None:
        from funnellens.config import get_settings

        export_dir = get_settings().export_dir
    query = REPORT_QUERIES[request.report_type]
    params = {"funnel_id": request.funnel_id, "date_from": request.date_from, "date_to": request.date_to}
    try:
        df = con.execute(query, params).df()
    except duckdb.CatalogException as exc:
        raise ExportError(
            f"the {request.report_type} report cannot read its mart ({_first_line(exc)}); build the funnel "
            "marts first or align REPORT_QUERIES with them"
        ) from exc
    except duckdb.BinderException as exc:
        raise ExportError(
            f"the {request.report_type} report query does not match its mart ({_first_line(exc)}); align "
            f"REPORT_QUERIES[{request.report_type!r}] with the mart's columns"
        ) from exc
    _check_report_columns(df, request.report_type)
    if request.report_type == "dropoffs":
        df = _postprocess_dropoffs(df, thresholds, rules)
    path = export_path(export_dir, request, now)
    return write_export(df, request, path, title=title, now=now)


# ---------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------


def default_title(request: ExportRequest) -> str:
    """'Drop-offs: funnel checkout, 2026-01-01 to 2026-01-31'."""
    return f"{REPORT_TITLES[request.report_type]}: funnel {request.funnel_id}, {request.date_from} to {request.date_to}"


def _guard_text(value: object) -> object:
    """Prefix text that a spreadsheet would run as a formula with ``'`` (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _cell_text(value: object) -> object:
    """Lists/dicts (e.g. DuckDB LIST or STRUCT values) as JSON text; everything else unchanged."""
    if isinstance(value, list | tuple | dict | np.ndarray):
        return json.dumps(value.tolist() if isinstance(value, np.ndarray) else value, default=str, ensure_ascii=False)
    return value


def _text_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if df[c].dtype == object or pd.api.types.is_string_dtype(df[c].dtype)]


def _prepare_csv(df: pd.DataFrame, guard_formulas: bool) -> pd.DataFrame:
    out = df.copy()
    for column in _text_columns(out):
        values = out[column].map(_cell_text, na_action="ignore")
        out[column] = values.map(_guard_text, na_action="ignore") if guard_formulas else values
    return out


def _write_csv(df: pd.DataFrame, path: Path, guard_formulas: bool) -> None:
    _prepare_csv(df, guard_formulas).to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def _xlsx_value(value: object) -> object:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)  # Excel has no time zones: UTC, documented
    value = _cell_text(value)
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _write_xlsx(df: pd.DataFrame, request: ExportRequest, path: Path, title: str, generated: datetime) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    if len(df) > XLSX_MAX_DATA_ROWS:
        raise ExportError(
            f"{len(df):,} rows do not fit in one XLSX sheet (at most {XLSX_MAX_DATA_ROWS:,}); export CSV "
            "or a shorter range"
        )
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = request.report_type
    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor="305496")
    columns = [str(c) for c in df.columns]
    sheet.append(columns)
    for cell in sheet[1]:
        cell.font = header_font
        cell.fill = header_fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    widths = [len(c) for c in columns]
    for row in df.itertuples(index=False, name=None):  # report rows (mart aggregates), not events
        values = [_xlsx_value(v) for v in row]
        sheet.append(values)
        for j, v in enumerate(values):
            if v is not None:
                widths[j] = max(widths[j], min(len(str(v)), 60))
    for j, column in enumerate(columns, start=1):
        letter = get_column_letter(j)
        sheet.column_dimensions[letter].width = min(max(widths[j - 1] + 2, 8), 62)
        number_format = None
        if column.endswith(("_rate", "_share")):
            number_format = "0.0%"
        elif pd.api.types.is_datetime64_any_dtype(df[column].dtype):
            number_format = "yyyy-mm-dd hh:mm:ss"
        elif len(df) and isinstance(df[column].iloc[0], date) and not isinstance(df[column].iloc[0], datetime):
            number_format = "yyyy-mm-dd"
        for cells in sheet.iter_rows(min_row=2, min_col=j, max_col=j):
            cell = cells[0]
            if cell.data_type == "f":  # text that starts with '=' stays text, never a formula
                cell.data_type = "s"
            if number_format and cell.value is not None:
                cell.number_format = number_format
    sheet.freeze_panes = "A2"
    if columns:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(df) + 1}"

    about = workbook.create_sheet("parameters")
    about.append(["parameter", "value"])
    for cell in about[1]:
        cell.font = header_font
        cell.fill = header_fill
    about.append(["title", title])
    for key, value in request.as_dict().items():
        about.append([key, value])
    about.append(["rows", len(df)])
    about.append(["generated_at_utc", generated.strftime("%Y-%m-%d %H:%M:%S")])
    about.column_dimensions["A"].width = 20
    about.column_dimensions["B"].width = max(30, min(len(title) + 2, 100))
    workbook.properties.title = title
    workbook.save(path)


# --- PDF -------------------------------------------------------------------------------

_SEVERITY_COLOURS = {"low": "#70AD47", "medium": "#FFC000", "high": "#C00000", "insufficient_data": "#A5A5A5"}


def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, errors="coerce")


def _chart_overview(ax, df: pd.DataFrame) -> None:  # noqa: ANN001 - matplotlib Axes
    data = df.assign(_d=_dates(df["period_start"])).sort_values("_d")
    ax.plot(data["_d"], data["visitors_unique"], color="#305496", marker="o", markersize=3,
            label="unique visitors", rasterized=True)
    ax.plot(data["_d"], data["conversions"], color="#ED7D31", marker="o", markersize=3, label="conversions",
            rasterized=True)
    ax.set_title("Visitors and conversions per day")
    ax.set_ylabel("count")
    ax.legend(loc="upper left")


def _chart_conversions(ax, df: pd.DataFrame) -> None:  # noqa: ANN001
    by_type = df.groupby("conversion_type", dropna=False)["conversions"].sum().sort_values(ascending=False)
    labels = [str(x) for x in by_type.index]
    ax.bar(labels, by_type.to_numpy(dtype=float), color="#305496", rasterized=True)
    ax.set_title("Conversions by type over the range")
    ax.set_ylabel("conversions")
    for i, v in enumerate(by_type.to_numpy(dtype=float)):
        ax.annotate(f"{v:,.0f}", (i, v), ha="center", va="bottom", fontsize=8)


def _chart_dropoffs(ax, df: pd.DataFrame) -> None:  # noqa: ANN001
    data = df.sort_values("step_order")
    labels = [
        f"{int(o)}. {n if isinstance(n, str) and n else s}"
        for o, n, s in zip(data["step_order"], data["step_name"], data["step_id"], strict=True)
    ]
    rates = pd.to_numeric(data["dropoff_rate"], errors="coerce").fillna(0).to_numpy() * 100
    colours = (
        [_SEVERITY_COLOURS.get(str(s), "#305496") for s in data["severity"]]
        if "severity" in data.columns
        else ["#305496"] * len(data)
    )
    ax.bar(labels, rates, color=colours, rasterized=True)
    ax.set_title("Drop-off rate by step" + (" (colour: severity)" if "severity" in data.columns else ""))
    ax.set_ylabel("drop-off rate (%)")
    ax.set_ylim(0, max(100.0, float(rates.max()) if len(rates) else 100.0))
    for i, v in enumerate(rates):
        ax.annotate(f"{v:.0f}%", (i, v), ha="center", va="bottom", fontsize=8)
    ax.tick_params(axis="x", labelrotation=20)


def _chart_revenue(ax, df: pd.DataFrame) -> None:  # noqa: ANN001
    data = df.assign(_d=_dates(df["period_start"])).sort_values("_d")
    ax.bar(data["_d"], data["revenue"], color="#A9C4EB", label="revenue", rasterized=True)
    ax.bar(data["_d"], -pd.to_numeric(data["refunds"]).abs(), color="#C00000", label="refunds", rasterized=True)
    ax.plot(data["_d"], data["net_revenue"], color="#203864", marker="o", markersize=3, label="net revenue",
            rasterized=True)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_title("Revenue, refunds and net revenue per day")
    ax.set_ylabel("amount")
    ax.legend(loc="upper left")


_CHARTS: dict[str, Callable[..., None]] = {
    "overview": _chart_overview,
    "conversions": _chart_conversions,
    "dropoffs": _chart_dropoffs,
    "revenue": _chart_revenue,
}


def _pdf_cell(value: object, width: int = 28) -> str:
    value = _cell_text(value)
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float | np.floating):
        text = f"{value:,.0f}" if abs(value) >= 1000 or float(value).is_integer() else f"{value:.4g}"
    elif isinstance(value, pd.Timestamp | datetime):
        stamp = pd.Timestamp(value)
        text = stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else stamp.strftime("%Y-%m-%d %H:%M")
    else:
        text = str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def _suggestion_pages(pdf, df: pd.DataFrame, title: str, size: tuple[float, float]) -> None:  # noqa: ANN001
    from matplotlib.figure import Figure

    lines: list[str] = []
    for row in df.sort_values("step_order").itertuples(index=False):
        name = row.step_name if isinstance(row.step_name, str) and row.step_name else row.step_id
        rate = "n/a" if pd.isna(row.dropoff_rate) else f"{100 * float(row.dropoff_rate):.0f}%"
        severity = getattr(row, "severity", "")
        lines.append(f"{row.step_order}. {name}: {int(row.dropoffs):,} of {int(row.entries):,} entries dropped "
                     f"off ({rate}), severity {severity}")
        texts = [t for t in str(row.suggestions or "").split(" | ") if t.strip()]
        for text in texts or ["no rule fired for this step"]:
            wrapped = textwrap.wrap(text, width=120)
            lines.append("   - " + wrapped[0])
            lines.extend("     " + more for more in wrapped[1:])
        lines.append("")
    per_page = 40
    for start in range(0, len(lines), per_page):
        fig = Figure(figsize=size)
        fig.suptitle(f"{title}: suggestions (rules in docs/funnels.md)", fontsize=10)
        fig.text(0.05, 0.92, "\n".join(lines[start:start + per_page]), fontsize=8, va="top", family="monospace")
        pdf.savefig(fig)


def _write_pdf(df: pd.DataFrame, request: ExportRequest, path: Path, title: str, generated: datetime) -> None:
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    a4_landscape = (11.69, 8.27)
    with PdfPages(path, metadata={"Title": title, "Subject": f"FunnelLens {request.report_type} export",
                                  "Creator": "FunnelLens"}) as pdf:
        # 1. Title page: the request parameters.
        fig = Figure(figsize=a4_landscape)
        fig.text(0.08, 0.85, title, fontsize=18, weight="bold", wrap=True)
        lines = [f"{k.replace('_', ' ')}: {v}" for k, v in request.as_dict().items()]
        lines += [f"rows: {len(df):,}", f"generated: {generated:%Y-%m-%d %H:%M:%S} UTC"]
        fig.text(0.08, 0.75, "\n".join(lines), fontsize=12, va="top", family="monospace")
        pdf.savefig(fig)

        # 2. Chart page.
        fig = Figure(figsize=a4_landscape)
        ax = fig.add_subplot(1, 1, 1)
        if df.empty:
            ax.text(0.5, 0.5, "No rows for this funnel and date range", ha="center", va="center", fontsize=14)
            ax.set_axis_off()
        else:
            _CHARTS[request.report_type](ax, df)
            ax.grid(True, axis="y", alpha=0.3)
        fig.suptitle(title, fontsize=11)
        fig.tight_layout()
        if not df.empty and request.report_type in ("overview", "revenue"):
            fig.autofmt_xdate()
        pdf.savefig(fig)

        # 3. Drop-off reports: every step's severity and suggestions in full.
        if request.report_type == "dropoffs" and "suggestions" in df.columns and not df.empty:
            _suggestion_pages(pdf, df, title, a4_landscape)

        # 4. Table pages.
        shown = df.head(PDF_TABLE_MAX_ROWS)
        columns = [str(c) for c in df.columns[:PDF_TABLE_MAX_COLUMNS]]
        notes = []
        if len(df) > len(shown):
            notes.append(f"first {len(shown):,} of {len(df):,} rows")
        if len(df.columns) > len(columns):
            notes.append("columns not shown: " + ", ".join(str(c) for c in df.columns[len(columns):]))
        pages = max(1, math.ceil(len(shown) / PDF_TABLE_ROWS_PER_PAGE))
        for page in range(pages):
            fig = Figure(figsize=a4_landscape)
            ax = fig.add_subplot(1, 1, 1)
            ax.set_axis_off()
            chunk = shown.iloc[page * PDF_TABLE_ROWS_PER_PAGE:(page + 1) * PDF_TABLE_ROWS_PER_PAGE]
            header = f"{title}: table, page {page + 1} of {pages}"
            if notes:
                header += " (" + "; ".join(notes) + "; the CSV/XLSX export has everything)"
            fig.suptitle(header, fontsize=9, wrap=True)
            if chunk.empty or not columns:
                ax.text(0.5, 0.5, "No rows", ha="center", va="center", fontsize=12)
            else:
                cells = [[_pdf_cell(v) for v in row[: len(columns)]] for row in chunk.itertuples(index=False)]
                table = ax.table(cellText=cells, colLabels=columns, loc="upper center", cellLoc="left")
                table.auto_set_font_size(False)
                table.set_fontsize(7)
                table.scale(1, 1.25)
            pdf.savefig(fig)


def write_export(
    df: pd.DataFrame,
    request: ExportRequest,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    now: datetime | None = None,
    guard_formulas: bool = True,
) -> Path:
    """Write ``df`` as the request's format to ``path`` and return the path.

    - ``csv``: UTF-8 (no BOM), comma-separated, RFC 4180 quoting by pandas (fields with commas,
      quotes or newlines are quoted, quotes doubled), ``\\n`` line ends, no index.
    - ``xlsx`` (openpyxl): a sheet named after the report type with a styled, frozen, filterable
      header and fitted column widths, and a ``parameters`` sheet with the request.
    - ``pdf`` (matplotlib ``PdfPages``): a title page with the request parameters, a chart page
      (overview: visitors and conversions per day; conversions: by type; dropoffs: drop-off rate
      by step coloured by severity; revenue: revenue, refunds and net per day) and table pages.

    With ``guard_formulas`` (default), text cells starting with ``= + - @`` or a tab/CR are
    prefixed with ``'`` in CSV so spreadsheets do not run them (CSV injection); XLSX cells are
    always written as text, never formulas. Lists/dicts are written as JSON text. Timestamps with
    a time zone are written in UTC. The file appears atomically (written to a hidden ``.partial``
    file, then renamed), so a reader or :func:`cleanup_exports` never sees half a file.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if not isinstance(request, ExportRequest):
        raise TypeError(f"request must be an ExportRequest, got {type(request).__name__}")
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix != request.format:
        raise ExportError(f"path {path} does not end in .{request.format} (the request's format)")
    if request.format == "pdf" and not df.empty:
        _check_report_columns(df, request.report_type)
    title = title or default_title(request)
    generated = _utc(now)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial-{uuid.uuid4().hex}")
    writers: Mapping[str, Callable[[], None]] = {
        "csv": lambda: _write_csv(df, partial, guard_formulas),
        "xlsx": lambda: _write_xlsx(df, request, partial, title, generated),
        "pdf": lambda: _write_pdf(df, request, partial, title, generated),
    }
    try:
        writers[request.format]()
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path
