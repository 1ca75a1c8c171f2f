"""Errors of the ingest."""

from __future__ import annotations

from funnellens.contract import REASON_CODES


class FileRejected(Exception):
    """A whole file cannot be loaded; ``code`` is a file-level quarantine reason code."""

    def __init__(self, code: str, reason: str) -> None:
        if code not in REASON_CODES:  # pragma: no cover - programming error
            raise ValueError(f"unknown reason code {code!r}")
        super().__init__(reason)
        self.code = code
        self.reason = reason


class UnknownSourceError(KeyError):
    """The source name is not in ``funnellens.contract.SOURCES``."""

    def __str__(self) -> str:  # KeyError's repr-quoting makes messages unreadable
        return str(self.args[0])
