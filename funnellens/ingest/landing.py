"""The landing zone: discovering a source's files, hashing them, and the path naming rules."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from funnellens.contract import PLATFORMS, Source

EXTENSIONS: dict[str, tuple[str, ...]] = {
    "csv": (".csv",),
    "ndjson": (".ndjson", ".jsonl"),
    "ndjson.gz": (".ndjson.gz", ".jsonl.gz"),
    "yaml": (".yaml", ".yml"),
}
"""File-name endings accepted for each contract format (matched case-insensitively)."""


@dataclass(frozen=True)
class LandingFile:
    path: Path
    rel: str
    """path relative to the landing zone, with ``/`` separators (stored in raw._source_file)"""
    fmt: str
    """the contract format: csv, ndjson, ndjson.gz or yaml"""

    @property
    def parts_under_source(self) -> tuple[str, ...]:
        """Folders between the source folder and the file (``social/tiktok/c1/x.csv`` -> tiktok, c1)."""
        return PurePosixPath(self.rel).parts[1:-1]

    @property
    def name(self) -> str:
        return PurePosixPath(self.rel).name


def file_format(name: str, formats: tuple[str, ...]) -> str | None:
    """The contract format of a file name among ``formats``, or None."""
    lower = name.lower()
    # longest ending first so "x.ndjson.gz" is not taken for something shorter
    candidates = sorted(
        ((ending, fmt) for fmt in formats for ending in EXTENSIONS.get(fmt, (f".{fmt}",))),
        key=lambda item: -len(item[0]),
    )
    for ending, fmt in candidates:
        if lower.endswith(ending):
            return fmt
    return None


def discover_files(source: Source, landing_dir: Path) -> list[LandingFile]:
    """Files of a source: under ``landing_dir/<folder>/`` recursively, matching its formats.

    Names (of files or folders) starting with ``_`` or ``.`` are skipped. Sorted by relative path
    so every run sees the files in the same order.
    """
    landing_dir = Path(landing_dir)
    root = landing_dir / source.folder
    if not root.is_dir():
        return []
    found: list[LandingFile] = []
    for path in root.rglob("*"):
        rel_parts = path.relative_to(root).parts
        if any(part.startswith(("_", ".")) for part in rel_parts) or not path.is_file():
            continue
        fmt = file_format(path.name, source.formats)
        if fmt is None:
            continue
        rel = PurePosixPath(source.folder, *rel_parts).as_posix()
        found.append(LandingFile(path=path, rel=rel, fmt=fmt))
    return sorted(found, key=lambda f: f.rel)


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Naming rules: creator and snapshot time from folders and file names
# --------------------------------------------------------------------------------------------

_SNAPSHOT_IN_NAME = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T_ ](?P<h>\d{2})[:\-]?(?P<m>\d{2})(?:[:\-]?(?P<s>\d{2}))?)?"
    r"(?P<z>Z)?(?![\d])"
)


def _stem(name: str) -> str:
    """A file name without its extensions (``c1__2026-03-01.csv.gz`` -> ``c1__2026-03-01``)."""
    return re.sub(r"(\.[A-Za-z]+)+$", "", name)


def snapshot_from_filename(name: str) -> datetime | None:
    """The snapshot time an export's file name gives, as naive UTC, or None.

    Accepted (the last match in the name wins): ``2026-03-01T0600Z``, ``2026-03-01T06-00-00``,
    ``2026-03-01T06:00``, ``2026-03-01_0600``, ``2026-03-01`` (midnight UTC).
    """
    stem = _stem(name)
    matches = list(_SNAPSHOT_IN_NAME.finditer(stem))
    for match in reversed(matches):
        try:
            day = datetime.strptime(match["date"], "%Y-%m-%d")
            return day.replace(
                hour=int(match["h"] or 0), minute=int(match["m"] or 0), second=int(match["s"] or 0)
            )
        except ValueError:
            continue
    return None


def creator_from_filename(name: str) -> str | None:
    """The ``<creator_id>__`` prefix of a file name, or None."""
    stem = _stem(name)
    if "__" not in stem:
        return None
    prefix = stem.split("__", 1)[0].strip()
    return prefix or None


def creator_from_folders(parts: tuple[str, ...]) -> str | None:
    """The creator a file's folders give: the deepest folder that is not a platform name.

    ``social/tiktok/c1/x.csv`` -> ``c1``; ``subscribers/c1/x.csv`` -> ``c1``; ``social/tiktok/x.csv`` -> None.
    """
    for part in reversed(parts):
        if part.lower() not in PLATFORMS:
            return part
    return None


def platform_from_folders(parts: tuple[str, ...]) -> str | None:
    """A platform named by a folder (``social/tiktok/...``), or None."""
    for part in parts:
        if part.lower() in PLATFORMS:
            return part.lower()
    return None
