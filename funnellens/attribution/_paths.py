"""Parsing and validation of the paths DataFrame shared by every attribution model.

A paths DataFrame has one row per distinct path (duplicates are allowed and simply add up):

- ``path``: the channels of a journey in time order, joined by ``" > "``;
- ``conversions``: how many journeys along this path converted;
- ``nulls``: how many journeys along this path did not convert;
- ``value`` (optional): the total conversion value of the converting journeys.

Parsing is vectorised with pyarrow (split, flatten, dictionary-encode), so a million paths
parse in well under a second and validation only ever looks at the small channel dictionary.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

SEPARATOR = " > "
"""The separator between channels in a path string."""

START_STATE = "(start)"
CONVERSION_STATE = "(conversion)"
NULL_STATE = "(null)"
RESERVED_CHANNEL_NAMES = (START_STATE, CONVERSION_STATE, NULL_STATE)
"""Names of the Markov chain's special states; a channel may not use them."""

PATH_COLUMNS = ("path", "conversions", "nulls")


class AttributionInputError(ValueError):
    """The input of an attribution model is malformed; the message names the offending row."""


@dataclass(frozen=True)
class ParsedPaths:
    """Paths in flat integer form: channel codes path after path, with list offsets.

    ``codes[offsets[i]:offsets[i + 1]]`` are the channel codes of path ``i``; ``channels[code]``
    is the channel name. ``channels`` is sorted, so outputs are in a stable channel order.
    """

    channels: np.ndarray
    codes: np.ndarray
    offsets: np.ndarray
    conversions: np.ndarray
    nulls: np.ndarray
    value: np.ndarray
    has_value: bool

    @property
    def n_paths(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    @cached_property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @cached_property
    def path_of_touch(self) -> np.ndarray:
        """For every flat position, the index of its path."""
        return np.repeat(np.arange(self.n_paths, dtype=np.int64), self.lengths)

    @cached_property
    def position_in_path(self) -> np.ndarray:
        """For every flat position, its 0-based position inside its path."""
        return np.arange(len(self.codes), dtype=np.int64) - np.repeat(self.offsets[:-1], self.lengths)

    def collapse_repeats(self) -> ParsedPaths:
        """The same paths with consecutive repeats of a channel collapsed (``a > a > b`` -> ``a > b``)."""
        keep = np.ones(len(self.codes), dtype=bool)
        keep[1:] = self.codes[1:] != self.codes[:-1]
        keep[self.offsets[:-1]] = True  # the first touch of a path is always kept
        if keep.all():
            return self
        kept_before = np.concatenate(([0], np.cumsum(keep)))
        return replace(self, codes=self.codes[keep], offsets=kept_before[self.offsets])

    def with_counts(self, conversions: np.ndarray, nulls: np.ndarray, value: np.ndarray) -> ParsedPaths:
        """The same paths with other journey counts (used by the bootstrap)."""
        return replace(self, conversions=conversions, nulls=nulls, value=value)


def plain(value: object) -> object:
    """A numpy scalar as its Python value, so messages read ``3`` rather than ``np.int64(3)``."""
    return value.item() if isinstance(value, np.generic) else value


def _describe_row(paths: pd.DataFrame, position: int) -> str:
    label = plain(paths.index[position])
    path = plain(paths["path"].iloc[position])
    return f"row {position} (index {label!r}, path {path!r})"


def _fail_rows(paths: pd.DataFrame, bad: np.ndarray, problem: str, hint: str = "") -> None:
    """Raise AttributionInputError naming the first row where ``bad`` is true, if any."""
    positions = np.flatnonzero(bad)
    if len(positions) == 0:
        return
    first = _describe_row(paths, int(positions[0]))
    count = f" ({len(positions)} rows in all)" if len(positions) > 1 else ""
    raise AttributionInputError(f"{first}: {problem}{count}.{(' ' + hint) if hint else ''}")


def _numeric_column(paths: pd.DataFrame, name: str) -> np.ndarray:
    column = paths[name]
    if pd.api.types.is_bool_dtype(column):
        raise AttributionInputError(f"column {name!r} must be numeric, not boolean")
    numbers = pd.to_numeric(column, errors="coerce")
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    _fail_rows(paths, numbers.isna().to_numpy() & column.notna().to_numpy(),
               f"{name} is not a number")
    _fail_rows(paths, np.isnan(values), f"{name} is missing", f"Fill missing {name} with 0.")
    _fail_rows(paths, np.isinf(values), f"{name} is infinite")
    return values


def parse_paths(paths: pd.DataFrame) -> ParsedPaths:
    """Validate a paths DataFrame and parse it into :class:`ParsedPaths`.

    Raises :class:`AttributionInputError` (a ``ValueError``) naming the first offending row for:
    a missing or empty path; an empty channel name (a doubled or trailing separator); a channel
    containing ``">"`` or surrounding whitespace (a separator that is not exactly ``" > "``); a
    channel named like a reserved Markov state; non-numeric, missing, infinite or negative
    counts; a row with no journeys (``conversions == nulls == 0``); a value on a row without
    conversions; and input that holds only nulls (total conversions 0: nothing to attribute).
    """
    if not isinstance(paths, pd.DataFrame):
        raise AttributionInputError(f"paths must be a pandas DataFrame, got {type(paths).__name__}")
    missing = [c for c in PATH_COLUMNS if c not in paths.columns]
    if missing:
        raise AttributionInputError(
            f"paths is missing the column(s) {missing}; expected {list(PATH_COLUMNS)} and optionally 'value'"
        )
    if len(paths) == 0:
        raise AttributionInputError("paths is empty: there is nothing to attribute")

    conversions = _numeric_column(paths, "conversions")
    nulls = _numeric_column(paths, "nulls")
    _fail_rows(paths, conversions < 0, "conversions is negative")
    _fail_rows(paths, nulls < 0, "nulls is negative")
    _fail_rows(paths, (conversions == 0) & (nulls == 0),
               "the path has no journeys (conversions = nulls = 0)",
               "Drop rows without journeys.")
    has_value = "value" in paths.columns
    if has_value:
        value = _numeric_column(paths, "value")
        _fail_rows(paths, (value != 0) & (conversions == 0),
                   "the path has a value but no conversions (value belongs to converting journeys)")
    else:
        value = np.zeros(len(paths))
    if conversions.sum() <= 0:
        raise AttributionInputError(
            f"the paths hold only nulls ({len(paths)} rows, {nulls.sum():g} non-converting journeys, "
            "0 conversions): there is nothing to attribute"
        )

    column = paths["path"]
    try:
        array = pa.array(column, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:  # only on bad input: find the row to name
        not_text = column.map(lambda p: not (isinstance(p, str) or pd.isna(p))).to_numpy(dtype=bool)
        _fail_rows(paths, not_text, "path is not a string")
        raise AttributionInputError(f"the path column cannot be read as text: {exc}") from exc
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    _fail_rows(paths, array.is_null().to_numpy(zero_copy_only=False), "path is missing")
    blank = pc.equal(pc.utf8_trim_whitespace(array), "").to_numpy(zero_copy_only=False)
    _fail_rows(paths, blank, "the path is empty")

    lists = pc.split_pattern(array, SEPARATOR)
    lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    encoded = pc.dictionary_encode(lists.flatten())
    indices = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    names = np.asarray(encoded.dictionary.to_pylist(), dtype=object)

    def fail_channels(bad_names: np.ndarray, problem: str, hint: str) -> None:
        if not bad_names.any():
            return
        bad_touch = bad_names[indices]
        row_bad = np.zeros(len(paths), dtype=bool)
        row_bad[np.searchsorted(offsets, np.flatnonzero(bad_touch), side="right") - 1] = True
        channel = names[indices[np.flatnonzero(bad_touch)[0]]]
        _fail_rows(paths, row_bad, problem.format(channel=channel), hint)

    fail_channels(np.array([n == "" for n in names], dtype=bool),
                  "the path has an empty channel name",
                  f"Check for a doubled or trailing separator {SEPARATOR!r}.")
    fail_channels(np.array([">" in n for n in names], dtype=bool),
                  "channel {channel!r} contains the separator character '>'",
                  f"Paths are channel names joined by exactly {SEPARATOR!r}; a channel name may not "
                  "contain '>'.")
    fail_channels(np.array([n != n.strip() for n in names], dtype=bool),
                  "channel {channel!r} has leading or trailing whitespace",
                  f"Paths are channel names joined by exactly {SEPARATOR!r}.")
    fail_channels(np.array([n in RESERVED_CHANNEL_NAMES for n in names], dtype=bool),
                  "channel {channel!r} uses a reserved state name",
                  f"{list(RESERVED_CHANNEL_NAMES)} name the Markov chain's special states.")

    order = np.argsort(names.astype(str), kind="stable")
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    return ParsedPaths(
        channels=names[order].astype(str),
        codes=rank[indices],
        offsets=offsets,
        conversions=conversions,
        nulls=nulls,
        value=value,
        has_value=has_value,
    )
