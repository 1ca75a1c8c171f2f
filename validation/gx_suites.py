"""Great Expectations (GX Core 1.x) suites for the staging models, and a runner over DuckDB.

Each suite is declared as a :class:`SuiteSpec` (columns, keys, not-null columns, value sets from
``funnellens.contract``, numeric bounds, regexes, a minimum row count) and turned into a
``gx.ExpectationSuite`` by :func:`build_suite`. ``GX_SUITES`` maps a model name to a zero-argument
factory of its suite, so the orchestration layer can create one asset check per model:

    result = run_gx_suite(con, "staging.stg_tracking__events")
    result.success, result.to_metadata()

Adding a suite (for a mart, say) is one call: ``register_suite(SuiteSpec(model="fct_x", ...))``.

The runner uses an ephemeral GX context (nothing is written to disk) and GX's pandas datasource
over a DataFrame fetched from DuckDB. Above ``max_rows`` it validates a deterministic sample (the
rows with the smallest hash of the key) and says so in the result. Only the columns an
expectation reads are fetched with their values; the others are fetched as typed NULLs, which is
all a column-existence expectation needs, so memory stays bounded on event-scale tables.
``great_expectations`` is imported lazily: importing this module is cheap.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from funnellens.contract import SOURCES

if TYPE_CHECKING:
    import duckdb
    from great_expectations import ExpectationSuite
    from great_expectations.expectations import Expectation

__all__ = [
    "GX_SUITES",
    "SUITE_SPECS",
    "Bounds",
    "GXResult",
    "SuiteSpec",
    "build_suite",
    "register_suite",
    "run_gx_suite",
]

HEX64 = r"^[0-9a-f]{64}$"
LOWER_SNAKE = r"^[a-z0-9]+(?:_[a-z0-9]+)*$"
LINEAGE = ("_source_file", "_line", "_load_id", "_loaded_at")
DEFAULT_MAX_ROWS = 2_000_000
_MAX_LISTED_VALUES = 10


@dataclass(frozen=True)
class Bounds:
    """Allowed range of a numeric column; ``None`` leaves a side open. NULLs are not checked."""

    min_value: float | None = None
    max_value: float | None = None
    strict_min: bool = False
    strict_max: bool = False


@dataclass(frozen=True)
class SuiteSpec:
    """What a model's suite expects. Every listed column must exist; the rest is optional.

    ``keys``: each entry is a key, one column (``ExpectColumnValuesToBeUnique``) or several
    (``ExpectCompoundColumnsToBeUnique``); the first key also orders the deterministic sample.
    ``extra``: a factory of further expectations, for what the fields here cannot say.
    """

    model: str
    columns: tuple[str, ...]
    keys: tuple[tuple[str, ...], ...] = ()
    not_null: tuple[str, ...] = ()
    value_sets: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    bounds: Mapping[str, Bounds] = field(default_factory=dict)
    regex: Mapping[str, str] = field(default_factory=dict)
    min_rows: int = 1
    extra: Callable[[], Sequence[Expectation]] | None = None

    def __post_init__(self) -> None:
        known = set(self.columns)
        referenced = {c for key in self.keys for c in key} | set(self.not_null) | set(self.value_sets)
        referenced |= set(self.bounds) | set(self.regex)
        unknown = sorted(referenced - known)
        if unknown:
            raise ValueError(f"suite {self.model!r} checks columns it does not list: {unknown}")
        if self.min_rows < 0:
            raise ValueError(f"suite {self.model!r}: min_rows must be >= 0, got {self.min_rows}")

    @property
    def checked_columns(self) -> tuple[str, ...]:
        """Columns whose values some expectation reads (the others only need to exist)."""
        used = {c for key in self.keys for c in key} | set(self.not_null) | set(self.value_sets)
        used |= set(self.bounds) | set(self.regex)
        return tuple(c for c in self.columns if c in used)


def build_suite(spec: SuiteSpec) -> ExpectationSuite:
    """The ``gx.ExpectationSuite`` (named after the model) that ``spec`` describes."""
    gx = _gx()
    ex = gx.expectations
    expectations: list[Any] = [ex.ExpectColumnToExist(column=c) for c in spec.columns]
    if spec.min_rows > 0:
        expectations.append(ex.ExpectTableRowCountToBeBetween(min_value=spec.min_rows))
    for key in spec.keys:
        if len(key) == 1:
            expectations.append(ex.ExpectColumnValuesToBeUnique(column=key[0]))
        else:
            expectations.append(ex.ExpectCompoundColumnsToBeUnique(column_list=list(key)))
    expectations += [ex.ExpectColumnValuesToNotBeNull(column=c) for c in spec.not_null]
    expectations += [
        ex.ExpectColumnValuesToBeInSet(column=c, value_set=list(values)) for c, values in spec.value_sets.items()
    ]
    expectations += [
        ex.ExpectColumnValuesToBeBetween(
            column=c, min_value=b.min_value, max_value=b.max_value, strict_min=b.strict_min, strict_max=b.strict_max
        )
        for c, b in spec.bounds.items()
    ]
    expectations += [ex.ExpectColumnValuesToMatchRegex(column=c, regex=r) for c, r in spec.regex.items()]
    if spec.extra is not None:
        expectations += list(spec.extra())
    return gx.ExpectationSuite(name=spec.model, expectations=expectations)


# ---------------------------------------------------------------------------------------
# The staging suites. Columns mirror dbt_project/models/staging/*/_*.yml (a test keeps them equal).
# ---------------------------------------------------------------------------------------
def _allowed(source: str, column: str) -> tuple[str, ...]:
    allowed = SOURCES[source].column(column).allowed
    if allowed is None:
        raise ValueError(f"contract column {source}.{column} has no vocabulary")
    return allowed


NON_NEGATIVE = Bounds(min_value=0)

STAGING_SPECS: tuple[SuiteSpec, ...] = (
    SuiteSpec(
        model="stg_roster__creators",
        columns=("creator_id", "creator_name", "agency_id", "agency_name", "agency_timezone",
                 "tiktok_handle", "instagram_handle", *LINEAGE),
        keys=(("creator_id",),),
        not_null=("creator_id", "agency_id", "agency_timezone"),
    ),
    SuiteSpec(
        model="stg_social__post_snapshots",
        columns=("platform", "post_id", "snapshot_at", "creator_id", "post_url", "caption", "post_type",
                 "published_at", "duration_sec", "views", "reach", "likes", "comments", "shares", "saves",
                 "follows", "clicks", "account_id", "account_username", "export_format", "views_metric",
                 *LINEAGE),
        keys=(("platform", "post_id", "snapshot_at"),),
        not_null=("platform", "post_id", "snapshot_at", "creator_id", "views", "export_format", "views_metric"),
        value_sets={
            "platform": _allowed("social_posts", "platform"),
            "export_format": _allowed("social_posts", "export_format"),
            "views_metric": _allowed("social_posts", "views_metric"),
        },
        bounds={c: NON_NEGATIVE for c in ("duration_sec", "views", "reach", "likes", "comments", "shares",
                                          "saves", "follows", "clicks")},
    ),
    SuiteSpec(
        model="stg_social__content_tags",
        columns=("platform", "post_id", "content_type", "creator_id", "tagged_by", "tagged_at", "tag_source",
                 *LINEAGE),
        keys=(("platform", "post_id"),),
        not_null=("post_id", "content_type"),
        value_sets={"platform": _allowed("content_tags", "platform"), "tag_source": ("manual",)},
        regex={"content_type": LOWER_SNAKE},
        min_rows=0,  # tagging is optional: rules suggest types downstream
    ),
    SuiteSpec(
        model="stg_social__tracking_links",
        columns=("link_code", "creator_id", "platform", "post_id", "content_type", "created_at", *LINEAGE),
        keys=(("link_code",),),
        not_null=("link_code", "creator_id"),
        value_sets={"platform": _allowed("tracking_links", "platform")},
        regex={"content_type": LOWER_SNAKE},
        min_rows=0,  # optional: without links, attribution falls back to weighted windows
    ),
    SuiteSpec(
        model="stg_fan_platform__subscribers",
        columns=("subscription_id", "agency_id", "creator_id", "fan_key", "fan_username_key", "subscribed_at",
                 "price", "currency", "link_code", *LINEAGE),
        keys=(("subscription_id",), ("creator_id", "fan_key", "subscribed_at")),
        not_null=("subscription_id", "agency_id", "creator_id", "fan_key", "subscribed_at"),
        bounds={"price": NON_NEGATIVE},
        regex={"subscription_id": HEX64, "fan_key": HEX64, "fan_username_key": HEX64},
    ),
    SuiteSpec(
        model="stg_fan_platform__revenue_events",
        columns=("revenue_event_id", "agency_id", "creator_id", "occurred_at", "revenue_type", "amount", "fee",
                 "net", "currency", "description", "counterparty_key", *LINEAGE),
        keys=(("revenue_event_id",),),
        not_null=("revenue_event_id", "agency_id", "creator_id", "occurred_at", "revenue_type", "amount"),
        value_sets={"revenue_type": _allowed("revenue", "revenue_type")},
        regex={"revenue_event_id": HEX64, "counterparty_key": HEX64},
    ),
    SuiteSpec(
        model="stg_agency__confounders",
        columns=("confounder_id", "creator_id", "confounder_type", "starts_at", "ends_at", "description",
                 *LINEAGE),
        keys=(("confounder_id",),),
        not_null=("confounder_id", "creator_id", "confounder_type", "starts_at", "ends_at"),
        value_sets={"confounder_type": _allowed("confounders", "confounder_type")},
        min_rows=0,  # a quiet period has none
    ),
    SuiteSpec(
        model="stg_marketing__touchpoints",
        columns=("touchpoint_id", "user_key", "journey_key", "touched_at", "channel", "campaign", "source",
                 "medium", "utm_source", "utm_medium", "utm_campaign", "platform", "cost", *LINEAGE),
        keys=(("touchpoint_id",),),
        not_null=("touchpoint_id", "user_key", "touched_at", "channel"),
        bounds={"cost": NON_NEGATIVE},
        regex={"user_key": HEX64, "journey_key": HEX64},
    ),
    SuiteSpec(
        model="stg_marketing__conversions",
        columns=("conversion_id", "user_key", "converted_at", "conversion_type", "value", "currency",
                 "email_sha256", "phone_sha256", "phone_e164_sha256", *LINEAGE),
        keys=(("conversion_id",),),
        not_null=("conversion_id", "user_key", "converted_at", "conversion_type"),
        regex={"user_key": HEX64, "email_sha256": HEX64, "phone_sha256": HEX64, "phone_e164_sha256": HEX64},
    ),
    SuiteSpec(
        model="stg_tracking__events",
        columns=("event_id", "event_type", "occurred_at", "funnel_id", "page_id", "funnel_step_id",
                 "previous_step_id", "next_step_id", "session_id", "visitor_key", "ip_key", "url", "user_agent",
                 "referrer", "utm_source", "utm_medium", "utm_campaign", "conversion_type", "value_cents",
                 "exit_outcome", "metadata", "ab_test_id", "variant_id", "product_id", "quantity", *LINEAGE),
        keys=(("event_id",),),
        not_null=("event_id", "event_type", "occurred_at", "session_id", "visitor_key"),
        value_sets={
            "event_type": _allowed("tracking_events", "event_type"),
            "conversion_type": _allowed("tracking_events", "conversion_type"),
            "exit_outcome": _allowed("tracking_events", "exit_outcome"),
        },
        bounds={"quantity": NON_NEGATIVE},
        regex={"visitor_key": HEX64, "ip_key": HEX64},
    ),
    SuiteSpec(
        model="stg_product__events",
        columns=("event_id", "event_name", "occurred_at", "user_key", "anonymous_key", "properties", "context",
                 *LINEAGE),
        keys=(("event_id",),),
        not_null=("event_id", "event_name", "occurred_at"),
        regex={"user_key": HEX64, "anonymous_key": HEX64},
    ),
    SuiteSpec(
        model="stg_definitions__funnel_steps",
        columns=("funnel_id", "funnel_name", "order_mode", "conversion_window_days", "step_id", "step_name",
                 "step_order", *LINEAGE),
        keys=(("funnel_id", "step_id"), ("funnel_id", "step_order")),
        not_null=("funnel_id", "order_mode", "conversion_window_days", "step_id", "step_order"),
        value_sets={"order_mode": _allowed("funnels", "order_mode")},
        bounds={"conversion_window_days": Bounds(min_value=0, strict_min=True), "step_order": Bounds(min_value=1)},
    ),
    SuiteSpec(
        model="stg_definitions__ab_test_variants",
        columns=("ab_test_id", "ab_test_name", "funnel_id", "conversion_step_id", "started_at", "ended_at",
                 "alpha", "variant_id", "variant_name", "is_control", "traffic_split", *LINEAGE),
        keys=(("ab_test_id", "variant_id"),),
        not_null=("ab_test_id", "alpha", "variant_id", "is_control", "traffic_split"),
        bounds={
            "alpha": Bounds(min_value=0, max_value=1, strict_min=True, strict_max=True),
            "traffic_split": Bounds(min_value=0, max_value=1),
        },
        min_rows=0,  # no A/B test running is normal
    ),
    SuiteSpec(
        model="stg_privacy__erasure_requests",
        columns=("request_id", "subject_type", "subject_key", "subject_keys", "requested_at", *LINEAGE),
        keys=(("request_id",),),
        not_null=("request_id", "subject_type", "requested_at"),
        value_sets={"subject_type": _allowed("erasure_requests", "subject_type")},
        regex={"subject_key": HEX64},
        min_rows=0,  # usually empty
    ),
)

SUITE_SPECS: dict[str, SuiteSpec] = {}
GX_SUITES: dict[str, Callable[[], ExpectationSuite]] = {}
"""Model name -> factory of its expectation suite (one Dagster asset check per entry)."""


def register_suite(spec: SuiteSpec, *, replace: bool = False) -> None:
    """Add ``spec`` to ``SUITE_SPECS`` and ``GX_SUITES`` (e.g. a mart suite)."""
    if spec.model in SUITE_SPECS and not replace:
        raise ValueError(f"a GX suite for {spec.model!r} is already registered (pass replace=True)")
    SUITE_SPECS[spec.model] = spec
    GX_SUITES[spec.model] = partial(build_suite, spec)


for _spec in STAGING_SPECS:
    register_suite(_spec)


# ---------------------------------------------------------------------------------------
# Running a suite
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GXResult:
    """Outcome of one suite over one relation, JSON-friendly for Dagster check metadata."""

    relation: str
    suite_name: str
    success: bool
    statistics: dict[str, float]
    failed_expectations: list[dict[str, Any]]
    rows_total: int
    rows_validated: int
    sampled: bool
    note: str | None = None

    def to_metadata(self) -> dict[str, Any]:
        """Plain values (str, int, float, bool, list, dict) for ``AssetCheckResult(metadata=...)``."""
        return {
            "relation": self.relation,
            "suite": self.suite_name,
            "success": self.success,
            "evaluated_expectations": int(self.statistics.get("evaluated_expectations", 0)),
            "successful_expectations": int(self.statistics.get("successful_expectations", 0)),
            "unsuccessful_expectations": int(self.statistics.get("unsuccessful_expectations", 0)),
            "success_percent": float(self.statistics.get("success_percent") or 0.0),
            "rows_total": self.rows_total,
            "rows_validated": self.rows_validated,
            "sampled": self.sampled,
            "note": self.note or "",
            "failed_expectations": self.failed_expectations,
        }


def run_gx_suite(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    *,
    max_rows: int | None = DEFAULT_MAX_ROWS,
    suite: ExpectationSuite | None = None,
) -> GXResult:
    """Validate ``relation`` (``"schema.table"``) with the suite registered for its table name.

    ``suite`` overrides the registry (then every column is fetched with its values, and the
    sample is ordered by all of them).
    With more than ``max_rows`` rows (``None``: no limit), the ``max_rows`` rows with the smallest
    ``hash(key)`` are validated, a deterministic sample; ``sampled`` and ``note`` say so, and
    uniqueness then holds for the sample only.
    """
    parts = relation.split(".")
    if not all(p.strip() for p in parts) or len(parts) > 3:
        raise ValueError(f"relation must look like 'schema.table', got {relation!r}")
    model = parts[-1]
    spec = SUITE_SPECS.get(model) if suite is None else None
    if suite is None:
        if spec is None:
            raise ValueError(f"no GX suite is registered for {model!r}; known: {sorted(SUITE_SPECS)}")
        suite = GX_SUITES[model]()
    if max_rows is not None and max_rows < 1:
        raise ValueError(f"max_rows must be >= 1 or None, got {max_rows}")

    quoted = ".".join(_quote_ident(p) for p in parts)
    columns = _describe(con, relation, quoted)
    rows_total = int(con.execute(f"select count(*) from {quoted}").fetchone()[0])  # type: ignore[index]

    checked = set(spec.checked_columns) if spec is not None else set(columns)
    select_list = ", ".join(
        _quote_ident(name) if name in checked else f"cast(null as {dtype}) as {_quote_ident(name)}"
        for name, dtype in columns.items()
    )
    sampled = max_rows is not None and rows_total > max_rows
    sql = f"select {select_list} from {quoted}"
    note = None
    if sampled:
        order_cols = [c for c in (spec.keys[0] if spec is not None and spec.keys else ()) if c in columns]
        order_cols = order_cols or [c for c in columns if c in checked] or list(columns)
        order = ", ".join(_quote_ident(c) for c in order_cols)
        sql += f" order by hash({order}), {order} limit {int(max_rows)}"  # type: ignore[arg-type]
        note = (f"validated a deterministic sample of {max_rows:,} of {rows_total:,} rows (smallest "
                f"hash of {', '.join(order_cols)}); uniqueness and row counts hold for the sample only")
    frame = con.execute(sql).df()

    context = _ephemeral_context()
    batch = (
        context.data_sources.add_pandas(name=f"duckdb:{relation}")
        .add_dataframe_asset(name=model)
        .add_batch_definition_whole_dataframe(name="whole_frame")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    validation = batch.validate(suite, result_format="SUMMARY")
    stats = {k: float(v) if v is not None else 0.0 for k, v in dict(validation.statistics).items()}
    failed = [_describe_failure(r) for r in validation.results if not r.success]
    return GXResult(
        relation=relation,
        suite_name=suite.name,
        success=bool(validation.success),
        statistics=stats,
        failed_expectations=failed,
        rows_total=rows_total,
        rows_validated=len(frame),
        sampled=sampled,
        note=note,
    )


def _describe(con: duckdb.DuckDBPyConnection, relation: str, quoted: str) -> dict[str, str]:
    try:
        described = con.execute(f"describe {quoted}").fetchall()
    except Exception as exc:  # duckdb.CatalogException and friends
        raise ValueError(f"cannot validate {relation}: it does not exist or cannot be read ({exc})") from exc
    return {str(row[0]): str(row[1]) for row in described}


def _describe_failure(result: Any) -> dict[str, Any]:
    config = result.expectation_config
    kwargs = {k: v for k, v in dict(config.kwargs).items() if k not in ("batch_id", "result_format")}
    details: dict[str, Any] = {"expectation": config.type, **{k: _jsonable(v) for k, v in kwargs.items()}}
    outcome = dict(result.result or {})
    for key in ("observed_value", "element_count", "unexpected_count", "unexpected_percent", "missing_count"):
        if key in outcome:
            details[key] = _jsonable(outcome[key])
    if "partial_unexpected_list" in outcome:
        details["unexpected_examples"] = _jsonable(outcome["partial_unexpected_list"][:_MAX_LISTED_VALUES])
    messages = _exception_messages(result.exception_info or {})
    if messages:
        details["exception"] = "; ".join(messages)
    return details


def _exception_messages(info: Mapping[str, Any]) -> list[str]:
    """Exception messages of a result: GX gives one info dict, or one per failed metric."""
    if "raised_exception" in info or "exception_message" in info:
        message = info.get("exception_message")
        return [str(message)] if info.get("raised_exception") and message else []
    messages: list[str] = []
    for nested in info.values():
        if isinstance(nested, Mapping):
            messages += [m for m in _exception_messages(nested) if m not in messages]
    return messages


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    item = getattr(value, "item", None)  # numpy / pandas scalars
    if callable(item):
        try:
            return _jsonable(item())
        except (TypeError, ValueError):
            pass
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _gx() -> Any:
    # No usage statistics from a batch warehouse (and no network in CI).
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    return gx


def _ephemeral_context() -> Any:
    gx = _gx()
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        store_backend_defaults=InMemoryStoreBackendDefaults(),
    )
    return gx.get_context(mode="ephemeral", project_config=config)
