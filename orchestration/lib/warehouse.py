"""The DuckDB warehouse and landing-zone resources.

DuckDB allows one writing process. Connections are opened per use and closed at once, so
the dbt subprocess that a run starts can take the file lock; writers are serialised by the
in-process executor and the ``duckdb_writer`` pool / run-queue limit (see deploy/).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from funnellens.config import get_settings


class DuckDBWarehouse(dg.ConfigurableResource):
    """The embedded DuckDB warehouse file (``FUNNELLENS_WAREHOUSE``)."""

    path: str

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        path = Path(self.path)
        if read_only and not path.exists():
            raise FileNotFoundError(f"warehouse {path} does not exist yet: materialise the raw assets first")
        path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path), read_only=read_only)
        try:
            yield con
        finally:
            con.close()


class LandingZone(dg.ConfigurableResource):
    """The landing-zone folder (``FUNNELLENS_LANDING_DIR``): one sub-folder per source."""

    path: str

    @property
    def root(self) -> Path:
        return Path(self.path)


def default_resources() -> dict[str, object]:
    settings = get_settings()
    return {
        "warehouse": DuckDBWarehouse(path=str(settings.warehouse_path)),
        "landing": LandingZone(path=str(settings.landing_dir)),
    }
