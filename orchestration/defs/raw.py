"""Raw ingest assets (one per landing-zone source) and their blocking pandera gates."""


import dagster as dg

from funnellens.contract import SOURCES, Source
from funnellens.ingest import ensure_raw_schema, ingest_source
from orchestration.lib.dbt import RAW_SOURCE_DOMAINS
from orchestration.lib.warehouse import DuckDBWarehouse, LandingZone
from validation.raw_schemas import validate_raw_table

WRITER_POOL = "duckdb_writer"
MAX_FILES_IN_METADATA = 100


def _column_schema(source: Source) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(c.name, c.dtype, description=c.description or None,
                           constraints=dg.TableColumnConstraints(nullable=not c.required))
            for c in source.columns
        ]
    )


def build_raw_asset(source: Source) -> dg.Definitions:
    key = dg.AssetKey(["raw", source.table])

    @dg.asset(
        key=key,
        group_name=RAW_SOURCE_DOMAINS[source.name],
        description=f"{source.description}\n\nLanding folder: `{source.folder}/` ({', '.join(source.formats)}).",
        kinds={"duckdb", "python"},
        pool=WRITER_POOL,
        metadata={
            "landing_folder": source.folder,
            "natural_key": ", ".join(source.key),
            "dagster/column_schema": _column_schema(source),
            "dagster/table_name": f"raw.{source.table}",
        },
    )
    def _raw_asset(context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse,
                   landing: LandingZone) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            ensure_raw_schema(con)
            report = ingest_source(con, source.name, landing.root, load_id=context.run_id)
            total = con.execute(f"SELECT count(*) FROM raw.{source.table}").fetchall()[0][0]
        context.log.info(
            f"{source.name}: {report.rows_loaded} rows loaded, {report.rows_quarantined} quarantined, "
            f"{report.files_loaded} files loaded, {report.files_skipped} skipped, {report.files_failed} failed"
        )
        metadata = report.as_metadata()
        if len(metadata["files"]) > MAX_FILES_IN_METADATA:  # keep the event log small
            metadata["files"] = metadata["files"][:MAX_FILES_IN_METADATA]
            metadata["files_truncated_to"] = MAX_FILES_IN_METADATA
        return dg.MaterializeResult(metadata={**metadata, "dagster/row_count": total})

    _raw_asset.__name__ = f"raw_{source.table}"

    @dg.asset_check(
        asset=key,
        name="pandera_raw_gate",
        blocking=True,
        description=f"pandera schema of raw.{source.table}: types, required values, vocabularies, ranges.",
    )
    def _gate(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
        with warehouse.connect(read_only=True) as con:
            result = validate_raw_table(con, source.table)
        return dg.AssetCheckResult(
            passed=bool(result.passed),
            severity=dg.AssetCheckSeverity.ERROR,
            metadata=result.as_metadata(),
        )

    return dg.Definitions(assets=[_raw_asset], asset_checks=[_gate])


def raw_definitions() -> dg.Definitions:
    return dg.Definitions.merge(*(build_raw_asset(s) for s in SOURCES.values()))
