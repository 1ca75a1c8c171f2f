"""The Dagster code location: definitions load, keys mirror schemas, gates are blocking,
and the schedule and sensors evaluate."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from funnellens.contract import SOURCES
from orchestration.defs.automation import landing_fingerprint, landing_zone_sensor, nightly_schedule
from orchestration.lib.warehouse import LandingZone

STAGING_MODELS = {
    "stg_roster__creators", "stg_social__post_snapshots", "stg_social__content_tags",
    "stg_social__tracking_links", "stg_fan_platform__subscribers", "stg_fan_platform__revenue_events",
    "stg_agency__confounders", "stg_marketing__touchpoints", "stg_marketing__conversions",
    "stg_tracking__events", "stg_product__events", "stg_definitions__funnel_steps",
    "stg_definitions__ab_test_variants", "stg_privacy__erasure_requests",
}


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    from orchestration.definitions import defs as loaded

    return loaded


def test_definitions_load_with_keys_groups_and_descriptions(defs):
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {f"raw/{s.table}" for s in SOURCES.values()} <= keys
    assert {f"staging/{m}" for m in STAGING_MODELS} <= keys
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.is_materializable:
            assert node.group_name in {"creator", "attribution", "funnel", "product"}, key
            assert node.description, f"{key.to_user_string()} has no description"
    # staging depends on raw through the dbt sources
    parents = graph.get(dg.AssetKey(["staging", "stg_tracking__events"])).parent_keys
    assert dg.AssetKey(["raw", "tracking_events"]) in parents


def test_every_raw_and_staging_asset_has_a_blocking_gate(defs):
    graph = defs.resolve_asset_graph()
    checks = {}
    for check_key in graph.asset_check_keys:
        spec = graph.get_check_spec(check_key)
        checks.setdefault(check_key.asset_key.to_user_string(), []).append(spec)
    for source in SOURCES.values():
        specs = checks.get(f"raw/{source.table}", [])
        assert any(s.name == "pandera_raw_gate" and s.blocking for s in specs), source.table
    for model in STAGING_MODELS:
        specs = checks.get(f"staging/{model}", [])
        assert any(s.name == "gx_suite" and s.blocking for s in specs), model
        assert any(s.name != "gx_suite" for s in specs), f"{model} has no dbt test check"


def test_jobs_schedule_and_sensors_are_defined(defs):
    job = defs.resolve_job_def("warehouse_job")
    assert job.executor_def.name == "in_process"
    assert job.tags.get("funnellens/duckdb") == "writer"  # serialised by deploy/dagster*.yaml
    assert defs.resolve_schedule_def("nightly_warehouse").cron_schedule == "0 2 * * *"
    assert defs.resolve_sensor_def("landing_zone_sensor")
    assert defs.resolve_sensor_def("run_failure_alert")


def test_nightly_schedule_evaluates_to_a_run_request():
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 11, 23, 2, 0))
    result = nightly_schedule.evaluate_tick(context)
    assert len(result.run_requests) == 1
    assert nightly_schedule.job_name == "warehouse_job"


def test_landing_zone_sensor_fires_on_new_files_only(tmp_path: Path):
    landing = tmp_path / "landing"
    (landing / "creators").mkdir(parents=True)
    resources = {"landing": LandingZone(path=str(landing))}

    with dg.build_sensor_context(resources=resources) as ctx:
        result = landing_zone_sensor(ctx)
        assert isinstance(result, dg.SkipReason) and "no files" in result.skip_message

    (landing / "creators" / "roster.csv").write_text("agency_id,creator_id\na1,c1\n")
    (landing / "_demo").mkdir()
    (landing / "_demo" / "truth.json").write_text("{}")  # ignored, as in the ingest
    fingerprint, count = landing_fingerprint(landing)
    assert count == 1

    with dg.build_sensor_context(resources=resources, cursor=None) as ctx:
        request = landing_zone_sensor(ctx)
        assert isinstance(request, dg.RunRequest)
        assert ctx.cursor == fingerprint

    with dg.build_sensor_context(resources=resources, cursor=fingerprint) as ctx:
        assert isinstance(landing_zone_sensor(ctx), dg.SkipReason)

    (landing / "creators" / "roster2.csv").write_text("agency_id,creator_id\na1,c2\n")
    with dg.build_sensor_context(resources=resources, cursor=fingerprint) as ctx:
        request = landing_zone_sensor(ctx)
        assert isinstance(request, dg.RunRequest)
        assert ctx.cursor != fingerprint
