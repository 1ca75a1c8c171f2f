"""Jobs, the nightly schedule, the landing-zone sensor and the run-failure alert."""


import hashlib
import os
from pathlib import Path

import dagster as dg

from funnellens.notify import recipients, send_email
from orchestration.lib.warehouse import LandingZone

# Every run that writes DuckDB carries this tag; deploy/dagster*.yaml limits it to one run at a time.
WRITER_TAGS = {"funnellens/duckdb": "writer"}

warehouse_job = dg.define_asset_job(
    "warehouse_job",
    selection=dg.AssetSelection.all(),
    description="Everything: landing zone -> raw -> staging -> ... -> marts, with every gate.",
    tags=WRITER_TAGS,
)

nightly_schedule = dg.ScheduleDefinition(
    name="nightly_warehouse",
    job=warehouse_job,
    cron_schedule=os.environ.get("FUNNELLENS_NIGHTLY_CRON", "0 2 * * *"),
    execution_timezone=os.environ.get("FUNNELLENS_TIMEZONE", "UTC"),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Nightly full build (FUNNELLENS_NIGHTLY_CRON, FUNNELLENS_TIMEZONE).",
)


def landing_fingerprint(root: Path) -> tuple[str, int]:
    """A digest of every landing file's path, size and mtime, and the number of files.

    Names starting with ``_`` or ``.`` are ignored, as in the ingest.
    """
    digest = hashlib.sha256()
    count = 0
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if any(part.startswith(("_", ".")) for part in rel.parts) or not path.is_file():
                continue
            stat = path.stat()
            digest.update(f"{rel.as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
            count += 1
    return digest.hexdigest(), count


@dg.sensor(
    name="landing_zone_sensor",
    job=warehouse_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts a warehouse run when files are added to or changed in the landing zone.",
)
def landing_zone_sensor(context: dg.SensorEvaluationContext, landing: LandingZone):
    fingerprint, count = landing_fingerprint(landing.root)
    if count == 0:
        return dg.SkipReason(f"no files in the landing zone {landing.root}")
    if fingerprint == context.cursor:
        return dg.SkipReason(f"no new files in {landing.root} ({count} files, unchanged)")
    context.update_cursor(fingerprint)
    return dg.RunRequest(run_key=f"landing-{fingerprint[:16]}", tags={"funnellens/trigger": "landing_zone"})


@dg.run_failure_sensor(
    name="run_failure_alert",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Logs every failed run, and e-mails FUNNELLENS_ALERT_TO when SMTP is configured.",
)
def run_failure_alert(context: dg.RunFailureSensorContext) -> None:
    run = context.dagster_run
    message = context.failure_event.message or "(no message)"
    subject = f"[FunnelLens] run {run.run_id[:8]} of {run.job_name} failed"
    body = f"Job: {run.job_name}\nRun: {run.run_id}\nTags: {dict(run.tags)}\n\n{message}\n"
    context.log.error(f"{subject}: {message}")
    if send_email(subject, body, recipients()):
        context.log.info(f"failure alert e-mailed to {', '.join(recipients())}")


def automation_definitions() -> dg.Definitions:
    return dg.Definitions(
        jobs=[warehouse_job],
        schedules=[nightly_schedule],
        sensors=[landing_zone_sensor, run_failure_alert],
    )
