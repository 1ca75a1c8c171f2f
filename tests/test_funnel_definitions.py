"""The funnel Dagster module: it loads beside raw and staging, keys mirror schemas, the Python
assets sit between the two dbt segments, and every Python output and mart has a blocking gate."""

from __future__ import annotations

import dagster as dg
import pytest

from orchestration.defs.funnel import funnel_definitions
from orchestration.defs.raw import raw_definitions
from orchestration.defs.transform import staging_definitions
from orchestration.lib.warehouse import default_resources
from validation.gx_funnel import FUNNEL_MART_SUITES

ANALYTICS = ("user_agents", "funnel_dropoffs", "ab_test_results")
INTERMEDIATE = ("int_tracking_sessions", "int_tracking_visitors", "int_funnel_step_visits", "int_funnel_progress",
                "int_funnel_step_periods", "int_funnel_conversions", "int_ab_test_variant_stats")


@pytest.fixture(scope="module")
def graph() -> dg.AssetGraph:
    defs = dg.Definitions.merge(
        raw_definitions(), staging_definitions(), funnel_definitions(),
        dg.Definitions(resources=default_resources(), executor=dg.in_process_executor),
    )
    return defs.resolve_asset_graph()


def K(path: str) -> dg.AssetKey:  # noqa: N802 - reads like a key literal
    return dg.AssetKey(path.split("/"))


def test_keys_groups_and_descriptions(graph: dg.AssetGraph) -> None:
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    expected = {f"analytics/{t}" for t in ANALYTICS} | {f"intermediate/{m}" for m in INTERMEDIATE}
    expected |= {f"marts/{m}" for m in FUNNEL_MART_SUITES}
    assert expected <= keys
    for key in expected:
        node = graph.get(K(key))
        assert node.group_name == "funnel", key
        assert node.description, key


def test_the_python_assets_sit_between_the_dbt_segments(graph: dg.AssetGraph) -> None:
    assert K("staging/stg_tracking__events") in graph.get(K("analytics/user_agents")).parent_keys
    assert K("analytics/user_agents") in graph.get(K("intermediate/int_tracking_sessions")).parent_keys
    assert K("intermediate/int_funnel_step_periods") in graph.get(K("analytics/funnel_dropoffs")).parent_keys
    assert K("analytics/funnel_dropoffs") in graph.get(K("marts/fct_funnel_dropoffs")).parent_keys
    assert K("intermediate/int_ab_test_variant_stats") in graph.get(K("analytics/ab_test_results")).parent_keys
    assert K("analytics/ab_test_results") in graph.get(K("marts/fct_ab_test_results")).parent_keys


def test_every_python_output_and_mart_has_a_blocking_gate(graph: dg.AssetGraph) -> None:
    checks: dict[str, list] = {}
    for check_key in graph.asset_check_keys:
        checks.setdefault(check_key.asset_key.to_user_string(), []).append(graph.get_check_spec(check_key))
    for table in ANALYTICS:
        assert any(s.name == "pandera_gate" and s.blocking for s in checks.get(f"analytics/{table}", [])), table
    for model in FUNNEL_MART_SUITES:
        assert any(s.name == "gx_suite" and s.blocking for s in checks.get(f"marts/{model}", [])), model
