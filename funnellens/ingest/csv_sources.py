"""Parsers of the CSV sources: header mapping, export variants and the per-source value rules.

Each parser turns one file's :class:`~funnellens.ingest.csv_reader.CsvRecords` into a
:class:`~funnellens.ingest.rows.ParsedFile`; everything is vectorised over the rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
    ParsedFile,
    RowChecks,
    check_non_negative,
    check_order,
    check_timezones,
    quoted,
    split_rows,
    type_columns,
)
from funnellens.ingest.values import (
    clean_text,
    currency_from_symbols,
    link_codes,
    parse_timestamps,
    revenue_types,
)

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


def derived_id_sql(source_name: str, alias: str = "") -> str | None:
    """SQL for a source's derived id: ``md5`` of the documented columns joined with ``|``.

    A NULL part is the empty string; a timestamp is written ``%Y-%m-%dT%H:%M:%S.%f`` (UTC, six
    fraction digits), a JSON value as its minified text. Example for touchpoints:
    ``md5(user_id|touched_at|channel|campaign)``.
    """
    if source_name not in DERIVED_IDS:
        return None
    source = SOURCES[source_name]
    _id, parts = DERIVED_IDS[source_name]
    prefix = f"{alias}." if alias else ""
    exprs = []
    for name in parts:
        col = source.column(name)
        ref = f'{prefix}"{name}"'
        if col.dtype == "TIMESTAMP":
            exprs.append(f"coalesce(strftime({ref}, '%Y-%m-%dT%H:%M:%S.%f'), '')")
        else:
            exprs.append(f"coalesce(CAST({ref} AS VARCHAR), '')")
    return f"md5(concat_ws('|', {', '.join(exprs)}))"


# ---------------------------------------------------------------------------------------------
# Shared steps
# ---------------------------------------------------------------------------------------------


@dataclass
class FileContext:
    source: Source
    file: LandingFile


def _mapped_frame(records: CsvRecords, mapping: HeaderMapping) -> pd.DataFrame:
    """The file's columns renamed to contract columns (unmapped ones dropped)."""
    keep = {h: c for h, c in mapping.mapped.items() if h in records.data.columns}
    return records.data[list(keep)].rename(columns=keep)


def _require_headers(
    ctx: FileContext,
    mapping: HeaderMapping,
    needed: list[str],
    header_columns: tuple[Column, ...],
    extra_known: tuple[str, ...] = (),
) -> None:
    missing = [n for n in needed if n not in mapping.columns]
    if missing:
        raise FileRejected(
            "unknown_columns",
            f"{ctx.file.rel}: "
            + describe_unmapped(ctx.source, mapping, missing, header_columns=header_columns,
                                extra_known=extra_known),
        )


def _header_columns(source: Source, exclude: set[str]) -> tuple[Column, ...]:
    return tuple(c for c in source.columns if c.name not in exclude)


def _extra_field_checks(checks: RowChecks, records: CsvRecords) -> None:
    n_header = len(records.header)
    checks.add(records.extra_fields, None, "invalid_value",
               "the row has " + records.n_fields.astype("str")
               + f" fields but the header has {n_header}: check the delimiter and quoting")


def _creator_fallback(ctx: FileContext) -> tuple[str | None, str]:
    """The creator from the folders, else the file-name prefix, with where it came from."""
    by_folder = creator_from_folders(ctx.file.parts_under_source)
    if by_folder:
        return by_folder, f"folder {ctx.source.folder}/.../{by_folder}/"
    by_name = creator_from_filename(ctx.file.name)
    if by_name:
        return by_name, f"file-name prefix {by_name}__"
    return None, ""


def _fill_creator(ctx: FileContext, frame: pd.DataFrame, mapping: HeaderMapping) -> pd.DataFrame:
    """creator_id from its column where present, else from the folder or file name (or reject)."""
    creator, _where = _creator_fallback(ctx)
    if "creator_id" in mapping.columns:
        if creator:
            frame["creator_id"] = clean_text(frame["creator_id"]).fillna(creator)
        return frame
    if not creator:
        raise FileRejected(
            "no_creator",
            f"{ctx.file.rel}: no creator: the file has no creator_id column, is not in a creator folder "
            f"({ctx.source.folder}/{'<platform>/' if ctx.source.name == 'social_posts' else ''}<creator_id>/) "
            "and its name has no <creator_id>__ prefix",
        )
    frame["creator_id"] = creator
    return frame


def _finish(
    ctx: FileContext, records: CsvRecords, typed: pd.DataFrame, checks: RowChecks, mapping: HeaderMapping
) -> ParsedFile:
    rows, quarantine = split_rows(ctx.file.rel, typed, records.line, records.raw_text, checks)
    return ParsedFile(rows=rows, quarantine=quarantine, warnings=mapping.warnings())


# ---------------------------------------------------------------------------------------------
# Generic sources: the header maps, the contract types and checks the values
# ---------------------------------------------------------------------------------------------


def parse_generic(ctx: FileContext, records: CsvRecords, *, path_creator: bool = False) -> ParsedFile:
    source = ctx.source
    derived_id = DERIVED_IDS.get(source.name, (None, ()))[0]
    not_from_header = {derived_id} if derived_id else set()
    if path_creator:
        not_from_header.add("creator_id")
    mapping = map_headers(records.header, source.columns)
    _require_headers(ctx, mapping, [n for n in source.required if n not in not_from_header], source.columns)
    frame = _mapped_frame(records, mapping)
    if path_creator:
        frame = _fill_creator(ctx, frame, mapping)
    checks = RowChecks(frame.index)
    _extra_field_checks(checks, records)
    typed = type_columns(source, frame, checks, derived={derived_id} if derived_id else set())
    _source_rules(source.name, typed, frame, checks)
    return _finish(ctx, records, typed, checks, mapping)


def _source_rules(name: str, typed: pd.DataFrame, raw: pd.DataFrame, checks: RowChecks) -> None:
    """Checks beyond types and vocabularies."""
    if name == "creators":
        check_timezones(checks, typed, "agency_timezone")
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
        typed["currency"] = typed["currency"].str.upper()
        check_non_negative(checks, typed, raw, ("price",))
    elif name == "touchpoints":
        check_non_negative(checks, typed, raw, ("cost",))
    elif name == "conversions":
        typed["currency"] = typed["currency"].str.upper()


# ---------------------------------------------------------------------------------------------
# Social post exports
# ---------------------------------------------------------------------------------------------


def detect_social_variant(headers: list[str]) -> str:
    """``tiktok_studio``, ``meta_business_suite`` or ``normalized``, by the most marker headers."""
    norm = {normalize_header(h) for h in headers}
    scores = {variant: len(norm & markers) for variant, markers in SOCIAL_MARKERS.items()}
    for variant in ("tiktok_studio", "meta_business_suite"):
        if scores[variant] >= 2 and scores[variant] >= scores["normalized"]:
            return variant
    return "normalized"


def parse_social_posts(ctx: FileContext, records: CsvRecords) -> ParsedFile:
    source = ctx.source
    variant = detect_social_variant(records.header)
    header_cols = _header_columns(source, {"export_format"})
    ignored = META_IGNORED_HEADERS if variant == "meta_business_suite" else ()
    mapping = map_headers(records.header, header_cols, ignored=ignored)
    needed = ["views"] + (["post_url"] if variant == "tiktok_studio" and "post_id" not in mapping.columns
                          else ["post_id"])
    _require_headers(ctx, mapping, needed, header_cols, extra_known=ignored)
    frame = _mapped_frame(records, mapping)
    rel = ctx.file.rel

    # snapshot time: a column, Meta's Date column when it holds dates, else the file name
    from_name = snapshot_from_filename(ctx.file.name)
    snap_text = frame.get("snapshot_at")
    date_header = next((h for h in records.header if normalize_header(h) == "date"), None)
    if snap_text is None and variant == "meta_business_suite" and date_header is not None:
        candidate = clean_text(records.data[date_header])
        parsed, _bad = parse_timestamps(candidate)
        if parsed.notna().any():
            snap_text = candidate
    if snap_text is None and from_name is None:
        raise FileRejected(
            "no_snapshot_time",
            f"{rel}: no snapshot time: the file has no snapshot_at column"
            + (" (its Date column holds no dates)" if date_header else "")
            + " and its name has no ISO date-time (e.g. <creator_id>__2026-03-01T0600Z.csv)",
        )
    fallback = from_name.isoformat(sep=" ") if from_name else None
    if snap_text is None:
        frame["snapshot_at"] = fallback
    else:
        frame["snapshot_at"] = clean_text(snap_text).fillna(fallback) if fallback else snap_text

    frame = _fill_creator(ctx, frame, mapping)

    # platform: a column, else the export variant, else the folder
    default_platform = VARIANT_PLATFORM.get(variant) or platform_from_folders(ctx.file.parts_under_source)
    if "platform" in frame:
        if default_platform:
            frame["platform"] = clean_text(frame["platform"]).fillna(default_platform)
    else:
        frame["platform"] = default_platform

    checks = RowChecks(frame.index)
    _extra_field_checks(checks, records)

    if variant == "tiktok_studio" and "post_id" not in mapping.columns:
        link = clean_text(frame["post_url"])
        frame["post_id"] = link.str.extract(r"/video/(\d+)", expand=False)
        checks.add(link.notna() & frame["post_id"].isna(), "post_id", "missing_required",
                   "post_id is required: the video link " + quoted(link) + " has no /video/<id>")

    views_header = mapping.header_for("views")
    metric = "impressions" if views_header and normalize_header(views_header) == "impressions" else "views"
    if "views_metric" in mapping.columns:
        frame["views_metric"] = clean_text(frame["views_metric"]).fillna(metric)
    else:
        frame["views_metric"] = metric
    frame["export_format"] = variant

    typed = type_columns(source, frame, checks)
    check_non_negative(checks, typed, frame, (*COUNT_COLUMNS, "duration_sec"))
    return _finish(ctx, records, typed, checks, mapping)


# ---------------------------------------------------------------------------------------------
# Revenue statements
# ---------------------------------------------------------------------------------------------


def parse_revenue(ctx: FileContext, records: CsvRecords) -> ParsedFile:
    source = ctx.source
    header_cols = _header_columns(source, {"counterparty"})
    mapping = map_headers(records.header, header_cols)
    _require_headers(ctx, mapping, ["occurred_at", "amount"], header_cols)
    frame = _mapped_frame(records, mapping)
    frame = _fill_creator(ctx, frame, mapping)
    checks = RowChecks(frame.index)
    _extra_field_checks(checks, records)

    rtype, party = revenue_types(frame["description"] if "description" in frame
                                 else pd.Series(pd.NA, index=frame.index, dtype="str"))
    if "revenue_type" in frame:
        frame["revenue_type"] = clean_text(frame["revenue_type"]).fillna(rtype)
    else:
        frame["revenue_type"] = rtype
    frame["counterparty"] = party
    symbol_currency = currency_from_symbols(frame["amount"])
    typed = type_columns(source, frame, checks)
    typed["currency"] = typed["currency"].str.upper().fillna(symbol_currency)
    negative = typed["revenue_type"].isin(("refund", "chargeback"))
    for name in ("amount", "net"):
        typed[name] = typed[name].where(~negative, -typed[name].abs())
    return _finish(ctx, records, typed, checks, mapping)


# ---------------------------------------------------------------------------------------------
# Dispatch
# ---------------------------------------------------------------------------------------------

CSV_PARSERS: dict[str, Callable[[FileContext, CsvRecords], ParsedFile]] = {
    "social_posts": parse_social_posts,
    "revenue": parse_revenue,
    "subscribers": lambda ctx, rec: parse_generic(ctx, rec, path_creator=True),
}


def parse_csv(source: Source, file: LandingFile, records: CsvRecords) -> ParsedFile:
    """Parse one CSV file of ``source`` (raises :class:`FileRejected` for file-level problems)."""
    ctx = FileContext(source=source, file=file)
    parser = CSV_PARSERS.get(source.name)
    return parser(ctx, records) if parser else parse_generic(ctx, records)
