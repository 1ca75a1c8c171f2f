"""Multi-touch attribution in the warehouse (issue 4): journeys -> credits -> marts.

    staging.stg_marketing__{touchpoints,conversions}
      -> intermediate.int_attribution_*            dbt: journeys, paths under each transform
      -> analytics.channel_credit / campaign_credit  every model, bootstrap intervals
         analytics.conversion_credit               conversion x touch x model (incl. time decay)
         analytics.markov_transition_matrix        versioned Markov model state
      -> marts.fct_{attribution_paths,channel_credit,campaign_credit,conversion_credit}
    exports/offline_conversions                    Meta CAPI / GA4 MP payload files (+ opt-in send)

The credit tables hold one set of rows per *period*: ``all`` for the nightly run over every
journey, or the ISO interval ``start/end`` of a batch analysis (``attribution_analysis_job``
with run config). A run replaces the rows of its own period only, so windows analysed earlier
stay. Each Markov training appends a new version of the transition matrix and (by default)
makes it the active one for its dimension, transform and order; earlier versions stay.

The math is ``funnellens.attribution``; the functions below read a table, call it and write a
table. Pandera gates (``validation/attribution_schemas.py``) and GX suites
(``validation/gx_attribution.py``) block what is downstream when they fail.
"""

# No `from __future__ import annotations`: Dagster resolves Config annotations at runtime.
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
from dagster_dbt import DbtCliResource, dbt_assets

from funnellens.attribution import (
    BOOTSTRAP_MODELS,
    TOUCH_MODELS,
    NegativeCreditWarning,
    bootstrap_credit,
    markov_transition_matrix,
    per_conversion_credit,
)
from funnellens.config import get_settings
from funnellens.offline_conversions import (
    OfflineConversionSettings,
    build_offline_conversion_payloads,
    send_payload_files,
    write_payload_files,
)
from orchestration.lib.dbt import FunnelLensDbtTranslator, dbt_project, export_dbt_environment
from orchestration.lib.warehouse import DuckDBWarehouse
from validation.attribution_schemas import validate_analytics_table
from validation.gx_attribution import ATTRIBUTION_MART_SUITES
from validation.gx_suites import run_gx_suite

WRITER_POOL = "duckdb_writer"
GROUP = "attribution"
INTERMEDIATE_SELECT = "path:dbt_project/models/intermediate/attribution"
MARTS_SELECT = "path:dbt_project/models/marts/attribution"

DIMENSIONS = ("channel", "campaign", "source_medium", "platform")
TRANSFORMS = ("exposure", "unique", "first", "frequency")
CHANNEL_MODELS = BOOTSTRAP_MODELS  # first, last, linear, position, markov, shapley
ALL_PERIOD = "all"

CHANNEL_CREDIT = dg.AssetKey(["analytics", "channel_credit"])
CAMPAIGN_CREDIT = dg.AssetKey(["analytics", "campaign_credit"])
CONVERSION_CREDIT = dg.AssetKey(["analytics", "conversion_credit"])
TRANSITION_MATRIX = dg.AssetKey(["analytics", "markov_transition_matrix"])
ANALYTICS_KEYS = (CHANNEL_CREDIT, CAMPAIGN_CREDIT, CONVERSION_CREDIT, TRANSITION_MATRIX)
OFFLINE_CONVERSIONS = dg.AssetKey(["exports", "offline_conversions"])

JOURNEYS = dg.AssetKey(["intermediate", "int_attribution_journeys"])
JOURNEY_TOUCHES = dg.AssetKey(["intermediate", "int_attribution_journey_touches"])
STAGING_CONVERSIONS = dg.AssetKey(["staging", "stg_marketing__conversions"])

CREDIT_COLUMNS = {
    "period": "VARCHAR", "window_start": "TIMESTAMP", "window_end": "TIMESTAMP", "dimension": "VARCHAR",
    "transform": "VARCHAR", "model": "VARCHAR", "model_params": "VARCHAR", "channel": "VARCHAR",
    "conversions": "DOUBLE", "value": "DOUBLE", "ci_low": "DOUBLE", "ci_high": "DOUBLE",
    "value_ci_low": "DOUBLE", "value_ci_high": "DOUBLE", "removal_effect": "DOUBLE", "negative_credit": "BOOLEAN",
    "total_conversions": "DOUBLE", "total_value": "DOUBLE", "journeys": "BIGINT", "n_resamples": "INTEGER",
    "ci_level": "DOUBLE", "seed": "BIGINT", "n_degenerate_resamples": "INTEGER", "computed_at": "TIMESTAMP",
    "run_id": "VARCHAR",
}
CONVERSION_CREDIT_COLUMNS = {
    "period": "VARCHAR", "conversion_id": "VARCHAR", "touch_index": "INTEGER", "touchpoint_id": "VARCHAR",
    "channel": "VARCHAR", "campaign": "VARCHAR", "touched_at": "TIMESTAMP", "converted_at": "TIMESTAMP",
    "conversion_value": "DOUBLE", "model": "VARCHAR", "credit": "DOUBLE", "value_credit": "DOUBLE",
    "half_life_days": "DOUBLE", "computed_at": "TIMESTAMP", "run_id": "VARCHAR",
}
TRANSITION_COLUMNS = {
    "version": "INTEGER", "trained_at": "TIMESTAMP", "period": "VARCHAR", "window_start": "TIMESTAMP",
    "window_end": "TIMESTAMP", "dimension": "VARCHAR", "transform": "VARCHAR", "markov_order": "INTEGER",
    "from_state": "VARCHAR", "to_state": "VARCHAR", "count": "DOUBLE", "probability": "DOUBLE",
    "is_active": "BOOLEAN", "run_id": "VARCHAR",
}
TABLE_COLUMNS = {
    "channel_credit": CREDIT_COLUMNS,
    "campaign_credit": CREDIT_COLUMNS,
    "conversion_credit": CONVERSION_CREDIT_COLUMNS,
    "markov_transition_matrix": TRANSITION_COLUMNS,
}


class AttributionConfig(dg.Config):
    """Run configuration of the credit assets (the batch-analysis job sets the window)."""

    window_start: str | None = None
    """Journeys ending at or after this ISO date/time (UTC); empty: from the first journey."""
    window_end: str | None = None
    """Journeys ending before this ISO date/time (UTC); empty: up to the last journey."""
    dimensions: list[str] = ["channel", "source_medium", "platform"]
    """Dimensions of analytics.channel_credit (campaign credit always uses ``campaign``)."""
    transform: str = "exposure"
    """Path transform the credit models read: exposure, unique, first or frequency."""
    markov_order: int = 1
    """Order of the Markov chain (1 to 4), for the credits and the trained transition matrix."""
    shapley_max_channels: int = 15
    """Exact Shapley up to this many channels; above it the simplified (Zhao et al.) split."""
    position_weights: list[float] = [0.4, 0.2, 0.4]
    half_life_days: float = 7.0
    """Half-life of the time-decay model in days."""
    n_resamples: int = 200
    seed: int = 0
    ci_level: float = 0.95
    matrix_dimension: str = "channel"
    """Dimension of the Markov transition matrix that this run trains and versions."""
    activate_matrix: bool = True
    """Make the newly trained transition matrix the active version."""


@dataclass(frozen=True)
class Window:
    """The journeys a run attributes: journey_end_at in [start, end) (all journeys for ``all``)."""

    start: datetime | None
    end: datetime | None

    @classmethod
    def parse(cls, start: str | None, end: str | None) -> "Window":
        def parse_one(text: str | None, name: str) -> datetime | None:
            if text is None or not str(text).strip():
                return None
            try:
                stamp = pd.Timestamp(str(text).strip())
            except ValueError as exc:
                raise ValueError(f"{name}={text!r} is not an ISO date or date-time") from exc
            if stamp.tzinfo is not None:
                stamp = stamp.tz_convert("UTC").tz_localize(None)
            return stamp.to_pydatetime()

        window = cls(parse_one(start, "window_start"), parse_one(end, "window_end"))
        if window.start and window.end and window.start >= window.end:
            raise ValueError(f"window_start {start!r} must be before window_end {end!r}")
        return window

    @property
    def period(self) -> str:
        """``all``, or the ISO 8601 interval ``start/end`` (an open side is ``..``)."""
        if self.start is None and self.end is None:
            return ALL_PERIOD

        def fmt(value: datetime | None) -> str:
            if value is None:
                return ".."
            return value.date().isoformat() if value == datetime(value.year, value.month, value.day) \
                else value.isoformat()

        return f"{fmt(self.start)}/{fmt(self.end)}"

    def where(self, column: str = "journey_end_at") -> tuple[str, list[datetime]]:
        clauses, params = ["true"], []
        if self.start is not None:
            clauses.append(f"{column} >= ?")
            params.append(self.start)
        if self.end is not None:
            clauses.append(f"{column} < ?")
            params.append(self.end)
        return " and ".join(clauses), params


# ---------------------------------------------------------------------------------------
# Reading journeys (set-based SQL in DuckDB)
# ---------------------------------------------------------------------------------------
def read_paths(con: duckdb.DuckDBPyConnection, dimension: str, transform: str, window: Window) -> pd.DataFrame:
    """Distinct paths of the journeys in ``window``: ``path``, ``conversions``, ``nulls``, ``value``."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}; expected one of {DIMENSIONS}")
    if transform not in TRANSFORMS:
        raise ValueError(f"unknown path transform {transform!r}; expected one of {TRANSFORMS}")
    where, params = window.where()
    return con.execute(
        f"""
        select path_{transform} as path,
               count(*) filter (where is_conversion) as conversions,
               count(*) filter (where not is_conversion) as nulls,
               coalesce(sum(value) filter (where is_conversion), 0) as value
        from intermediate.int_attribution_journeys
        where dimension = ? and {where}
        group by 1 order by 1
        """,
        [dimension, *params],
    ).df()


def read_conversion_touches(con: duckdb.DuckDBPyConnection, window: Window) -> pd.DataFrame:
    """Touches of the converting journeys in ``window`` (the input of per-conversion credit)."""
    where, params = window.where()
    return con.execute(
        f"""
        select conversion_id, touch_index, touchpoint_id, channel, campaign, touched_at,
               journey_end_at as converted_at, value
        from intermediate.int_attribution_journey_touches
        where is_conversion and {where}
        order by conversion_id, touch_index
        """,
        params,
    ).df()


def observed_window(con: duckdb.DuckDBPyConnection, window: Window) -> tuple[datetime | None, datetime | None]:
    """The window's bounds, an open side filled with the first / last journey end in it."""
    where, params = window.where()
    low, high = con.execute(
        f"select min(journey_end_at), max(journey_end_at) from intermediate.int_attribution_journeys "
        f"where {where}", params).fetchall()[0]
    return window.start or low, window.end or high


# ---------------------------------------------------------------------------------------
# Computing credits (calls funnellens.attribution)
# ---------------------------------------------------------------------------------------
def model_arguments(model: str, n_channels: int, config: AttributionConfig) -> dict[str, object]:
    """Keyword arguments of ``bootstrap_credit`` for ``model`` (exact Shapley only when feasible)."""
    if model == "position":
        return {"position_weights": tuple(config.position_weights)}
    if model == "markov":
        return {"order": config.markov_order}
    if model == "shapley":
        exact = n_channels <= config.shapley_max_channels
        return {"method": "exact" if exact else "simplified", "max_channels": config.shapley_max_channels}
    return {}


def credit_table(paths: pd.DataFrame, config: AttributionConfig) -> tuple[pd.DataFrame, list[str]]:
    """Every model's credit per channel with bootstrap intervals, and the warnings raised.

    ``bootstrap_credit`` fits each model on the full paths (the point estimate) and on
    ``n_resamples`` journey resamples (the percentile interval). In every model the credits sum
    to the total conversions and the value credits to the total value.
    """
    n_channels = paths["path"].str.split(" > ").explode().nunique()
    frames, notes = [], []
    for model in CHANNEL_MODELS:
        kwargs = model_arguments(model, n_channels, config)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", NegativeCreditWarning)
            frame = bootstrap_credit(paths, model, n_resamples=config.n_resamples, seed=config.seed,
                                     ci=config.ci_level, **kwargs)
        notes += [f"{model}: {w.message}" for w in caught if issubclass(w.category, NegativeCreditWarning)]
        frame = frame.assign(
            model=model,
            model_params=json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()},
                                    sort_keys=True),
            n_degenerate_resamples=int(frame.attrs["n_degenerate_resamples"]),
        )
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    for column in ("removal_effect", "negative_credit"):
        if column not in table:
            table[column] = np.nan
    table["negative_credit"] = table["negative_credit"].astype("boolean").fillna(False).astype(bool)
    table["total_conversions"] = float(paths["conversions"].sum())
    table["total_value"] = float(paths["value"].sum())
    table["journeys"] = int(paths["conversions"].sum() + paths["nulls"].sum())
    table["n_resamples"] = config.n_resamples
    table["ci_level"] = config.ci_level
    table["seed"] = config.seed
    return table, notes


def compute_credit(
    con: duckdb.DuckDBPyConnection, dimensions: Sequence[str], config: AttributionConfig, window: Window,
    run_id: str,
) -> tuple[pd.DataFrame, list[str]]:
    """Credit rows (``CREDIT_COLUMNS``) of every model for each dimension in ``window``."""
    start, end = observed_window(con, window)
    frames, notes = [], []
    for dimension in dimensions:
        paths = read_paths(con, dimension, config.transform, window)
        if paths.empty or paths["conversions"].sum() == 0:
            raise dg.Failure(
                f"no converting journeys for dimension {dimension!r} in period {window.period!r}: nothing to "
                "attribute. Check the window and that staging.stg_marketing__conversions has rows.")
        table, caught = credit_table(paths, config)
        frames.append(table.assign(dimension=dimension))
        notes += [f"{dimension} {note}" for note in caught]
    credit = pd.concat(frames, ignore_index=True).assign(
        period=window.period, window_start=start, window_end=end, transform=config.transform,
        computed_at=datetime.now(UTC).replace(tzinfo=None), run_id=run_id,
    )
    return credit.loc[:, list(CREDIT_COLUMNS)], notes


def compute_conversion_credit(
    con: duckdb.DuckDBPyConnection, config: AttributionConfig, window: Window, run_id: str
) -> pd.DataFrame:
    """One row per conversion x touch x model (first, last, linear, position, time_decay)."""
    touches = read_conversion_touches(con, window)
    if touches.empty:
        return pd.DataFrame({c: pd.Series(dtype=_pandas_dtype(t)) for c, t in CONVERSION_CREDIT_COLUMNS.items()})
    credit = per_conversion_credit(touches, TOUCH_MODELS, half_life_days=config.half_life_days,
                                   position_weights=tuple(config.position_weights))
    detail = touches.loc[:, ["conversion_id", "touch_index", "touchpoint_id", "campaign", "touched_at",
                             "converted_at", "value"]].rename(columns={"value": "conversion_value"})
    credit = credit.merge(detail, on=["conversion_id", "touch_index"], how="left", validate="many_to_one")
    credit = credit.assign(period=window.period, half_life_days=config.half_life_days,
                           computed_at=datetime.now(UTC).replace(tzinfo=None), run_id=run_id)
    return credit.loc[:, list(CONVERSION_CREDIT_COLUMNS)]


def _pandas_dtype(duckdb_type: str) -> str:
    return {"DOUBLE": "float64", "INTEGER": "int32", "BIGINT": "int64", "BOOLEAN": "bool",
            "TIMESTAMP": "datetime64[us]"}.get(duckdb_type, "object")


# ---------------------------------------------------------------------------------------
# Writing analytics tables
# ---------------------------------------------------------------------------------------
def ensure_analytics_table(con: duckdb.DuckDBPyConnection, table: str) -> None:
    columns = TABLE_COLUMNS[table]
    body = ", ".join(f'"{name}" {dtype}' for name, dtype in columns.items())
    con.execute("create schema if not exists analytics")
    con.execute(f"create table if not exists analytics.{table} ({body})")


def replace_period(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, period: str) -> int:
    """Replace the rows of ``period`` in ``analytics.<table>`` by ``frame``, in one transaction."""
    ensure_analytics_table(con, table)
    con.execute("begin transaction")
    try:
        con.execute(f"delete from analytics.{table} where period = ?", [period])
        con.register("_attribution_frame", frame)
        con.execute(f"insert into analytics.{table} by name select * from _attribution_frame")
        con.unregister("_attribution_frame")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return len(frame)


def write_transition_matrix_version(
    con: duckdb.DuckDBPyConnection, matrix: pd.DataFrame, *, period: str, window: tuple[datetime | None, ...],
    dimension: str, transform: str, order: int, activate: bool, run_id: str,
) -> int:
    """Append ``matrix`` as a new version; with ``activate`` it becomes the only active version
    of its (dimension, transform, order). Returns the new version number."""
    ensure_analytics_table(con, "markov_transition_matrix")
    con.execute("begin transaction")
    try:
        version = int(con.execute(
            "select coalesce(max(version), 0) + 1 from analytics.markov_transition_matrix").fetchall()[0][0])
        if activate:
            con.execute(
                "update analytics.markov_transition_matrix set is_active = false "
                "where dimension = ? and transform = ? and markov_order = ?", [dimension, transform, order])
        frame = matrix.assign(
            version=version, trained_at=datetime.now(UTC).replace(tzinfo=None), period=period,
            window_start=window[0], window_end=window[1], dimension=dimension, transform=transform,
            markov_order=order, is_active=activate, run_id=run_id,
        ).loc[:, list(TRANSITION_COLUMNS)]
        con.register("_matrix_frame", frame)
        con.execute("insert into analytics.markov_transition_matrix by name select * from _matrix_frame")
        con.unregister("_matrix_frame")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return version


def _preview(frame: pd.DataFrame, columns: Sequence[str], n: int = 12) -> dg.MetadataValue:
    head = frame.loc[:, list(columns)].head(n)
    return dg.MetadataValue.md(head.to_markdown(index=False, floatfmt=".4g") if len(head) else "(no rows)")


# ---------------------------------------------------------------------------------------
# Dagster definitions
# ---------------------------------------------------------------------------------------
def _analytics_specs() -> list[dg.AssetSpec]:
    descriptions = {
        CHANNEL_CREDIT: "Channel credit of every model (first, last, linear, position, Markov, Shapley) "
                        "per dimension and period, with bootstrap percentile intervals (journey "
                        "resamples, fixed seed). Credits sum to the period's conversions and value.",
        CAMPAIGN_CREDIT: "Campaign credit of every model per period, with bootstrap intervals "
                         "(the same models as channel credit, dimension campaign).",
        CONVERSION_CREDIT: "Per-conversion credit: one row per conversion x touch x model (first, last, "
                           "linear, position, time decay); per conversion and model the credits sum to 1.",
        TRANSITION_MATRIX: "Markov model state: every training appends a version of the transition "
                           "matrix (window, order, from_state, to_state, count, probability) and marks "
                           "the active one; earlier versions stay queryable.",
    }
    deps = {CONVERSION_CREDIT: [JOURNEY_TOUCHES]}
    return [
        dg.AssetSpec(key, group_name=GROUP, description=descriptions[key], deps=deps.get(key, [JOURNEYS]),
                     kinds={"duckdb", "python"}, metadata={"dagster/table_name": ".".join(key.path)})
        for key in ANALYTICS_KEYS
    ]


@dg.multi_asset(specs=_analytics_specs(), name="attribution_models", pool=WRITER_POOL)
def attribution_models(
    context: dg.AssetExecutionContext, config: AttributionConfig, warehouse: DuckDBWarehouse
):
    """Fits every attribution model on the journeys of one period and writes the analytics tables."""
    window = Window.parse(config.window_start, config.window_end)
    unknown = sorted(set(config.dimensions) - set(DIMENSIONS))
    if unknown or config.matrix_dimension not in DIMENSIONS:
        raise dg.Failure(f"unknown dimension(s) {unknown or [config.matrix_dimension]}; expected {DIMENSIONS}")
    run_id = context.run_id
    with warehouse.connect() as con:
        channel, channel_notes = compute_credit(con, config.dimensions, config, window, run_id)
        campaign, campaign_notes = compute_credit(con, ["campaign"], config, window, run_id)
        conversion = compute_conversion_credit(con, config, window, run_id)
        matrix = markov_transition_matrix(read_paths(con, config.matrix_dimension, config.transform, window),
                                          order=config.markov_order)
        bounds = observed_window(con, window)
        replace_period(con, "channel_credit", channel, window.period)
        replace_period(con, "campaign_credit", campaign, window.period)
        replace_period(con, "conversion_credit", conversion, window.period)
        version = write_transition_matrix_version(
            con, matrix, period=window.period, window=bounds, dimension=config.matrix_dimension,
            transform=config.transform, order=config.markov_order, activate=config.activate_matrix, run_id=run_id)
    for note in channel_notes + campaign_notes:
        context.log.warning(note)
    common = {"period": window.period, "transform": config.transform}
    credit_columns = ["dimension", "model", "channel", "conversions", "ci_low", "ci_high", "value"]
    yield dg.MaterializeResult(asset_key=CHANNEL_CREDIT, metadata={
        **common, "dagster/row_count": len(channel), "conversions": float(channel["total_conversions"].iloc[0]),
        "journeys": int(channel["journeys"].iloc[0]), "negative_credit": "; ".join(channel_notes) or "none",
        "preview": _preview(channel[channel["dimension"] == "channel"], credit_columns, 24)})
    yield dg.MaterializeResult(asset_key=CAMPAIGN_CREDIT, metadata={
        **common, "dagster/row_count": len(campaign), "negative_credit": "; ".join(campaign_notes) or "none",
        "preview": _preview(campaign, credit_columns)})
    yield dg.MaterializeResult(asset_key=CONVERSION_CREDIT, metadata={
        "period": window.period, "dagster/row_count": len(conversion),
        "conversions": int(conversion["conversion_id"].nunique()), "half_life_days": config.half_life_days})
    yield dg.MaterializeResult(asset_key=TRANSITION_MATRIX, metadata={
        **common, "version": version, "active": config.activate_matrix, "markov_order": config.markov_order,
        "dimension": config.matrix_dimension, "dagster/row_count": len(matrix)})


def _pandera_check(key: dg.AssetKey) -> dg.AssetChecksDefinition:
    table = key.path[-1]

    @dg.asset_check(asset=key, name="pandera_gate", blocking=True,
                    description=f"pandera schema of analytics.{table} (validation/attribution_schemas.py): "
                                "credits sum to the totals within 1e-9, no NaN, keys unique.")
    def _check(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
        with warehouse.connect(read_only=True) as con:
            result = validate_analytics_table(con, table)
        return dg.AssetCheckResult(passed=result.passed, severity=dg.AssetCheckSeverity.ERROR,
                                   metadata=result.as_metadata())

    _check.__name__ = f"pandera_{table}"
    return _check


def _gx_mart_check(model: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=dg.AssetKey(["marts", model]), name="gx_suite", blocking=True,
                    description=f"Great Expectations suite for marts.{model} (validation/gx_attribution.py).")
    def _check(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
        with warehouse.connect(read_only=True) as con:
            result = run_gx_suite(con, f"marts.{model}")
        return dg.AssetCheckResult(passed=bool(result.success), severity=dg.AssetCheckSeverity.ERROR,
                                   metadata=result.to_metadata())

    _check.__name__ = f"gx_{model}"
    return _check


class OfflineConversionExportConfig(dg.Config):
    """Which conversions an export run writes (and, when the sender is enabled, sends)."""

    days: int = 7
    """Conversions of the last ``days`` days before the newest conversion (Meta accepts 7 days)."""
    action_source: str = "system_generated"
    """Meta CAPI action_source; 'website' would also need client_user_agent, which is not collected."""
    test_event_code: str | None = None
    """Meta test_event_code: events go to the Events Manager test tab only."""


class OfflineConversionSender(dg.ConfigurableResource):
    """Sends the payload files to Meta / GA4. Off by default; with ``dry_run`` nothing is sent.

    Credentials come from the environment (``FUNNELLENS_META_PIXEL_ID``,
    ``FUNNELLENS_META_ACCESS_TOKEN``, ``FUNNELLENS_GA4_MEASUREMENT_ID``,
    ``FUNNELLENS_GA4_API_SECRET``) and are never written to the payload files.
    """

    enabled: bool = False
    dry_run: bool = True

    def settings(self) -> OfflineConversionSettings:
        return OfflineConversionSettings.from_env(enabled=self.enabled, dry_run=self.dry_run)


@dg.asset(key=OFFLINE_CONVERSIONS, group_name=GROUP, deps=[STAGING_CONVERSIONS], kinds={"python", "json"},
          description="Offline-conversion payload files in the Meta Conversions API and GA4 Measurement "
                      "Protocol shapes (event_id / transaction_id for dedup; e-mail and phone only as "
                      "normalised SHA-256). Sending is opt-in (OfflineConversionSender, off and dry-run "
                      "by default).")
def offline_conversions(
    context: dg.AssetExecutionContext, config: OfflineConversionExportConfig, warehouse: DuckDBWarehouse,
    offline_conversion_sender: OfflineConversionSender,
) -> dg.MaterializeResult:
    with warehouse.connect(read_only=True) as con:
        conversions = con.execute(
            """
            select conversion_id, user_key, converted_at, conversion_type, value, currency,
                   email_sha256, phone_sha256, phone_e164_sha256
            from staging.stg_marketing__conversions
            where converted_at >= (select max(converted_at) from staging.stg_marketing__conversions) - to_days(?)
            order by converted_at, conversion_id
            """, [int(config.days)]).df()
    payloads = build_offline_conversion_payloads(conversions, action_source=config.action_source,
                                                 test_event_code=config.test_event_code)
    out_dir = Path(get_settings().export_dir) / "offline_conversions" / context.run_id
    files = write_payload_files(payloads, out_dir)
    report = send_payload_files(files, offline_conversion_sender.settings())
    context.log.info(report.summary)
    return dg.MaterializeResult(metadata={
        "folder": str(out_dir), "meta_events": payloads.meta_events, "ga4_events": payloads.ga4_events,
        "skipped": json.dumps(payloads.skipped), "sending": report.summary,
        "dagster/row_count": payloads.meta_events})


# One instance, so that merging these definitions twice never conflicts on the resource key.
OFFLINE_CONVERSION_SENDER = OfflineConversionSender()


def attribution_definitions() -> dg.Definitions:
    project = dbt_project()
    translator = FunnelLensDbtTranslator()

    @dbt_assets(manifest=project.manifest_path, project=project, select=INTERMEDIATE_SELECT,
                dagster_dbt_translator=translator, name="dbt_attribution_intermediate", pool=WRITER_POOL)
    def dbt_attribution_intermediate(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        """Journeys and paths (dbt): lookback, last-N, null paths, transforms, dimensions."""
        export_dbt_environment()
        yield from dbt.cli(["build"], context=context).stream()

    @dbt_assets(manifest=project.manifest_path, project=project, select=MARTS_SELECT,
                dagster_dbt_translator=translator, name="dbt_attribution_marts", pool=WRITER_POOL)
    def dbt_attribution_marts(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        """Attribution marts: paths, channel / campaign / conversion credit."""
        export_dbt_environment()
        yield from dbt.cli(["build"], context=context).stream()

    credit_marts = [dg.AssetKey(["marts", m]) for m in ("fct_channel_credit", "fct_campaign_credit",
                                                          "fct_conversion_credit")]
    analysis_job = dg.define_asset_job(
        "attribution_analysis_job",
        selection=dg.AssetSelection.assets(*ANALYTICS_KEYS, *credit_marts),
        description="Batch attribution over any window: run config ops.attribution_models.config "
                    "(window_start, window_end, markov_order, dimensions, transform, ...).",
        executor_def=dg.in_process_executor,
        tags={"funnellens/duckdb": "writer"},
    )
    return dg.Definitions(
        assets=[dbt_attribution_intermediate, attribution_models, dbt_attribution_marts, offline_conversions],
        asset_checks=[*(_pandera_check(k) for k in ANALYTICS_KEYS),
                      *(_gx_mart_check(m) for m in ATTRIBUTION_MART_SUITES)],
        jobs=[analysis_job],
        # The `dbt` resource comes from staging_definitions() (a second one would conflict on merge).
        resources={"offline_conversion_sender": OFFLINE_CONVERSION_SENDER},
    )
