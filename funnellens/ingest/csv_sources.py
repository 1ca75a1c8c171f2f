"""Parsers of the CSV sources: header mapping, export variants and the per-source value rules.

Two steps, so that a source with thousands of small exports (daily post snapshots) costs one
vectorised pass, not thousands:

1. :func:`map_csv`, per file: map the header to contract columns (or reject the file), and attach
   what the file's name, folder and export variant say (creator, snapshot time, platform, ...) as
   columns. No value is parsed here.
2. :func:`finish_csv`, once over the mapped rows of all files of a source: type and check every
   value and apply the source's rules, vectorised.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from funnellens.contract import SOURCES, Column, Source
from funnellens.ingest.csv_reader import CsvRecords
from funnellens.ingest.errors import FileRejected
from funnellens.ingest.headers import HeaderMapping, describe_unmapped, map_headers, normalize_header
from funnellens.ingest.landing import (
    LandingFile,
    creator_from_filename,
    creator_from_folders,
    platform_from_folders,
    snapshot_from_filename,
)
from funnellens.ingest.rows import (
    RowChecks,
    check_non_negative,
    check_order,
    check_timezones,
    quoted,
    split_rows,
    type_columns,
)
from funnellens.ingest.values import clean_text, currency_from_symbols, link_codes, revenue_types

DERIVED_IDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "touchpoints": ("touchpoint_id", ("user_id", "touched_at", "channel", "campaign")),
    "tracking_events": ("event_id", ("session_id", "event_type", "funnel_step_id", "page_id", "occurred_at")),
    "product_events": ("event_id", ("event_name", "user_id", "anonymous_id", "occurred_at", "properties")),
    "erasure_requests": ("request_id", ("subject_type", "subject_id", "requested_at")),
}
"""Ids that, when absent, are the MD5 of other columns (see :func:`derived_id_sql`)."""

META_IGNORED_HEADERS = ("Account name", "Data comment", "Date")
"""Meta Business Suite headers that map to no raw column (Date is read as the snapshot time)."""

SOCIAL_MARKERS = {
    "tiktok_studio": {"video_title", "video_link", "post_time", "total_likes", "total_comments",
                      "total_shares", "total_views"},
    "meta_business_suite": {"account_id", "account_username", "account_name", "description",
                            "duration_(sec)", "publish_time", "permalink", "post_type", "data_comment",
                            "impressions", "reach", "follows", "saves"},
    "normalized": {"platform", "creator_id", "snapshot_at", "post_url", "caption", "published_at", "views"},
}
VARIANT_PLATFORM = {"tiktok_studio": "tiktok", "meta_business_suite": "instagram"}
COUNT_COLUMNS = ("views", "reach", "likes", "comments", "shares", "saves", "follows", "clicks")
PATH_CREATOR_SOURCES = ("social_posts", "subscribers", "revenue")
"""Sources whose creator may come from the folder or the file name instead of a column."""


def derived_id_sql(source_name: str, alias: str = "") -> str | None:
    """SQL for a source's derived id: ``md5`` of the documented columns joined with ``|``.

    A NULL part is the empty string; a timestamp is written ``%Y-%m-%dT%H:%M:%S.%f`` (UTC, six
    fraction digits), a JSON value as its minified text. Example for touchpoints:
    ``md5('u1|2026-03-01T10:00:00.000000|paid_social|spring')``.
    """
    if source_name not in DERIVED_IDS:
        return None
    source = SOURCES[source_name]
    _id, parts = DERIVED_IDS[source_name]
    prefix = f"{alias}." if alias else ""
    exprs = []
    for name in parts:
        ref = f'{prefix}"{name}"'
        if source.column(name).dtype == "TIMESTAMP":
            exprs.append(f"coalesce(strftime({ref}, '%Y-%m-%dT%H:%M:%S.%f'), '')")
        else:
            exprs.append(f"coalesce(CAST({ref} AS VARCHAR), '')")
    return f"md5(concat_ws('|', {', '.join(exprs)}))"


# ---------------------------------------------------------------------------------------------
# Step 1: per file
# ---------------------------------------------------------------------------------------------


@dataclass
class MappedFile:
    """A file's rows under contract column names, and what the file itself says about them.

    Plain arrays, no DataFrame: thousands of small files are combined into one frame in
    :func:`finish_csv` at the cost of one concatenation per column.
    """

    records: CsvRecords
    columns: dict[str, np.ndarray]
    """contract column -> object array of strings"""
    context: dict[str, object]
    """file-level values (``_rel``, ``_creator``, ``_snapshot``, ...), repeated for every row later"""
    warnings: list[str]

    @property
    def n_rows(self) -> int:
        return len(self.records.line)


@functools.lru_cache(maxsize=256)
def _mapping(source_name: str, header: tuple[str, ...], ignored: tuple[str, ...], exclude: tuple[str, ...]
             ) -> HeaderMapping:
    """Header mapping, cached: the exports of one source mostly share their header."""
    cols = tuple(c for c in SOURCES[source_name].columns if c.name not in exclude)
    return map_headers(header, cols, ignored=ignored)


def _require_headers(source: Source, file: LandingFile, mapping: HeaderMapping, needed: list[str],
                     header_columns: tuple[Column, ...], extra_known: tuple[str, ...] = ()) -> None:
    missing = [n for n in needed if n not in mapping.columns]
    if missing:
        raise FileRejected(
            "unknown_columns",
            f"{file.rel}: " + describe_unmapped(source, mapping, missing, header_columns=header_columns,
                                                extra_known=extra_known),
        )


def _columns(records: CsvRecords, mapping: HeaderMapping) -> dict[str, np.ndarray]:
    return {col: records.data[header] for header, col in mapping.mapped.items() if header in records.data}


def _path_creator(source: Source, file: LandingFile, mapping: HeaderMapping) -> str | None:
    """The creator from the folder or the file-name prefix (or reject a file that gives none)."""
    creator = creator_from_folders(file.parts_under_source) or creator_from_filename(file.name)
    if "creator_id" not in mapping.columns and not creator:
        where = f"{source.folder}/{'<platform>/' if source.name == 'social_posts' else ''}<creator_id>/"
        raise FileRejected(
            "no_creator",
            f"{file.rel}: no creator: the file has no creator_id column, is not in a creator folder ({where}) "
            "and its name has no <creator_id>__ prefix",
        )
    return creator


def detect_social_variant(headers: list[str] | tuple[str, ...]) -> str:
    """``tiktok_studio``, ``meta_business_suite`` or ``normalized``, by the most marker headers."""
    norm = {normalize_header(h) for h in headers}
    scores = {variant: len(norm & markers) for variant, markers in SOCIAL_MARKERS.items()}
    for variant in ("tiktok_studio", "meta_business_suite"):
        if scores[variant] >= 2 and scores[variant] >= scores["normalized"]:
            return variant
    return "normalized"


def _map_social(source: Source, file: LandingFile, records: CsvRecords) -> MappedFile:
    variant = detect_social_variant(records.header)
    ignored = META_IGNORED_HEADERS if variant == "meta_business_suite" else ()
    mapping = _mapping(source.name, tuple(records.header), ignored, ("export_format",))
    header_cols = tuple(c for c in source.columns if c.name != "export_format")
    link_id = variant == "tiktok_studio" and "post_id" not in mapping.columns
    _require_headers(source, file, mapping, ["views", "post_url" if link_id else "post_id"], header_cols,
                     extra_known=ignored)
    columns = _columns(records, mapping)

    # snapshot time: a column, Meta's Date column when it holds dates, else the file name
    from_name = snapshot_from_filename(file.name)
    date_header = next((h for h in records.header if normalize_header(h) == "date"), None)
    if "snapshot_at" not in columns and variant == "meta_business_suite" and date_header in records.data:
        dates = records.data[date_header]
        if pd.Series(dates, dtype=object).str.contains(r"\d", regex=True).fillna(False).any():  # not "Lifetime"
            columns["snapshot_at"] = dates
    if "snapshot_at" not in columns and from_name is None:
        raise FileRejected(
            "no_snapshot_time",
            f"{file.rel}: no snapshot time: the file has no snapshot_at column"
            + (" (its Date column holds no dates)" if date_header else "")
            + " and its name has no ISO date-time (e.g. <creator_id>__2026-03-01T0600Z.csv)",
        )
    views_header = mapping.header_for("views")
    impressions = views_header is not None and normalize_header(views_header) == "impressions"
    context = {
        "_snapshot": from_name.isoformat(sep=" ") if from_name else None,
        "_creator": _path_creator(source, file, mapping),
        "_platform": VARIANT_PLATFORM.get(variant) or platform_from_folders(file.parts_under_source),
        "_views_metric": "impressions" if impressions else "views",
        "_export_format": variant,
        "_link_id": link_id,
    }
    return MappedFile(records, columns, context, mapping.warnings())


def _map_generic(source: Source, file: LandingFile, records: CsvRecords) -> MappedFile:
    derived_id = DERIVED_IDS.get(source.name, (None, ()))[0]
    exempt = {derived_id} | ({"creator_id", "revenue_type"} if source.name in PATH_CREATOR_SOURCES else set())
    mapping = _mapping(source.name, tuple(records.header), (), ("counterparty",) if source.name == "revenue" else ())
    _require_headers(source, file, mapping, [n for n in source.required if n not in exempt], source.columns)
    context: dict[str, object] = {}
    if source.name in PATH_CREATOR_SOURCES:
        context["_creator"] = _path_creator(source, file, mapping)
    return MappedFile(records, _columns(records, mapping), context, mapping.warnings())


def map_csv(source: Source, file: LandingFile, records: CsvRecords) -> MappedFile:
    """Step 1 for one file (raises :class:`FileRejected` for file-level problems)."""
    mapped = (_map_social if source.name == "social_posts" else _map_generic)(source, file, records)
    mapped.context["_rel"] = file.rel
    mapped.context["_n_header"] = len(records.header)
    return mapped


# ---------------------------------------------------------------------------------------------
# Step 2: once per source, vectorised over the rows of all its new files
# ---------------------------------------------------------------------------------------------


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame else pd.Series(pd.NA, index=frame.index, dtype="str")


def _fill(frame: pd.DataFrame, name: str, fallback: str) -> None:
    """``frame[name]`` where given, else the file-level fallback column."""
    frame[name] = clean_text(_column(frame, name)).fillna(clean_text(frame[fallback]))


def _prepare_social(frame: pd.DataFrame, checks: RowChecks) -> None:
    _fill(frame, "snapshot_at", "_snapshot")
    _fill(frame, "creator_id", "_creator")
    _fill(frame, "platform", "_platform")
    _fill(frame, "views_metric", "_views_metric")
    frame["export_format"] = frame["_export_format"]
    link_rows = pd.Series(frame["_link_id"].to_numpy(dtype=bool), index=frame.index)
    if link_rows.any():  # TikTok Studio: the post id is the number in the video link
        link = clean_text(_column(frame, "post_url"))
        from_link = link.str.extract(r"/video/(\d+)", expand=False)
        frame["post_id"] = _column(frame, "post_id").where(~link_rows, from_link)
        checks.add(link_rows & link.notna() & from_link.isna(), "post_id", "missing_required",
                   "post_id is required: the video link " + quoted(link) + " has no /video/<id>")


def _prepare_revenue(frame: pd.DataFrame, checks: RowChecks) -> None:
    _fill(frame, "creator_id", "_creator")
    rtype, party = revenue_types(_column(frame, "description"))
    frame["revenue_type"] = clean_text(_column(frame, "revenue_type")).fillna(rtype)
    frame["counterparty"] = party
    frame["_symbol_currency"] = currency_from_symbols(_column(frame, "amount"))


def _prepare_subscribers(frame: pd.DataFrame, checks: RowChecks) -> None:
    _fill(frame, "creator_id", "_creator")
    frame["_symbol_currency"] = currency_from_symbols(_column(frame, "price"))


PREPARE: dict[str, Callable[[pd.DataFrame, RowChecks], None]] = {
    "social_posts": _prepare_social,
    "revenue": _prepare_revenue,
    "subscribers": _prepare_subscribers,
}


def _source_rules(name: str, typed: pd.DataFrame, raw: pd.DataFrame, checks: RowChecks) -> None:
    """Checks and normalisations beyond types and vocabularies."""
    if name == "creators":
        check_timezones(checks, typed, "agency_timezone")
    elif name == "social_posts":
        check_non_negative(checks, typed, raw, (*COUNT_COLUMNS, "duration_sec"))
    elif name == "content_tags":
        ctype = typed["content_type"].str.lower().str.replace(r"[\s\-]+", "_", regex=True)
        typed["content_type"] = ctype
        checks.add(ctype.notna() & ~ctype.str.fullmatch(r"[a-z][a-z0-9_]*").fillna(False), "content_type",
                   "invalid_value", quoted(ctype) + " is not a content type name (lower snake case, e.g. grwm)")
    elif name == "tracking_links":
        typed["content_type"] = typed["content_type"].str.lower().str.replace(r"[\s\-]+", "_", regex=True)
    elif name == "confounders":
        check_order(checks, typed, "starts_at", "ends_at")
    elif name == "subscribers":
        typed["link_code"] = link_codes(typed["link_code"])
        typed["currency"] = typed["currency"].str.upper().fillna(raw["_symbol_currency"])
        check_non_negative(checks, typed, raw, ("price",))
    elif name == "revenue":
        typed["currency"] = typed["currency"].str.upper().fillna(raw["_symbol_currency"])
        negative = typed["revenue_type"].isin(("refund", "chargeback"))
        for col in ("amount", "net"):  # refunds and chargebacks are negative amounts (the contract)
            typed[col] = typed[col].where(~negative, -typed[col].abs())
    elif name == "touchpoints":
        check_non_negative(checks, typed, raw, ("cost",))
    elif name == "conversions":
        typed["currency"] = typed["currency"].str.upper()


def _combine(files: list[MappedFile], file_idx: list[int]) -> pd.DataFrame:
    """One frame over the rows of all files: each column concatenated once, file values repeated."""
    counts = np.array([f.n_rows for f in files], dtype=np.int64)
    total = int(counts.sum())
    data: dict[str, object] = {
        "_file_idx": np.repeat(np.asarray(file_idx, dtype=np.int64), counts),
        "_line": np.concatenate([f.records.line for f in files]) if files else np.empty(0, np.int64),
        "_raw_text": np.concatenate([f.records.raw_text for f in files]) if files else np.empty(0, object),
        "_extra": np.concatenate([f.records.extra_fields for f in files]) if files else np.empty(0, bool),
        "_n_fields": np.concatenate([f.records.n_fields for f in files]) if files else np.empty(0, np.int64),
    }
    names = dict.fromkeys(name for f in files for name in f.columns)
    for name in names:
        data[name] = np.concatenate([f.columns.get(name, np.full(f.n_rows, None, dtype=object)) for f in files])
    for key in dict.fromkeys(k for f in files for k in f.context):
        data[key] = np.repeat(np.array([f.context.get(key) for f in files], dtype=object), counts)
    return pd.DataFrame(data, index=pd.RangeIndex(total))


def finish_csv(source: Source, files: list[MappedFile], file_idx: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Step 2: type and check the mapped rows of all files at once (``file_idx`` numbers the files).

    Returns the good rows (contract columns, typed, plus ``_file_idx``, ``_line``, ``_raw_text``) and
    the quarantine rows (``_file_idx``, ``_line``, ``column_name``, ``reason_code``, ``reason``,
    ``raw_text``).
    """
    frame = _combine(files, file_idx)
    checks = RowChecks(frame.index)
    checks.add(pd.Series(frame["_extra"].to_numpy(dtype=bool), index=frame.index), None, "invalid_value",
               "the row has " + frame["_n_fields"].astype("str") + " fields but the header has "
               + frame["_n_header"].astype("str") + ": check the delimiter and quoting")
    prepare = PREPARE.get(source.name)
    if prepare:
        prepare(frame, checks)
    derived_id = DERIVED_IDS.get(source.name, (None, ()))[0]
    typed = type_columns(source, frame, checks, derived={derived_id} if derived_id else set())
    _source_rules(source.name, typed, frame, checks)
    meta = frame[["_file_idx", "_rel", "_line", "_raw_text"]]
    return split_rows(typed, meta, checks)
