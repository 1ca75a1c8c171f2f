"""The dbt project as Dagster sees it: one cached ``DbtProject`` and the asset-key translator.

Asset keys mirror schemas: a dbt source ``raw.<table>`` is ``raw/<table>`` (the raw ingest
asset), a model in schema ``staging`` is ``staging/<model>``. Groups are the product domains.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

from funnellens.config import PROJECT_ROOT, get_settings, id_salt

DOMAINS = ("creator", "attribution", "funnel", "product")

# Staging model prefix (stg_<source>__) -> the domain group it belongs to.
STAGING_SOURCE_DOMAINS = {
    "roster": "creator",
    "social": "creator",
    "fan_platform": "creator",
    "agency": "creator",
    "marketing": "attribution",
    "tracking": "funnel",
    "definitions": "funnel",
    "product": "product",
    "privacy": "product",
}

# Raw source (funnellens.contract.SOURCES key) -> domain group.
RAW_SOURCE_DOMAINS = {
    "creators": "creator",
    "social_posts": "creator",
    "content_tags": "creator",
    "tracking_links": "creator",
    "subscribers": "creator",
    "revenue": "creator",
    "confounders": "creator",
    "touchpoints": "attribution",
    "conversions": "attribution",
    "tracking_events": "funnel",
    "funnels": "funnel",
    "ab_tests": "funnel",
    "product_events": "product",
    "erasure_requests": "product",
}


def export_dbt_environment() -> None:
    """Environment the dbt subprocess reads: the warehouse path, the id salt, the target."""
    settings = get_settings()
    os.environ["FUNNELLENS_WAREHOUSE"] = str(settings.warehouse_path)
    os.environ.setdefault("DBT_TARGET", settings.dbt_target)
    os.environ["FUNNELLENS_ID_SALT"] = id_salt()
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)


def _newest_mtime(paths: list[Path]) -> float:
    newest = 0.0
    for root in paths:
        if root.is_file():
            newest = max(newest, root.stat().st_mtime)
        elif root.is_dir():
            for p in root.rglob("*"):
                if p.suffix in {".sql", ".yml", ".yaml", ".csv", ".md"}:
                    newest = max(newest, p.stat().st_mtime)
    return newest


@cache
def dbt_project() -> DbtProject:
    """The dbt project, with a manifest that is parsed again whenever a model or yml changed.

    ``DbtProject.prepare_if_dev()`` only works under ``dagster dev``; the CLI, the tests and
    CI need the manifest too, so it is (re)built here when missing or stale.
    """
    export_dbt_environment()
    project = DbtProject(
        project_dir=PROJECT_ROOT,
        profiles_dir=PROJECT_ROOT / "profiles",
        target=get_settings().dbt_target,
    )
    manifest = project.manifest_path
    sources = [PROJECT_ROOT / "dbt_project", PROJECT_ROOT / "dbt_project.yml", PROJECT_ROOT / "profiles"]
    if not manifest.exists() or manifest.stat().st_mtime < _newest_mtime(sources):
        parse_manifest(project)
    return project


def parse_manifest(project: DbtProject) -> Path:
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(
        [
            "parse",
            "--quiet",
            "--project-dir",
            str(project.project_dir),
            "--profiles-dir",
            str(project.profiles_dir),
            "--target-path",
            str(project.target_path),
        ]
    )
    if not result.success:
        raise RuntimeError(f"dbt parse failed: {result.exception}")
    return project.manifest_path


def dbt_executable() -> str:
    """The dbt beside this Python (the venv's), so runs work without an activated venv."""
    beside = Path(sys.executable).parent / "dbt"
    if beside.exists():
        return str(beside)
    found = shutil.which("dbt")
    if found is None:
        raise RuntimeError("dbt is not installed: run scripts/setup.sh (installs dbt-core and dbt-duckdb)")
    return found


class FunnelLensDbtTranslator(DagsterDbtTranslator):
    """Keys mirror schemas; groups are the product domains."""

    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        schema = dbt_resource_props.get("config", {}).get("schema") or dbt_resource_props.get("schema")
        return dg.AssetKey([schema, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return model_domain(dbt_resource_props)


def model_domain(dbt_resource_props: Mapping[str, Any]) -> str:
    """The domain group of a dbt node: an explicit ``meta.domain``, a domain folder, or the prefix."""
    meta = dbt_resource_props.get("config", {}).get("meta", {}) or dbt_resource_props.get("meta", {})
    if meta.get("domain") in DOMAINS:
        return meta["domain"]
    for part in dbt_resource_props.get("fqn", []):
        if part in DOMAINS:
            return part
    name = dbt_resource_props.get("name", "")
    if dbt_resource_props.get("resource_type") == "source":
        for source, domain in RAW_SOURCE_DOMAINS.items():
            if name == source or name.startswith(source.rstrip("s")):
                return domain
    if name.startswith("stg_") and "__" in name:
        return STAGING_SOURCE_DOMAINS.get(name[4:].split("__", 1)[0], "platform")
    return "platform"


@cache
def dbt_resource():
    """The one dbt CLI resource every dbt asset module uses (the venv's dbt, the cached project)."""
    from dagster_dbt import DbtCliResource

    return DbtCliResource(project_dir=dbt_project(), dbt_executable=dbt_executable())
