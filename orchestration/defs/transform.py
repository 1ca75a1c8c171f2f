"""dbt models as Dagster assets (dbt tests become asset checks) and the GX gates on staging."""


import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.lib.dbt import FunnelLensDbtTranslator, dbt_project, dbt_resource, export_dbt_environment
from orchestration.lib.warehouse import DuckDBWarehouse
from validation.gx_suites import GX_SUITES, run_gx_suite

WRITER_POOL = "duckdb_writer"
STAGING_SELECT = "path:dbt_project/models/staging"
# GX validates a deterministic sample above this size (its pandas engine costs ~40 s per 1M rows).
GX_MAX_ROWS = 500_000


def staging_definitions() -> dg.Definitions:
    project = dbt_project()

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        select=STAGING_SELECT,
        dagster_dbt_translator=FunnelLensDbtTranslator(),
        name="dbt_staging",
        pool=WRITER_POOL,
    )
    def dbt_staging(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        """Staging models: typed, renamed, de-duplicated, person ids hashed; dbt tests gate them."""
        export_dbt_environment()
        # buildable: a test runs only when every model it reads is built in this run, so a
        # subset (one model from the UI) never fails on another model's missing table.
        yield from dbt.cli(["build", "--indirect-selection", "buildable"], context=context).stream()

    checks = [_gx_check(model) for model in GX_SUITES if model.startswith("stg_")]
    return dg.Definitions(
        assets=[dbt_staging],
        asset_checks=checks,
        resources={"dbt": dbt_resource()},
    )


def _gx_check(model: str) -> dg.AssetChecksDefinition:
    schema = "staging"

    @dg.asset_check(
        asset=dg.AssetKey([schema, model]),
        name="gx_suite",
        blocking=True,
        description=f"Great Expectations suite for {schema}.{model} (GX Core, validation/gx_suites.py).",
    )
    def _check(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
        with warehouse.connect(read_only=True) as con:
            result = run_gx_suite(con, f"{schema}.{model}", max_rows=GX_MAX_ROWS)
        return dg.AssetCheckResult(
            passed=bool(result.success),
            severity=dg.AssetCheckSeverity.ERROR,
            metadata=result.to_metadata(),
        )

    _check.__name__ = f"gx_{model}"
    return _check
