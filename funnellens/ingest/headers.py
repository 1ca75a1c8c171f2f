"""Header (and JSON key) matching against the contract's columns and their aliases.

The contract's rule: matching is case-insensitive and ignores a BOM, surrounding white space and
the difference between spaces, ``-`` and ``_``. camelCase keys of JSON sources (``eventId``) are
matched too, by splitting them into words first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from funnellens.contract import Column, Source

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[\s\-_]+")


def normalize_header(name: str) -> str:
    """The comparison form of a header: ``' Total-Views\\ufeff'`` -> ``'total_views'``."""
    text = name.replace("\ufeff", "").strip()
    return _SEPARATORS.sub("_", text).strip("_").lower()


def normalize_key(name: str) -> str:
    """Like :func:`normalize_header`, and camelCase is split into words: ``'eventId'`` -> ``'event_id'``."""
    return normalize_header(_CAMEL.sub("_", name.replace("\ufeff", "").strip()))


def column_variants(column: Column) -> tuple[str, ...]:
    """The column's name then its aliases, in priority order."""
    return (column.name, *column.aliases)


@dataclass
class HeaderMapping:
    """How a file's header maps onto a source's columns."""

    mapped: dict[str, str] = field(default_factory=dict)
    """header as written in the file -> contract column"""
    unknown: list[str] = field(default_factory=list)
    """headers that map to no contract column (and are not known-but-ignored)"""
    ignored: list[str] = field(default_factory=list)
    """headers that are known but deliberately not loaded"""
    shadowed: list[tuple[str, str, str]] = field(default_factory=list)
    """(header, column, winning header) when two headers map to one column"""

    def header_for(self, column: str) -> str | None:
        for header, col in self.mapped.items():
            if col == column:
                return header
        return None

    @property
    def columns(self) -> set[str]:
        return set(self.mapped.values())

    def warnings(self) -> list[str]:
        out: list[str] = []
        if self.unknown:
            out.append("ignored unknown columns: " + ", ".join(repr(h) for h in self.unknown))
        for header, column, winner in self.shadowed:
            out.append(f"ignored column {header!r}: {column} is already read from {winner!r}")
        return out


def map_headers(
    headers: Sequence[str],
    columns: Iterable[Column],
    *,
    ignored: Iterable[str] = (),
    camel_case: bool = False,
) -> HeaderMapping:
    """Map file headers to contract columns.

    When several headers map to the same column, the one matching the earlier variant (the
    column name first, then the aliases in contract order) wins; the others are reported as
    shadowed. ``ignored`` lists headers that are known but not loaded (normalized or not).
    """
    norm = normalize_key if camel_case else normalize_header
    variant_rank: dict[str, tuple[str, int]] = {}
    for col in columns:
        for rank, variant in enumerate(column_variants(col)):
            variant_rank.setdefault(norm(variant), (col.name, rank))
    ignored_norm = {norm(h) for h in ignored}

    mapping = HeaderMapping()
    best: dict[str, tuple[int, str]] = {}
    for header in headers:
        key = norm(header)
        if key in variant_rank:
            col, rank = variant_rank[key]
            current = best.get(col)
            if current is None or rank < current[0]:
                if current is not None:
                    mapping.shadowed.append((current[1], col, header))
                best[col] = (rank, header)
            else:
                mapping.shadowed.append((header, col, current[1]))
        elif key in ignored_norm:
            mapping.ignored.append(header)
        elif key:
            mapping.unknown.append(header)
    mapping.mapped = {header: col for col, (_rank, header) in best.items()}
    return mapping


def known_variants(columns: Iterable[Column], *, extra: Iterable[str] = ()) -> list[str]:
    """Every accepted header spelling, for error messages."""
    out: list[str] = []
    for col in columns:
        out.extend(column_variants(col))
    out.extend(extra)
    return out


def describe_unmapped(
    source: Source,
    mapping: HeaderMapping,
    missing: Sequence[str],
    *,
    header_columns: Iterable[Column],
    extra_known: Iterable[str] = (),
) -> str:
    """A file-level reason for a header that lacks required columns."""
    cols = list(header_columns)
    by_name = {c.name: c for c in cols}
    need = "; ".join(
        f"{name} (accepted: {', '.join(repr(v) for v in column_variants(by_name[name]))})"
        if name in by_name else name
        for name in missing
    )
    unmapped = ", ".join(repr(h) for h in mapping.unknown) or "none"
    known = ", ".join(repr(v) for v in known_variants(cols, extra=extra_known))
    return (
        f"the header maps to no known {source.name} export variant: required column(s) missing: {need}. "
        f"Unmapped headers: {unmapped}. Known headers: {known}"
    )
