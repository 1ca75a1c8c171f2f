"""The FunnelLens code location: ``dagster dev -w workspace.yaml`` loads ``defs`` from here."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.attribution import attribution_definitions
from orchestration.defs.automation import automation_definitions
from orchestration.defs.creator import creator_definitions
from orchestration.defs.raw import raw_definitions
from orchestration.defs.transform import staging_definitions
from orchestration.lib.warehouse import default_resources


def build_definitions() -> dg.Definitions:
    return dg.Definitions.merge(
        raw_definitions(),
        staging_definitions(),
        creator_definitions(),
        attribution_definitions(),
        automation_definitions(),
        # One process writes DuckDB at a time: run every step of a run in-process.
        dg.Definitions(resources=default_resources(), executor=dg.in_process_executor),
    )


defs = build_definitions()
