"""Funnel analytics (issue 5): dbt intermediate -> analytics (Python) -> dbt marts.

    analytics/user_agents          funnellens.useragents.user_agent_dimension over the tracking events
    intermediate/int_*             sessions, visitors, step visits, funnel progress, step periods,
                                   conversions, A/B variant aggregates (dbt, set-based SQL)
    analytics/funnel_dropoffs      funnellens.funnel_rules.dropoff_suggestions per step and period
    analytics/ab_test_results      funnellens.experiments.evaluate_ab_test per test x variant x metric
    marts/fct_*, marts/dim_*       the BI tables (dbt), reading the analytics tables as sources

The user-agent lookup sits before the intermediate models (sessions join it), the two other
Python assets between intermediate and marts, so there are two ``@dbt_assets`` segments. The
pure work of each Python asset is a function here (``build_*``) that tests call on a DuckDB
connection; the asset wraps it with a connection and metadata.
"""


import dagster as dg
import duckdb
import pandas as pd
from dagster_dbt import DbtCliResource, dbt_assets

from funnellens.experiments import evaluate_ab_test
from funnellens.funnel_rules import DropoffThresholds, SuggestionRules, dropoff_suggestions
from funnellens.useragents import user_agent_dimension
from orchestration.lib.dbt import FunnelLensDbtTranslator, dbt_project, dbt_resource, export_dbt_environment
from orchestration.lib.warehouse import DuckDBWarehouse
from validation.funnel_schemas import AB_TEST_RESULTS_SCHEMA, FUNNEL_DROPOFFS_SCHEMA, USER_AGENTS_SCHEMA

GROUP = "funnel"
WRITER_POOL = "duckdb_writer"
INTERMEDIATE_SELECT = "path:dbt_project/models/intermediate/funnel"
MARTS_SELECT = "path:dbt_project/models/marts/funnel"
EVENTS_RELATION = "staging.stg_tracking__events"
USER_AGENTS_TABLE = "analytics.user_agents"
USER_AGENTS_KEY = dg.AssetKey(["analytics", "user_agents"])
DROPOFFS_KEY = dg.AssetKey(["analytics", "funnel_dropoffs"])
AB_RESULTS_KEY = dg.AssetKey(["analytics", "ab_test_results"])
STEP_PERIODS_RELATION = "intermediate.int_funnel_step_periods"
VARIANT_STATS_RELATION = "intermediate.int_ab_test_variant_stats"

_KEY_SEPARATOR = "\x1f"
_DROPOFF_INPUTS = (
    "funnel_id", "step_id", "step_name", "step_order", "grain", "period_start", "entries", "dropoffs",
    "dropoff_rate", "bounce_share", "close_share", "median_time_in_step_s", "median_bounce_time_s",
    "median_close_time_s", "mobile_entries", "mobile_dropoff_rate", "desktop_entries", "desktop_dropoff_rate",
    "top_exit_reasons",
)
_AB_INPUTS = (
    "ab_test_id", "variant_id", "is_control", "traffic_split", "visitors", "conversions", "revenue_sum",
    "revenue_sumsq", "alpha",
)
_AB_TYPES = {
    "ab_test_id": "VARCHAR", "variant_id": "VARCHAR", "is_control": "BOOLEAN", "metric": "VARCHAR",
    "visitors": "BIGINT", "conversions": "BIGINT", "conversion_rate": "DOUBLE", "revenue": "DOUBLE",
    "revenue_per_visitor": "DOUBLE", "value": "DOUBLE", "control_value": "DOUBLE", "difference": "DOUBLE",
    "improvement_pct": "DOUBLE", "ci_low": "DOUBLE", "ci_high": "DOUBLE", "pvalue": "DOUBLE",
    "pvalue_adjusted": "DOUBLE", "chance_to_win": "DOUBLE", "significant": "BOOLEAN", "srm_pvalue": "DOUBLE",
    "srm_flagged": "BOOLEAN", "is_winner": "BOOLEAN", "winner_variant_id": "VARCHAR", "cuped_applied": "BOOLEAN",
    "method": "VARCHAR", "alpha": "DOUBLE", "correction": "VARCHAR", "note": "VARCHAR",
}


# ---------------------------------------------------------------------------------------
# The work of the Python assets (a DuckDB connection in, a table out)
# ---------------------------------------------------------------------------------------
def build_user_agents(con: duckdb.DuckDBPyConnection, *, replace: bool = False) -> dict[str, int]:
    """Parse the distinct user agents of the tracking events into ``analytics.user_agents``.

    Incremental (only new strings are parsed) unless ``replace``. Returns the counts for metadata.
    """
    result = user_agent_dimension(con, EVENTS_RELATION, USER_AGENTS_TABLE, replace=replace)
    return {"parsed": result.parsed, "rows": result.total_rows}


def score_dropoffs(
    step_periods: pd.DataFrame,
    thresholds: DropoffThresholds | None = None,
    rules: SuggestionRules | None = None,
) -> pd.DataFrame:
    """Severity and suggestions for every (funnel, step, grain, period) row in one vectorised call.

    ``dropoff_suggestions`` takes one period at a time and compares steps within a funnel (the
    ``biggest_leak`` rule), so each (funnel, grain, period) becomes one pseudo-funnel by folding
    grain and period into the funnel id; the real id is restored afterwards.
    """
    missing = [c for c in _DROPOFF_INPUTS if c not in step_periods.columns]
    if missing:
        raise KeyError(f"step periods lack the column(s) {missing}; expected {list(_DROPOFF_INPUTS)}")
    frame = step_periods.loc[:, list(_DROPOFF_INPUTS)].reset_index(drop=True)
    if frame.empty:
        return frame.assign(
            severity=pd.Series(dtype=object), rule_ids=pd.Series(dtype=object), suggestions=pd.Series(dtype=object)
        )
    period = pd.to_datetime(frame["period_start"]).dt.strftime("%Y-%m-%d")
    pseudo = frame.assign(funnel_id=frame["funnel_id"] + _KEY_SEPARATOR + frame["grain"] + _KEY_SEPARATOR + period)
    scored = dropoff_suggestions(pseudo, thresholds=thresholds, rules=rules)
    scored["funnel_id"] = frame["funnel_id"]
    scored["rule_ids"] = scored["rule_ids"].map(list)
    scored["suggestions"] = scored["suggestions"].map(list)
    return scored


def build_funnel_dropoffs(
    con: duckdb.DuckDBPyConnection,
    thresholds: DropoffThresholds | None = None,
    rules: SuggestionRules | None = None,
) -> pd.DataFrame:
    """``analytics.funnel_dropoffs``: the step periods plus severity, rule_ids and suggestions.

    The list columns are written as ``VARCHAR[]`` (DuckDB would infer ``NULL[]`` when no row has
    a suggestion). Validated with ``FUNNEL_DROPOFFS_SCHEMA`` before it is written.
    """
    periods = con.execute(f"select * from {STEP_PERIODS_RELATION}").df()
    scored = score_dropoffs(periods, thresholds, rules)
    FUNNEL_DROPOFFS_SCHEMA.validate(scored, lazy=True)
    verdicts = pd.DataFrame({
        "funnel_id": scored["funnel_id"].astype(str),
        "step_id": scored["step_id"].astype(str),
        "grain": scored["grain"].astype(str),
        "period_start": pd.to_datetime(scored["period_start"]).dt.strftime("%Y-%m-%d"),
        "severity": scored["severity"].astype(str),
        # One text per rule as JSON, so empty lists keep their type through the DataFrame.
        "rule_ids": scored["rule_ids"].map(_json_list),
        "suggestions": scored["suggestions"].map(_json_list),
    })
    con.execute("create schema if not exists analytics")
    con.register("_funnel_dropoff_verdicts", verdicts)
    try:
        con.execute(f"""
            create or replace table analytics.funnel_dropoffs as
            select p.*,
                   v.severity,
                   cast(from_json(v.rule_ids, '["VARCHAR"]') as varchar[]) as rule_ids,
                   cast(from_json(v.suggestions, '["VARCHAR"]') as varchar[]) as suggestions
            from {STEP_PERIODS_RELATION} p
            join _funnel_dropoff_verdicts v
              on v.funnel_id = p.funnel_id and v.step_id = p.step_id and v.grain = p.grain
             and cast(v.period_start as date) = p.period_start
        """)
    finally:
        con.unregister("_funnel_dropoff_verdicts")
    return scored


def _json_list(values: list[str]) -> str:
    import json

    return json.dumps([str(v) for v in values])


def build_ab_test_results(
    con: duckdb.DuckDBPyConnection, *, correction: str = "holm", srm_alpha: float = 0.001
) -> pd.DataFrame:
    """``analytics.ab_test_results``: ``evaluate_ab_test`` over the per-variant aggregates.

    One row per test x variant x metric; each test uses its own alpha (the YAML's, default 0.05);
    a winner only when significant after the correction and without a sample ratio mismatch.
    """
    variants = con.execute(
        f"select {', '.join(_AB_INPUTS)} from {VARIANT_STATS_RELATION} order by ab_test_id, variant_id"
    ).df()
    if variants.empty:
        result = pd.DataFrame({c: pd.Series(dtype=object) for c in _AB_TYPES})
    else:
        result = evaluate_ab_test(variants, correction=correction, srm_alpha=srm_alpha)
        AB_TEST_RESULTS_SCHEMA.validate(result, lazy=True)
    select = ", ".join(f'cast("{c}" as {t}) as "{c}"' for c, t in _AB_TYPES.items())
    con.execute("create schema if not exists analytics")
    con.register("_ab_test_results", result)
    try:
        con.execute(f"create or replace table analytics.ab_test_results as select {select} from _ab_test_results")
    finally:
        con.unregister("_ab_test_results")
    return result


# ---------------------------------------------------------------------------------------
# Definitions
# ---------------------------------------------------------------------------------------
class DropoffConfig(dg.Config):
    """Drop-off severity thresholds (funnellens.funnel_rules.DropoffThresholds)."""

    medium_from: float = 0.20
    high_from: float = 0.40
    min_entries: int = 30


class ABTestConfig(dg.Config):
    """Multiple-comparison correction (holm, bh or none) and the SRM flag level."""

    correction: str = "holm"
    srm_alpha: float = 0.001


def _validate_table(warehouse: DuckDBWarehouse, table: str, schema) -> dg.AssetCheckResult:  # noqa: ANN001
    import pandera.errors

    with warehouse.connect(read_only=True) as con:
        frame = con.execute(f"select * from {table}").df()
    try:
        schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases.head(20).astype(str).to_dict("records")
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR,
                                   metadata={"rows": len(frame), "failures": dg.MetadataValue.json(cases)})
    return dg.AssetCheckResult(passed=True, metadata={"rows": len(frame)})


def funnel_definitions() -> dg.Definitions:
    project = dbt_project()
    translator = FunnelLensDbtTranslator()

    @dg.asset(key=USER_AGENTS_KEY, group_name=GROUP, pool=WRITER_POOL,
              deps=[dg.AssetKey(["staging", "stg_tracking__events"])],
              description="User-agent lookup: device type, browser and OS of each distinct user agent "
                          "(ua-parser, funnellens.useragents); incremental.")
    def user_agents(warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            counts = build_user_agents(con)
            devices = dict(con.execute(
                f"select device_type, count(*) from {USER_AGENTS_TABLE} group by all order by all").fetchall())
        return dg.MaterializeResult(metadata={**counts, "device_types": dg.MetadataValue.json(devices)})

    @dbt_assets(manifest=project.manifest_path, project=project, select=INTERMEDIATE_SELECT,
                dagster_dbt_translator=translator, name="dbt_funnel_intermediate", pool=WRITER_POOL)
    def dbt_funnel_intermediate(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        """Sessions, visitors, step visits, funnel progress by order mode, step periods, A/B aggregates."""
        export_dbt_environment()
        yield from dbt.cli(["build"], context=context).stream()

    @dg.asset(key=DROPOFFS_KEY, group_name=GROUP, pool=WRITER_POOL,
              deps=[dg.AssetKey(["intermediate", "int_funnel_step_periods"])],
              description="Drop-off severity and data-driven suggestions per funnel step and period "
                          "(funnellens.funnel_rules.dropoff_suggestions).")
    def funnel_dropoffs(config: DropoffConfig, warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
        thresholds = DropoffThresholds(medium_from=config.medium_from, high_from=config.high_from,
                                       min_entries=config.min_entries)
        with warehouse.connect() as con:
            scored = build_funnel_dropoffs(con, thresholds)
        day = scored[scored["grain"] == "day"] if len(scored) else scored
        return dg.MaterializeResult(metadata={
            "rows": len(scored),
            "severity_day_rows": dg.MetadataValue.json(day["severity"].value_counts().to_dict() if len(day) else {}),
            "suggestions": int(scored["rule_ids"].map(len).sum()) if len(scored) else 0,
        })

    @dg.asset(key=AB_RESULTS_KEY, group_name=GROUP, pool=WRITER_POOL,
              deps=[dg.AssetKey(["intermediate", "int_ab_test_variant_stats"])],
              description="A/B test significance per test x variant x metric (funnellens.experiments."
                          "evaluate_ab_test): z-test / Welch, Holm correction, SRM, chance to win.")
    def ab_test_results(config: ABTestConfig, warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            result = build_ab_test_results(con, correction=config.correction, srm_alpha=config.srm_alpha)
        winners = result.loc[result["is_winner"].astype(bool), ["ab_test_id", "metric", "variant_id"]] \
            if len(result) else result
        return dg.MaterializeResult(metadata={
            "rows": len(result),
            "tests": int(result["ab_test_id"].nunique()) if len(result) else 0,
            "winners": dg.MetadataValue.json(winners.astype(str).to_dict("records") if len(winners) else []),
        })

    @dbt_assets(manifest=project.manifest_path, project=project, select=MARTS_SELECT,
                dagster_dbt_translator=translator, name="dbt_funnel_marts", pool=WRITER_POOL)
    def dbt_funnel_marts(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        """The funnel marts for BI: funnels, steps, overview, conversions, drop-offs, revenue, A/B results."""
        export_dbt_environment()
        yield from dbt.cli(["build"], context=context).stream()

    checks = [
        _pandera_check(USER_AGENTS_KEY, USER_AGENTS_TABLE, USER_AGENTS_SCHEMA),
        _pandera_check(DROPOFFS_KEY, "analytics.funnel_dropoffs", FUNNEL_DROPOFFS_SCHEMA),
        _pandera_check(AB_RESULTS_KEY, "analytics.ab_test_results", AB_TEST_RESULTS_SCHEMA),
        *_gx_mart_checks(),
    ]
    return dg.Definitions(
        assets=[user_agents, dbt_funnel_intermediate, funnel_dropoffs, ab_test_results, dbt_funnel_marts],
        asset_checks=checks,
        resources={"dbt": dbt_resource()},
    )


def _pandera_check(key: dg.AssetKey, table: str, schema) -> dg.AssetChecksDefinition:  # noqa: ANN001
    @dg.asset_check(asset=key, name="pandera_gate", blocking=True,
                    description=f"pandera schema {schema.name} (validation/funnel_schemas.py).")
    def _check(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
        return _validate_table(warehouse, table, schema)

    _check.__name__ = f"pandera_{key.path[-1]}"
    return _check


def _gx_mart_checks() -> list[dg.AssetChecksDefinition]:
    from validation.gx_funnel import FUNNEL_MART_SUITES
    from validation.gx_suites import run_gx_suite

    checks = []
    for model in FUNNEL_MART_SUITES:

        def _make(model: str) -> dg.AssetChecksDefinition:
            @dg.asset_check(asset=dg.AssetKey(["marts", model]), name="gx_suite", blocking=True,
                            description=f"Great Expectations suite for marts.{model} (validation/gx_funnel.py).")
            def _check(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
                with warehouse.connect(read_only=True) as con:
                    result = run_gx_suite(con, f"marts.{model}")
                return dg.AssetCheckResult(passed=bool(result.success), severity=dg.AssetCheckSeverity.ERROR,
                                           metadata=result.to_metadata())

            _check.__name__ = f"gx_{model}"
            return _check

        checks.append(_make(model))
    return checks
