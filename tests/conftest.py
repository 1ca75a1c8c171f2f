"""Shared fixtures: an isolated data folder per test, and the PostgreSQL availability rule."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PG_DSN = dict(host="127.0.0.1", port=5432, user="postgres", dbname="test", connect_timeout=3)


def postgres_unavailable_reason() -> str | None:
    """None when the PostgreSQL server at 127.0.0.1:5432 answers, else why not."""
    try:
        import psycopg2
    except ImportError as exc:  # pragma: no cover - psycopg2-binary is a dependency
        return f"psycopg2 is not installed: {exc}"
    try:
        psycopg2.connect(**PG_DSN).close()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"PostgreSQL at 127.0.0.1:5432 is not reachable: {str(exc).strip()}"
    return None


@pytest.fixture
def require_postgres() -> dict:
    """Skip (or fail under CI=true) when PostgreSQL is not reachable; yields the DSN."""
    reason = postgres_unavailable_reason()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true requires PostgreSQL: {reason}")
        pytest.skip(reason)
    return dict(PG_DSN)


@pytest.fixture
def funnellens_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every FunnelLens path at a fresh temporary data folder."""
    data = tmp_path / "data"
    monkeypatch.setenv("FUNNELLENS_DATA_DIR", str(data))
    for var in ("FUNNELLENS_LANDING_DIR", "FUNNELLENS_WAREHOUSE", "FUNNELLENS_PUBLISH_PATH",
                "FUNNELLENS_DIGEST_DIR", "FUNNELLENS_EXPORT_DIR", "FUNNELLENS_ENV", "SMTP_HOST"):
        monkeypatch.delenv(var, raising=False)
    return data
