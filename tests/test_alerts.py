"""The run-failure sensor logs every failed run and e-mails it through a real SMTP server."""

import smtplib
import socket
import time

import dagster as dg
import pytest
from aiosmtpd.controller import Controller

from orchestration.defs.automation import run_failure_alert


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(monkeypatch):
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    monkeypatch.setenv("SMTP_FROM", "funnellens@test.local")
    monkeypatch.setenv("FUNNELLENS_ALERT_TO", "data-team@test.local")
    try:
        yield inbox
    finally:
        controller.stop()


@dg.op
def broken_op() -> None:
    raise RuntimeError("the landing zone exploded")


@dg.job
def broken_job() -> None:
    broken_op()


def _failure_context(instance: dg.DagsterInstance) -> dg.RunFailureSensorContext:
    result = broken_job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    return dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert",
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
    ).for_run_failure()


def test_run_failure_alert_emails_when_smtp_is_configured(smtp_server):
    with dg.DagsterInstance.ephemeral() as instance:
        run_failure_alert(_failure_context(instance))
    deadline = time.time() + 10
    while not smtp_server.messages and time.time() < deadline:
        time.sleep(0.05)
    assert len(smtp_server.messages) == 1
    sender, rcpts, content = smtp_server.messages[0]
    assert sender == "funnellens@test.local"
    assert rcpts == ["data-team@test.local"]
    text = content.decode()
    assert "broken_job failed" in text
    assert "the landing zone exploded" in text or "broken_op" in text


def test_run_failure_alert_only_logs_without_smtp(monkeypatch):
    monkeypatch.delenv("SMTP_HOST", raising=False)
    monkeypatch.setenv("FUNNELLENS_ALERT_TO", "data-team@test.local")
    connections = []
    monkeypatch.setattr(smtplib, "SMTP", lambda *a, **k: connections.append(a))
    with dg.DagsterInstance.ephemeral() as instance:
        run_failure_alert(_failure_context(instance))
    assert connections == []
