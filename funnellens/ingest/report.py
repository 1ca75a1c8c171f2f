"""What an ingest run did, per file and per source."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

FILE_STATUSES = ("loaded", "skipped", "failed")


@dataclass
class FileResult:
    """The outcome for one landing file.

    ``status``: ``loaded`` (rows went to raw and/or quarantine), ``skipped`` (a file with the same
    content hash was loaded before, possibly under another name) or ``failed`` (the file cannot be
    read; one file-level quarantine row says why).
    """

    file: str
    hash: str
    status: str
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class IngestReport:
    """The outcome of ingesting one source.

    ``rows_quarantined`` counts the quarantine rows written, including the one file-level row of
    each failed file, so it always equals the rows this run added to ``raw.quarantine``.
    """

    source: str
    load_id: str
    files: list[FileResult] = field(default_factory=list)

    def _count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def files_seen(self) -> int:
        return len(self.files)

    @property
    def files_loaded(self) -> int:
        return self._count("loaded")

    @property
    def files_skipped(self) -> int:
        return self._count("skipped")

    @property
    def files_failed(self) -> int:
        return self._count("failed")

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    def as_metadata(self) -> dict[str, Any]:
        """Plain JSON-able values for Dagster metadata: counts, failed files with reasons, and a
        per-file list (``files``)."""
        failed = {f.file: f.reason for f in self.files if f.status == "failed"}
        warnings = {f.file: f.warnings for f in self.files if f.warnings}
        return {
            "source": self.source,
            "load_id": self.load_id,
            "files_seen": self.files_seen,
            "files_loaded": self.files_loaded,
            "files_skipped": self.files_skipped,
            "files_failed": self.files_failed,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "failed_files": failed,
            "file_warnings": warnings,
            "files": [asdict(f) for f in self.files],
        }

    def summary(self) -> str:
        return (
            f"{self.source}: {self.files_seen} files seen, {self.files_loaded} loaded, {self.files_skipped} "
            f"skipped, {self.files_failed} failed; {self.rows_loaded} rows loaded, "
            f"{self.rows_quarantined} quarantined"
        )
