"""Runtime configuration from environment variables, with documented defaults.

Every setting has one environment variable; README.md ("Configuration") lists them all.
Paths default to folders under the project's ``data/`` directory so a fresh clone runs
with no configuration at all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    landing_dir: Path
    warehouse_path: Path
    publish_path: Path
    digest_dir: Path
    export_dir: Path
    environment: str
    dbt_target: str

    @property
    def is_production(self) -> bool:
        return self.environment == "production"


def get_settings() -> Settings:
    """Read the settings now (not at import time), so tests can point them elsewhere."""
    data_dir = _env_path("FUNNELLENS_DATA_DIR", PROJECT_ROOT / "data")
    return Settings(
        data_dir=data_dir,
        landing_dir=_env_path("FUNNELLENS_LANDING_DIR", data_dir / "landing"),
        warehouse_path=_env_path("FUNNELLENS_WAREHOUSE", data_dir / "warehouse" / "funnellens.duckdb"),
        publish_path=_env_path("FUNNELLENS_PUBLISH_PATH", data_dir / "publish" / "funnellens_bi.duckdb"),
        digest_dir=_env_path("FUNNELLENS_DIGEST_DIR", data_dir / "digests"),
        export_dir=_env_path("FUNNELLENS_EXPORT_DIR", data_dir / "exports"),
        environment=os.environ.get("FUNNELLENS_ENV", "dev"),
        dbt_target=os.environ.get("DBT_TARGET", "dev"),
    )


DEV_SALT = "funnellens-dev-salt-not-for-production"


class MissingSaltError(RuntimeError):
    """Raised when production configuration has no salt for hashing person ids."""


def id_salt() -> str:
    """The secret that person ids are hashed with (per tenant: see ``dbt_project/macros/hash_id.sql``).

    Read from ``FUNNELLENS_ID_SALT`` or from the file named by ``FUNNELLENS_SALT_FILE``; never
    from the repo. Outside production a fixed development salt is used so a fresh clone runs;
    with ``FUNNELLENS_ENV=production`` a missing salt is an error.
    """
    value = os.environ.get("FUNNELLENS_ID_SALT")
    salt_file = os.environ.get("FUNNELLENS_SALT_FILE")
    if not value and salt_file:
        path = Path(salt_file).expanduser()
        if not path.is_file():
            raise MissingSaltError(f"FUNNELLENS_SALT_FILE={salt_file} does not exist")
        value = path.read_text(encoding="utf-8").strip()
    if value:
        return value
    if get_settings().is_production:
        raise MissingSaltError(
            "FUNNELLENS_ENV=production but no salt is configured: set FUNNELLENS_ID_SALT or "
            "FUNNELLENS_SALT_FILE (a file outside the repo holding one secret line)"
        )
    return DEV_SALT
