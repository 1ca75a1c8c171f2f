"""The landing-zone and raw-layer data contract: the single source of truth.

Every landing-zone source is one sub-folder of the landing zone and loads into one table
of the DuckDB ``raw`` schema. This module says, for every source:

- the folder it is read from and the file formats accepted there;
- every raw column: its DuckDB type, whether it is required, and the header variants
  (aliases) that real exports use for it;
- the natural key that de-duplicates rows.

The parsers (``funnellens.ingest``), the pandera raw gates (``validation``), the dbt
sources (``dbt_project/models/staging/_sources.yml``), the demo generator and
``docs/landing-zone.md`` all follow this module. Change it here first.

Conventions that hold for every source:

- Header matching is case-insensitive and ignores surrounding spaces, a BOM, and the
  difference between spaces, ``-`` and ``_``.
- Timestamps: ISO 8601 (a ``Z`` or an offset is converted to UTC). A timestamp without
  an offset is taken as UTC. Raw stores naive UTC ``TIMESTAMP`` values.
- Files or folders whose name starts with ``_`` or ``.`` are ignored (the demo
  generator keeps its planted truth in ``_demo/``).
- Every raw table also carries the load metadata columns in ``LOAD_METADATA``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# ---------------------------------------------------------------------------------------
# Vocabularies
# ---------------------------------------------------------------------------------------
PLATFORMS = ("tiktok", "instagram")
CONTENT_TYPES = ("storytime", "grwm", "thirst_trap", "behind_scenes", "money_talk", "other")
"""Built-in content types. An agency may add its own in the content-tags file."""
CONFOUNDER_TYPES = ("promo", "price_change", "collab", "shoutout", "other")
REVENUE_TYPES = ("subscription", "tip", "message", "refund", "chargeback", "other")
TRACKING_EVENT_TYPES = ("page_view", "step_entry", "step_exit", "conversion")
TRACKING_CONVERSION_TYPES = ("form_submit", "purchase", "signup", "custom", "refund")
EXIT_OUTCOMES = ("next_step", "bounce", "close", "conversion")
FUNNEL_ORDER_MODES = ("sequential", "strict", "any_order")
ERASURE_SUBJECT_TYPES = ("user", "anonymous", "visitor", "fan", "email")

# ---------------------------------------------------------------------------------------
# Quarantine reason codes (raw.quarantine.reason_code)
# ---------------------------------------------------------------------------------------
REASON_CODES = {
    "missing_required": "a required value is empty",
    "invalid_timestamp": "a value does not parse as a timestamp",
    "invalid_number": "a value does not parse as a number",
    "invalid_value": "a value is outside the allowed vocabulary or range",
    "invalid_json": "a line of an NDJSON file is not a JSON object",
    "duplicate_row": "the row repeats the natural key of a row loaded earlier",
    "unknown_columns": "the header maps to no known export variant (file-level)",
    "unreadable_file": "the file cannot be read: encoding, truncated gzip, bad YAML (file-level)",
    "no_snapshot_time": "a post export gives no snapshot time in a column or its file name (file-level)",
    "no_creator": "a file gives no creator in a column, its folder or its file name (file-level)",
    "taxonomy_violation": "a product event breaks the event taxonomy (issue 6)",
    "erased_subject": "the row belongs to a subject with an erasure tombstone (issue 6)",
}

# ---------------------------------------------------------------------------------------
# Column / source specs
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # DuckDB type: VARCHAR, TIMESTAMP, DOUBLE, BIGINT, BOOLEAN, JSON
    required: bool = False
    aliases: tuple[str, ...] = ()
    allowed: tuple[str, ...] | None = None
    description: str = ""


@dataclass(frozen=True)
class Source:
    name: str  # source name == landing sub-folder == Dagster asset name raw/<table>
    table: str  # raw table name (schema raw)
    folder: str
    formats: tuple[str, ...]  # csv, ndjson, ndjson.gz, yaml
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # natural key for de-duplication
    description: str
    notes: tuple[str, ...] = field(default=())

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


LOAD_METADATA = (
    Column("_source_file", "VARCHAR", True, description="path of the file, relative to the landing zone"),
    Column("_file_hash", "VARCHAR", True, description="SHA-256 of the file's bytes"),
    Column("_line", "BIGINT", True, description="1-based physical line in the file (the header is line 1 in CSV)"),
    Column("_load_id", "VARCHAR", True, description="id of the ingest run that loaded the row"),
    Column("_loaded_at", "TIMESTAMP", True, description="UTC time of the load"),
)

C = Column

CREATORS = Source(
    name="creators",
    table="creators",
    folder="creators",
    formats=("csv",),
    key=("creator_id",),
    description="The roster: agencies and their creators, with platform handles and the agency time zone.",
    columns=(
        C("agency_id", "VARCHAR", True, ("agency",)),
        C("agency_name", "VARCHAR"),
        C("agency_timezone", "VARCHAR", False, ("timezone", "tz"), description="IANA name; default UTC"),
        C("creator_id", "VARCHAR", True, ("creator",)),
        C("creator_name", "VARCHAR", False, ("display_name", "name")),
        C("tiktok_handle", "VARCHAR", False, ("tiktok",)),
        C("instagram_handle", "VARCHAR", False, ("instagram",)),
    ),
)

SOCIAL_POSTS = Source(
    name="social_posts",
    table="social_post_snapshots",
    folder="social",
    formats=("csv",),
    key=("platform", "post_id", "snapshot_at"),
    description=(
        "Snapshots of cumulative post metrics: TikTok Studio 'Content' exports, Meta Business Suite "
        "per-post exports, or the FunnelLens normalized format. The export variant is detected from "
        "the header."
    ),
    notes=(
        "TikTok Studio header: Video title, Video link, Post time, Total likes, Total comments, "
        "Total shares, Total views. post_id is the number in the video link (/video/<id>).",
        "Meta header: Post ID, Account ID, Account username, Account name, Description, Duration (sec), "
        "Publish time, Permalink, Post type, Data comment, Date, Views, Reach, Likes, Shares, Follows, "
        "Comments, Saves. Older exports say Impressions for Views. Files may be UTF-16 with a "
        "'sep=,' first line.",
        "Snapshot time: the snapshot_at column (normalized), Meta's Date column when it holds a date, "
        "otherwise an ISO date-time in the file name (2026-03-01T0600Z, 2026-03-01T06-00-00, 2026-03-01).",
        "Creator: the creator_id column when present, else the folder social/<platform>/<creator_id>/, "
        "else the file-name prefix <creator_id>__<snapshot>.csv. A file that gives neither is rejected.",
        "Platform: the export variant (TikTok Studio -> tiktok, Meta -> instagram) or the platform column.",
    ),
    columns=(
        C("platform", "VARCHAR", True, allowed=PLATFORMS),
        C("creator_id", "VARCHAR", True),
        C("snapshot_at", "TIMESTAMP", True, ("snapshot_time", "exported_at")),
        C("post_id", "VARCHAR", True, ("Post ID", "video_id")),
        C("post_url", "VARCHAR", False, ("Video link", "Permalink", "url")),
        C("caption", "VARCHAR", False, ("Video title", "Description", "title")),
        C("post_type", "VARCHAR", False, ("Post type",)),
        C("published_at", "TIMESTAMP", False, ("Post time", "Publish time", "posted_at")),
        C("duration_sec", "DOUBLE", False, ("Duration (sec)", "duration")),
        C("views", "BIGINT", True, ("Total views", "Views", "Impressions", "video_views", "plays")),
        C("reach", "BIGINT", False, ("Reach",)),
        C("likes", "BIGINT", False, ("Total likes", "Likes")),
        C("comments", "BIGINT", False, ("Total comments", "Comments")),
        C("shares", "BIGINT", False, ("Total shares", "Shares")),
        C("saves", "BIGINT", False, ("Saves",)),
        C("follows", "BIGINT", False, ("Follows",)),
        C("clicks", "BIGINT", False, ("link_clicks", "Link clicks")),
        C("account_id", "VARCHAR", False, ("Account ID",)),
        C("account_username", "VARCHAR", False, ("Account username",)),
        C("export_format", "VARCHAR", True, allowed=("tiktok_studio", "meta_business_suite", "normalized")),
        C("views_metric", "VARCHAR", True, allowed=("views", "impressions"),
          description="which export column the views came from"),
    ),
)

CONTENT_TAGS = Source(
    name="content_tags",
    table="content_tags",
    folder="content_tags",
    formats=("csv",),
    key=("platform", "post_id"),
    description="Manual content-type tags: one row per post. A manual tag always wins over a rule suggestion.",
    columns=(
        C("platform", "VARCHAR", False, allowed=PLATFORMS),
        C("post_id", "VARCHAR", True),
        C("content_type", "VARCHAR", True, ("type", "category"),
          description="storytime, grwm, thirst_trap, behind_scenes, money_talk, other, or an agency type "
                      "(lower snake case)"),
        C("creator_id", "VARCHAR"),
        C("tagged_by", "VARCHAR"),
        C("tagged_at", "TIMESTAMP"),
    ),
)

TRACKING_LINKS = Source(
    name="tracking_links",
    table="tracking_links",
    folder="tracking_links",
    formats=("csv",),
    key=("link_code",),
    description="Referral / tracking link codes (e.g. an OnlyFans ?c= campaign code) mapped to a creator and "
                "to the post or content type they were placed on. Ground truth for a fan's source.",
    columns=(
        C("link_code", "VARCHAR", True, ("code", "campaign_code", "campaign")),
        C("creator_id", "VARCHAR", True),
        C("platform", "VARCHAR", False, allowed=PLATFORMS),
        C("post_id", "VARCHAR"),
        C("content_type", "VARCHAR"),
        C("created_at", "TIMESTAMP"),
    ),
)

SUBSCRIBERS = Source(
    name="subscribers",
    table="subscribers",
    folder="subscribers",
    formats=("csv",),
    key=("creator_id", "fan_id", "subscribed_at"),
    description="Fan / subscriber exports of subscription platforms. The creator comes from a column, the "
                "folder subscribers/<creator_id>/ or the file-name prefix <creator_id>__.",
    notes=("link_code may be a bare code or a full tracking URL; the ?c= parameter of a URL is the code.",),
    columns=(
        C("creator_id", "VARCHAR", True),
        C("fan_id", "VARCHAR", True, ("Fan ID", "User ID", "Subscriber ID", "user_id", "subscriber_id")),
        C("fan_username", "VARCHAR", False, ("Username", "User name", "fan_name", "Name")),
        C("subscribed_at", "TIMESTAMP", True, ("Subscribed at", "Subscription date", "Start date", "Joined")),
        C("price", "DOUBLE", False, ("Price", "Subscription price", "Amount")),
        C("currency", "VARCHAR", False, ("Currency",)),
        C("link_code", "VARCHAR", False, ("Campaign", "Campaign code", "Tracking link", "Referral link",
                                           "Referral code", "c")),
    ),
)

REVENUE = Source(
    name="revenue",
    table="revenue_events",
    folder="revenue",
    formats=("csv",),
    key=("creator_id", "occurred_at", "amount", "description"),
    description="Earnings statements (Date, Amount, Fee, Net, Description) parsed into typed revenue events.",
    notes=(
        "revenue_type comes from Description: 'Subscription from X' -> subscription, 'Recurring "
        "subscription from X' -> subscription, 'Tip from X' -> tip, 'Payment for message from X' -> "
        "message, 'Refund ...' -> refund, 'Chargeback ...' -> chargeback, anything else -> other. The X "
        "is kept as counterparty (PII: hashed in staging). Refunds and chargebacks are negative amounts.",
    ),
    columns=(
        C("creator_id", "VARCHAR", True),
        C("occurred_at", "TIMESTAMP", True, ("Date", "Date/Time", "Created at")),
        C("amount", "DOUBLE", True, ("Amount", "Gross")),
        C("fee", "DOUBLE", False, ("Fee",)),
        C("net", "DOUBLE", False, ("Net",)),
        C("currency", "VARCHAR", False, ("Currency",)),
        C("description", "VARCHAR", False, ("Description",)),
        C("revenue_type", "VARCHAR", True, allowed=REVENUE_TYPES),
        C("counterparty", "VARCHAR", False, description="the fan named in the description, if any"),
    ),
)

CONFOUNDERS = Source(
    name="confounders",
    table="confounders",
    folder="confounders",
    formats=("csv",),
    key=("creator_id", "confounder_type", "starts_at"),
    description="Events that can explain a lift on their own: promos, price changes, collabs, shout-outs.",
    columns=(
        C("creator_id", "VARCHAR", True),
        C("confounder_type", "VARCHAR", True, ("type",), allowed=CONFOUNDER_TYPES),
        C("starts_at", "TIMESTAMP", True, ("start", "start_at", "starts")),
        C("ends_at", "TIMESTAMP", True, ("end", "end_at", "ends")),
        C("description", "VARCHAR"),
    ),
)

TOUCHPOINTS = Source(
    name="touchpoints",
    table="touchpoints",
    folder="touchpoints",
    formats=("csv", "ndjson", "ndjson.gz"),
    key=("touchpoint_id",),
    description="Marketing touchpoints of users (ad clicks, e-mails, organic visits). touchpoint_id, when "
                "absent, is the MD5 of user_id|touched_at|channel|campaign.",
    columns=(
        C("touchpoint_id", "VARCHAR", True, ("id", "event_id")),
        C("user_id", "VARCHAR", True, ("customer_id", "client_id")),
        C("journey_id", "VARCHAR"),
        C("touched_at", "TIMESTAMP", True, ("timestamp", "event_time", "occurred_at")),
        C("channel", "VARCHAR", True, ("channel_grouping", "marketing_channel")),
        C("campaign", "VARCHAR", False, ("campaign_name",)),
        C("source", "VARCHAR"),
        C("medium", "VARCHAR"),
        C("utm_source", "VARCHAR"),
        C("utm_medium", "VARCHAR"),
        C("utm_campaign", "VARCHAR"),
        C("platform", "VARCHAR", False, description="ad platform, e.g. meta, google, tiktok"),
        C("cost", "DOUBLE", False, ("spend",)),
    ),
)

CONVERSIONS = Source(
    name="conversions",
    table="conversions",
    folder="conversions",
    formats=("csv", "ndjson", "ndjson.gz"),
    key=("conversion_id",),
    description="Conversions of users, with a type and a value. email/phone are optional and only ever leave "
                "raw as normalised SHA-256 hashes (for offline-conversion exports).",
    columns=(
        C("conversion_id", "VARCHAR", True, ("id", "order_id", "transaction_id")),
        C("user_id", "VARCHAR", True, ("customer_id", "client_id")),
        C("converted_at", "TIMESTAMP", True, ("timestamp", "event_time", "occurred_at")),
        C("conversion_type", "VARCHAR", True, ("type", "event_name")),
        C("value", "DOUBLE", False, ("revenue", "amount")),
        C("currency", "VARCHAR"),
        C("email", "VARCHAR"),
        C("phone", "VARCHAR"),
    ),
)

TRACKING_EVENTS = Source(
    name="tracking_events",
    table="tracking_events",
    folder="tracking",
    formats=("ndjson", "ndjson.gz"),
    key=("event_id",),
    description="Website funnel tracking (SPEC-FUN-004), one JSON object per line. event_id, when absent, is "
                "the MD5 of session_id|event_type|funnel_step_id|page_id|timestamp.",
    notes=(
        "FunnelLens extensions, all optional: event_id; ab_test_id and variant_id (the A/B assignment "
        "of the visitor, on every event of an exposed session); product_id and quantity (purchases).",
        "A refund is an event_type=conversion with conversion_type=refund and a negative value_cents.",
    ),
    columns=(
        C("event_id", "VARCHAR", True),
        C("event_type", "VARCHAR", True, allowed=TRACKING_EVENT_TYPES),
        C("funnel_id", "VARCHAR"),
        C("page_id", "VARCHAR"),
        C("funnel_step_id", "VARCHAR"),
        C("previous_step_id", "VARCHAR", False, ("previous_step",)),
        C("next_step_id", "VARCHAR", False, ("next_step",)),
        C("session_id", "VARCHAR", True),
        C("visitor_id", "VARCHAR", True),
        C("url", "VARCHAR"),
        C("user_agent", "VARCHAR"),
        C("ip_address", "VARCHAR"),
        C("referrer", "VARCHAR"),
        C("utm_source", "VARCHAR"),
        C("utm_medium", "VARCHAR"),
        C("utm_campaign", "VARCHAR"),
        C("conversion_type", "VARCHAR", False, allowed=TRACKING_CONVERSION_TYPES),
        C("value_cents", "BIGINT"),
        C("exit_outcome", "VARCHAR", False, allowed=EXIT_OUTCOMES),
        C("metadata", "JSON"),
        C("occurred_at", "TIMESTAMP", True, ("timestamp",)),
        C("ab_test_id", "VARCHAR"),
        C("variant_id", "VARCHAR"),
        C("product_id", "VARCHAR"),
        C("quantity", "BIGINT"),
    ),
)

PRODUCT_EVENTS = Source(
    name="product_events",
    table="product_events",
    folder="product_events",
    formats=("ndjson", "ndjson.gz"),
    key=("event_id",),
    description="App product events (Segment-style): an event name, a user or anonymous id, occurred_at, "
                "properties and context. event_id, when absent, is the MD5 of "
                "event_name|user_id|anonymous_id|occurred_at|properties.",
    notes=("One of user_id / anonymous_id is required. Taxonomy validation is issue 6.",),
    columns=(
        C("event_id", "VARCHAR", True, ("message_id", "messageId", "id")),
        C("event_name", "VARCHAR", True, ("event", "name")),
        C("user_id", "VARCHAR", False, ("userId",)),
        C("anonymous_id", "VARCHAR", False, ("anonymousId",)),
        C("occurred_at", "TIMESTAMP", True, ("timestamp", "sent_at")),
        C("properties", "JSON"),
        C("context", "JSON"),
    ),
)

FUNNELS = Source(
    name="funnels",
    table="funnel_steps",
    folder="funnels",
    formats=("yaml",),
    key=("funnel_id", "step_id"),
    description="Funnel definitions, flattened to one row per step.",
    notes=(
        "YAML: funnels: [{id, name, order_mode: sequential|strict|any_order, conversion_window_days: 14, "
        "steps: [{id, name}, ...]}]",
    ),
    columns=(
        C("funnel_id", "VARCHAR", True),
        C("funnel_name", "VARCHAR"),
        C("order_mode", "VARCHAR", True, allowed=FUNNEL_ORDER_MODES),
        C("conversion_window_days", "DOUBLE", True),
        C("step_id", "VARCHAR", True),
        C("step_name", "VARCHAR"),
        C("step_order", "BIGINT", True, description="1-based position of the step"),
    ),
)

AB_TESTS = Source(
    name="ab_tests",
    table="ab_test_variants",
    folder="ab_tests",
    formats=("yaml",),
    key=("ab_test_id", "variant_id"),
    description="A/B test definitions, flattened to one row per variant.",
    notes=(
        "YAML: ab_tests: [{id, name, funnel_id, conversion_step_id (optional), started_at, ended_at "
        "(optional), alpha (optional, default 0.05), variants: [{id, name, control: true|false, "
        "traffic_split: 0.5}, ...]}]. Exactly one control; traffic splits sum to 1.",
    ),
    columns=(
        C("ab_test_id", "VARCHAR", True),
        C("ab_test_name", "VARCHAR"),
        C("funnel_id", "VARCHAR"),
        C("conversion_step_id", "VARCHAR"),
        C("started_at", "TIMESTAMP"),
        C("ended_at", "TIMESTAMP"),
        C("alpha", "DOUBLE"),
        C("variant_id", "VARCHAR", True),
        C("variant_name", "VARCHAR"),
        C("is_control", "BOOLEAN", True),
        C("traffic_split", "DOUBLE", True),
    ),
)

ERASURE_REQUESTS = Source(
    name="erasure_requests",
    table="erasure_requests",
    folder="erasure_requests",
    formats=("csv",),
    key=("request_id",),
    description="GDPR erasure requests. request_id, when absent, is the MD5 of subject_type|subject_id|requested_at.",
    columns=(
        C("request_id", "VARCHAR", True, ("id",)),
        C("subject_id", "VARCHAR", True, ("user_id", "subject")),
        C("subject_type", "VARCHAR", True, ("type",), allowed=ERASURE_SUBJECT_TYPES),
        C("requested_at", "TIMESTAMP", True, ("request_time", "requested")),
    ),
)

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        CREATORS,
        SOCIAL_POSTS,
        CONTENT_TAGS,
        TRACKING_LINKS,
        SUBSCRIBERS,
        REVENUE,
        CONFOUNDERS,
        TOUCHPOINTS,
        CONVERSIONS,
        TRACKING_EVENTS,
        PRODUCT_EVENTS,
        FUNNELS,
        AB_TESTS,
        ERASURE_REQUESTS,
    )
}

# Bookkeeping tables in the raw schema.
LOAD_FILES_COLUMNS = (
    C("source", "VARCHAR", True),
    C("file", "VARCHAR", True),
    C("file_hash", "VARCHAR", True),
    C("status", "VARCHAR", True, allowed=("loaded", "failed")),
    C("rows_loaded", "BIGINT", True),
    C("rows_quarantined", "BIGINT", True),
    C("reason", "VARCHAR"),
    C("warnings", "VARCHAR", description="e.g. header columns that map to nothing and were ignored"),
    C("load_id", "VARCHAR", True),
    C("loaded_at", "TIMESTAMP", True),
)

QUARANTINE_COLUMNS = (
    C("source", "VARCHAR", True),
    C("file", "VARCHAR", True),
    C("file_hash", "VARCHAR", True),
    C("line", "BIGINT", description="physical line; NULL for a file-level reason"),
    C("column_name", "VARCHAR", description="the offending column; NULL for row- or file-level reasons"),
    C("reason_code", "VARCHAR", True, allowed=tuple(REASON_CODES)),
    C("reason", "VARCHAR", True, description="human-readable: what was wrong and what was expected"),
    C("raw_text", "VARCHAR", description="the offending line as read (truncated to 2,000 characters)"),
    C("load_id", "VARCHAR", True),
    C("quarantined_at", "TIMESTAMP", True),
)


def raw_table_ddl(source: Source) -> str:
    """CREATE TABLE statement of a source's raw table, load metadata included."""
    cols = [*source.columns, *LOAD_METADATA]
    body = ",\n  ".join(f'"{c.name}" {c.dtype}' for c in cols)
    return f"CREATE TABLE IF NOT EXISTS raw.{source.table} (\n  {body}\n)"


def bookkeeping_ddl() -> list[str]:
    def ddl(table: str, cols: tuple[Column, ...]) -> str:
        body = ",\n  ".join(f'"{c.name}" {c.dtype}' for c in cols)
        return f"CREATE TABLE IF NOT EXISTS raw.{table} (\n  {body}\n)"

    return [ddl("load_files", LOAD_FILES_COLUMNS), ddl("quarantine", QUARANTINE_COLUMNS)]
