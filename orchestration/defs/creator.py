"""Creator content attribution (issue 3): dbt intermediate -> analytics (Python) -> dbt marts.

    intermediate/int_*            snapshot deltas, content types, windows, baselines, fan credits
    analytics/content_type_confidence   p-values (Fay-Feuer / exact Poisson), lift, confidence
    analytics/recommendations           funnellens.recommendations.recommend on the performance rows
    analytics/pilot_validation          calibration backtest, placebo, lag sensitivity
    marts/fct_*                   the BI tables (dbt), reading the analytics tables as sources

The two dbt segments are separate ``@dbt_assets`` because the Python assets sit between them.
Each Python asset is thin: read a table, call a pure function, write a table, return metadata.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pandera.pandas as pa
from dagster_dbt import DbtCliResource, dbt_assets

from funnellens.confidence import ConfidenceThresholds, score_confidence_frame
from funnellens.pilot import PilotThresholds, run_pilot
from funnellens.stats import weighted_poisson_pvalues
from orchestration.lib.dbt import FunnelLensDbtTranslator, dbt_project, dbt_resource, export_dbt_environment
from orchestration.lib.warehouse import DuckDBWarehouse, LandingZone
from validation.creator_schemas import CONTENT_TYPE_CONFIDENCE_SCHEMA, PILOT_VALIDATION_SCHEMA
from validation.gx_creator import CREATOR_MART_SPECS
from validation.gx_suites import run_gx_suite

GROUP = "creator"
WRITER_POOL = "duckdb_writer"
INTERMEDIATE_SELECT = "path:dbt_project/models/intermediate/creator"
MARTS_SELECT = "path:dbt_project/models/marts/creator"
CONFIDENCE_KEY = dg.AssetKey(["analytics", "content_type_confidence"])
RECOMMENDATIONS_KEY = dg.AssetKey(["analytics", "recommendations"])
PILOT_KEY = dg.AssetKey(["analytics", "pilot_validation"])
PLACEBO_ENV = "FUNNELLENS_PLACEBO_WINDOWS"


# ---------------------------------------------------------------------------------------
# Pure helpers (testable without Dagster)
# ---------------------------------------------------------------------------------------
def score_content_type_windows(
    windows: pd.DataFrame, thresholds: ConfidenceThresholds | None = None
) -> pd.DataFrame:
    """Lift, p-value and confidence of every creator x content type x window row.

    lift_pct = (credited_subscribers / expected_subscribers - 1) x 100, NaN without an
    expectation. The p-value is the one-sided (greater) Fay-Feuer gamma test of the fractional
    credits (y = sum w, v = sum w^2; the exact Poisson test when every credit is whole), see
    ``funnellens.stats.weighted_poisson_pvalues`` and docs/methodology.md. Confidence comes
    from the credited subscriber events (``score_confidence_frame``), confounders named.
    """
    out = windows.copy()
    y = pd.to_numeric(out["credited_subscribers"]).to_numpy(dtype=float)
    v = pd.to_numeric(out["credit_sumsq"]).to_numpy(dtype=float)
    m = pd.to_numeric(out["expected_subscribers"]).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(np.isfinite(m) & (m > 0), (y / m - 1.0) * 100.0, np.nan)
    out["lift_pct"] = lift
    out["pvalue"] = weighted_poisson_pvalues(y, v, np.where(np.isfinite(m) & (m > 0), m, np.nan), "greater",
                                             on_invalid="nan")
    out["confounders"] = out["confounders"].fillna("")
    scored = score_confidence_frame(out, subscribers="credited_subscribers", lift_pct="lift_pct", pvalue="pvalue",
                                    confounders="confounders",
                                    thresholds=thresholds or ConfidenceThresholds())
    scored["significant"] = scored["significant"].astype(bool)
    return scored


def read_placebo_windows(path: Path) -> pd.DataFrame:
    """Known quiet windows (``creator_id, window_start, window_end``, UTC); empty when ``path`` is absent.

    ``path`` is a CSV with those columns, or a JSON file with a ``quiet_windows`` list of
    ``creator_id, starts_at, ends_at`` (the demo's ``planted_truth.json`` has it under ``creators``).
    """
    empty = pd.DataFrame({"creator_id": pd.Series(dtype="string"),
                          "window_start": pd.Series(dtype="datetime64[us]"),
                          "window_end": pd.Series(dtype="datetime64[us]")})
    if not path.is_file():
        return empty
    if path.suffix == ".json":
        truth = json.loads(path.read_text(encoding="utf-8"))
        # The demo keeps them at creators.quiet_windows; a plain file may have them at the top.
        section = truth.get("creators") if isinstance(truth.get("creators"), dict) else truth
        quiet = section.get("quiet_windows") or truth.get("quiet_windows") or []
        if not quiet:
            return empty
        frame = pd.DataFrame(quiet).rename(columns={"starts_at": "window_start", "ends_at": "window_end"})
    else:
        frame = pd.read_csv(path)
    missing = {"creator_id", "window_start", "window_end"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: placebo windows need creator_id, window_start and window_end "
                         f"(or starts_at/ends_at in a JSON quiet_windows list); missing {sorted(missing)}")
    frame = frame.loc[:, ["creator_id", "window_start", "window_end"]].copy()
    for col in ("window_start", "window_end"):
        frame[col] = pd.to_datetime(frame[col], utc=True).dt.tz_localize(None)
    return frame


def placebo_rows(performance: pd.DataFrame, quiet: pd.DataFrame, min_overlap: float = 0.9) -> pd.DataFrame:
    """Performance rows without confounders whose window lies (>= 90 %) inside a known quiet window."""
    if quiet.empty or performance.empty:
        return performance.iloc[0:0]
    merged = performance.reset_index().merge(quiet, on="creator_id", suffixes=("", "_quiet"))
    overlap = (np.minimum(merged["window_end"], merged["window_end_quiet"])
               - np.maximum(merged["window_start"], merged["window_start_quiet"])).dt.total_seconds()
    length = (merged["window_end"] - merged["window_start"]).dt.total_seconds()
    keep = (overlap >= min_overlap * length) & (merged["confounder_count"] == 0)
    return performance.loc[sorted(set(merged.loc[keep, "index"]))]


# ---------------------------------------------------------------------------------------
# SQL the analytics assets read (set-based; the pure functions get small frames)
# ---------------------------------------------------------------------------------------
LINK_FANS_SQL = """
with predicted as (
    select subscription_id, arg_max(content_type, credit) as predicted_type
    from (
        select * from intermediate.int_fan_lag_views
        where lag_hours = ? and credit > 0
        qualify row_number() over (partition by subscription_id order by credit desc, content_type) = 1
    )
    group by subscription_id
)
select links.subscription_id, links.creator_id, links.link_content_type as true_type, predicted.predicted_type
from intermediate.int_subscription_links as links
left join predicted using (subscription_id)
where links.link_status = 'ok'
"""

LAG_CREDITS_SQL = """
-- The attribution as deployed, at every lag: a referral link credits its type (lag-free),
-- every other subscription gets its weighted-window credit at that lag.
with links as (
    select subscription_id, link_content_type from intermediate.int_subscription_links where link_status = 'ok'
),
lags as (select distinct lag_hours from intermediate.int_fan_lag_views),
credits as (
    select lag.creator_id, lag.lag_hours, lag.content_type, lag.credit
    from intermediate.int_fan_lag_views as lag
    where lag.subscription_id not in (select subscription_id from links)
    union all
    select subs.creator_id, lags.lag_hours, links.link_content_type as content_type, 1.0 as credit
    from links
    join staging.stg_fan_platform__subscribers as subs using (subscription_id)
    cross join lags
),
credited as (
    select creator_id, lag_hours, content_type, sum(credit) as credited
    from credits
    group by all
),
views as (
    select creator_id, content_type, max(cum_views) as views
    from intermediate.int_creator_view_curve
    group by all
)
select credited.creator_id, credited.lag_hours, credited.content_type, credited.credited,
       coalesce(views.views, 0) as views
from credited left join views using (creator_id, content_type)
"""


def _write(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    con.execute("create schema if not exists analytics")
    con.register("_frame", frame)
    try:
        con.execute(f"create or replace table analytics.{table} as select * from _frame")
    finally:
        con.unregister("_frame")


def _lag_hours() -> int:
    raw = os.environ.get("FUNNELLENS_CREATOR_LAG_HOURS", "48")
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"FUNNELLENS_CREATOR_LAG_HOURS={raw!r} is not a whole number of hours") from None


# ---------------------------------------------------------------------------------------
# Definitions
# ---------------------------------------------------------------------------------------
def creator_definitions() -> dg.Definitions:
    project = dbt_project()
    translator = FunnelLensDbtTranslator()

    @dbt_assets(manifest=project.manifest_path, project=project, select=INTERMEDIATE_SELECT,
                dagster_dbt_translator=translator, name="dbt_creator_intermediate", pool=WRITER_POOL)
    def dbt_creator_intermediate(context, dbt: DbtCliResource):
        """Snapshot deltas, content types, windows and baselines, fan credits (dbt tests gate them)."""
        export_dbt_environment()
        yield from dbt.cli(["build", "--vars", _dbt_vars()], context=context).stream()

    @dg.asset(key=CONFIDENCE_KEY, group_name=GROUP, pool=WRITER_POOL,
              deps=[dg.AssetKey(["intermediate", "int_content_type_windows"])],
              description="Lift, p-value (Fay-Feuer / exact Poisson) and confidence per creator x type x window.")
    def content_type_confidence(warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            windows = con.execute("select * from intermediate.int_content_type_windows").df()
            scored = score_content_type_windows(windows)
            _write(con, "content_type_confidence", scored)
        return dg.MaterializeResult(metadata={
            "rows": len(scored),
            "tiers": dg.MetadataValue.json(scored["tier"].value_counts().to_dict()),
        })

    @dg.asset(key=RECOMMENDATIONS_KEY, group_name=GROUP, pool=WRITER_POOL, deps=[CONFIDENCE_KEY],
              description="funnellens.recommendations.recommend on the content-type performance rows.")
    def recommendations(warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
        from funnellens.recommendations import RecommendationThresholds, recommend

        with warehouse.connect() as con:
            performance = con.execute("select * from analytics.content_type_confidence").df()
            result = recommend(performance, thresholds=RecommendationThresholds.from_env())
            _write(con, "recommendations", result)
        return dg.MaterializeResult(metadata={"rows": len(result)})

    @dg.asset(key=PILOT_KEY, group_name=GROUP, pool=WRITER_POOL,
              deps=[CONFIDENCE_KEY, dg.AssetKey(["intermediate", "int_fan_lag_views"]),
                    dg.AssetKey(["intermediate", "int_subscription_links"])],
              description="Pilot validation: calibration backtest, placebo, lag sensitivity (funnellens.pilot).")
    def pilot_validation(warehouse: DuckDBWarehouse, landing: LandingZone) -> dg.MaterializeResult:
        quiet_path = Path(os.environ.get(PLACEBO_ENV) or landing.root / "_demo" / "planted_truth.json")
        with warehouse.connect() as con:
            link_fans = con.execute(LINK_FANS_SQL, [_lag_hours()]).df()
            lag_credits = con.execute(LAG_CREDITS_SQL).df()
            performance = con.execute("select * from analytics.content_type_confidence").df()
            result = run_pilot(link_fans, placebo_rows(performance, read_placebo_windows(quiet_path)), lag_credits,
                               PilotThresholds.from_env())
            _write(con, "pilot_validation", result)
        overall = result[result["scope"] == "overall"]
        return dg.MaterializeResult(metadata={
            "rows": len(result),
            "overall": dg.MetadataValue.md(overall.to_markdown(index=False) if _has_tabulate() else overall.to_string()),
            "all_passed": bool(overall["passed"].fillna(True).all()),
        })

    @dbt_assets(manifest=project.manifest_path, project=project, select=MARTS_SELECT,
                dagster_dbt_translator=translator, name="dbt_creator_marts", pool=WRITER_POOL)
    def dbt_creator_marts(context, dbt: DbtCliResource):
        """The creator marts for BI: performance, fan attribution, recommendations, pilot validation."""
        export_dbt_environment()
        yield from dbt.cli(["build", "--vars", _dbt_vars()], context=context).stream()

    checks = [
        _pandera_check(CONFIDENCE_KEY, CONTENT_TYPE_CONFIDENCE_SCHEMA),
        _pandera_check(PILOT_KEY, PILOT_VALIDATION_SCHEMA),
        *(_gx_mart_check(spec.model) for spec in CREATOR_MART_SPECS),
    ]
    return dg.Definitions(
        assets=[dbt_creator_intermediate, content_type_confidence, recommendations, pilot_validation,
                dbt_creator_marts],
        asset_checks=checks,
        resources={"dbt": dbt_resource()},
    )


def _pandera_check(key: dg.AssetKey, schema: pa.DataFrameSchema) -> dg.AssetChecksDefinition:
    table = ".".join(key.path)

    @dg.asset_check(asset=key, name="pandera_schema", blocking=True,
                    description=f"Pandera schema {schema.name} (validation/creator_schemas.py).")
    def _check(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
        with warehouse.connect(read_only=True) as con:
            frame = con.execute(f"select * from {table}").df()
        try:
            schema.validate(frame, lazy=True)
        except pa.errors.SchemaErrors as exc:
            failures = exc.failure_cases.head(20).astype(str).to_dict("records")
            return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR,
                                       metadata={"rows": len(frame), "failure_cases": failures})
        return dg.AssetCheckResult(passed=True, metadata={"rows": len(frame)})

    _check.__name__ = f"pandera_{key.path[-1]}"
    return _check


def _gx_mart_check(model: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=dg.AssetKey(["marts", model]), name="gx_suite", blocking=True,
                    description=f"Great Expectations suite for marts.{model} (validation/gx_creator.py).")
    def _check(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
        with warehouse.connect(read_only=True) as con:
            result = run_gx_suite(con, f"marts.{model}")
        return dg.AssetCheckResult(passed=bool(result.success), severity=dg.AssetCheckSeverity.ERROR,
                                   metadata=result.to_metadata())

    _check.__name__ = f"gx_{model}"
    return _check


def _dbt_vars() -> str:
    """The lag the Python side uses, passed to dbt so both sides agree."""
    return f"{{creator_lag_hours: {_lag_hours()}}}"


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True
