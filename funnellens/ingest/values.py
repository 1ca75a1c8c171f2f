"""Vectorised parsers for the value formats that real exports use.

Every parser takes a pandas Series of strings (empty string or NA = missing) and returns the
parsed Series plus a boolean mask of values that were present but did not parse. Nothing here
loops over rows in Python.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from funnellens.contract import REVENUE_TYPES

# --------------------------------------------------------------------------------------------
# Timestamps
# --------------------------------------------------------------------------------------------

TIMESTAMP_FORMATS: tuple[str, ...] = (
    # Meta Business Suite and US-style exports (month first).
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y",
    # "Mar 1, 2026", "March 1, 2026 6:00 PM", "Mar 1, 2026, 18:00"
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d, %Y %I:%M %p",
    "%B %d, %Y %I:%M %p",
    "%b %d, %Y %H:%M",
    "%B %d, %Y %H:%M",
    "%b %d, %Y, %I:%M %p",
    "%b %d, %Y, %H:%M",
    # "1 Mar 2026", "01 March 2026 18:00"
    "%d %b %Y",
    "%d %B %Y",
    "%d %b %Y %H:%M",
    "%d %B %Y %H:%M",
    # "2026/03/01 18:00"
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
)
"""Formats tried, in order, after ISO 8601. Slash dates with the year last are month first (US,
as Meta and TikTok export them); day-first slash dates are not accepted (they are ambiguous)."""

_TZ_WORD = re.compile(r"\s+(UTC|GMT|Z)$", re.IGNORECASE)
_EPOCH = re.compile(r"^\d{9,13}(\.\d+)?$")


def clean_text(s: pd.Series) -> pd.Series:
    """Strip white space (incl. non-breaking spaces); empty -> NA. Returns a ``str`` Series."""
    out = s.astype("str").str.replace("\u00a0", " ", regex=False).str.strip()
    return out.mask(s.isna() | (out == ""))


def parse_timestamps(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse timestamps to naive UTC ``datetime64[us]``.

    Accepted: ISO 8601 (``2026-03-01T18:00:00Z``, ``2026-03-01 18:00``, offsets converted to UTC,
    no offset = UTC), the forms in :data:`TIMESTAMP_FORMATS` (taken as UTC), a trailing ``UTC``/``GMT``
    word, and Unix epochs in seconds (9-10 digits) or milliseconds (12-13 digits).

    Returns ``(values, bad)`` where ``bad`` marks present values that did not parse.
    """
    text = clean_text(s).str.replace(_TZ_WORD, "", regex=True)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    todo = text.notna()

    def take(parsed: pd.Series) -> None:
        nonlocal out, todo
        ok = parsed.notna().reindex(s.index, fill_value=False)
        out = out.mask(ok, parsed.reindex(s.index).astype("datetime64[us]"))
        todo = todo & ~ok

    if todo.any():
        take(pd.to_datetime(text[todo], format="ISO8601", utc=True, errors="coerce").dt.tz_localize(None))
    for fmt in TIMESTAMP_FORMATS:
        if not todo.any():
            break
        take(pd.to_datetime(text[todo], format=fmt, errors="coerce"))
    if todo.any():
        sub = text[todo]
        num = pd.to_numeric(sub.where(sub.str.match(_EPOCH)), errors="coerce")
        secs = num.where(num < 1e11, num / 1000.0)
        take(pd.to_datetime(secs, unit="s", errors="coerce"))
    return out, todo


# --------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------

_CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_SUFFIX = re.compile(r"^(?P<num>[+-]?\d+(?:\.\d+)?)\s*(?P<suffix>[kKmMbB])$")
_SUFFIX_FACTOR = {"k": 1e3, "m": 1e6, "b": 1e9}


def currency_from_symbols(s: pd.Series) -> pd.Series:
    """ISO currency code implied by a symbol in an amount (``'$12.50'`` -> ``'USD'``), else NA."""
    text = s.astype("str")
    out = pd.Series(pd.NA, index=s.index, dtype="str")
    for symbol, code in _CURRENCY_SYMBOLS.items():
        out = out.mask(text.str.contains(symbol, regex=False, na=False) & out.isna(), code)
    return out


def parse_numbers(s: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse numbers as exports write them.

    Accepted: ``1234``, ``1234.5``, ``1,234,567.89`` (comma thousands), ``1.2K`` / ``3M`` / ``1B``
    (TikTok-style abbreviations), currency symbols (``$12.50``, ``-€3``), accounting negatives
    ``(12.50)``, and a trailing ISO currency code (``12.50 USD``). Non-finite values are rejected.

    Returns ``(values, bad, abbreviated)``: float64 values, a mask of present values that did not
    parse, and a mask of values written with a K/M/B abbreviation (they are approximate).
    """
    text = clean_text(s)
    present = text.notna()
    t = text.fillna("")
    negative_parens = t.str.match(r"^\(.*\)$")
    t = t.str.replace(r"^\((.*)\)$", r"\1", regex=True)
    t = t.str.replace(r"\s+[A-Z]{3}$", "", regex=True)
    for symbol in _CURRENCY_SYMBOLS:
        t = t.str.replace(symbol, "", regex=False)
    t = t.str.replace(r"\s+", "", regex=True)
    thousands = t.str.match(_THOUSANDS)
    t = t.where(~thousands, t.str.replace(",", "", regex=False))
    parts = t.str.extract(_SUFFIX)
    abbreviated = parts["num"].notna()
    factor = parts["suffix"].str.lower().map(_SUFFIX_FACTOR)
    values = pd.to_numeric(t.where(~abbreviated, parts["num"]), errors="coerce").astype("float64")
    values = values.where(~abbreviated, values * factor.astype("float64"))
    values = values.where(~negative_parens, -values.abs())
    values = values.where(np.isfinite(values))
    values = values.where(present)
    bad = present & values.isna()
    return values, bad, abbreviated & present


def parse_integers(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse whole numbers (same formats as :func:`parse_numbers`) to nullable ``Int64``.

    An abbreviated value (``1.2K``) is rounded to the nearest integer; any other value must be
    whole (``12.5`` is rejected).
    """
    values, bad, abbreviated = parse_numbers(s)
    rounded = values.round()
    whole = (values - rounded).abs() < 1e-9
    not_whole = values.notna() & ~whole & ~abbreviated
    in_range = values.abs() < 9.2e18
    values = rounded.where(values.notna() & (whole | abbreviated) & in_range)
    bad = bad | not_whole | (clean_text(s).notna() & values.isna())
    return values.astype("Int64"), bad


# --------------------------------------------------------------------------------------------
# Source-specific value rules
# --------------------------------------------------------------------------------------------

_LINK_CODE_PARAM = re.compile(r"[?&]c=([^&#\s]+)")


def link_codes(s: pd.Series) -> pd.Series:
    """A subscriber's link code: a bare code as is, or the ``c`` query parameter of a tracking URL.

    A URL without a ``c`` parameter is kept whole (it is not a code, and staging reports it as an
    unmatched link rather than losing it).
    """
    text = clean_text(s)
    from_url = text.str.extract(_LINK_CODE_PARAM, expand=False)
    return from_url.fillna(text)


_REVENUE_RULES: tuple[tuple[str, str], ...] = (
    ("subscription", r"^(?:recurring\s+)?subscription(?:\s+from\s+(?P<x>.+))?$"),
    ("tip", r"^tip(?:\s+from\s+(?P<x>.+))?$"),
    ("message", r"^payment\s+for\s+message(?:\s+from\s+(?P<x>.+))?$"),
    ("refund", r"^refund\b(?:.*\bfrom\s+(?P<x>.+)|.*)$"),
    ("chargeback", r"^chargeback\b(?:.*\bfrom\s+(?P<x>.+)|.*)$"),
)
assert {t for t, _ in _REVENUE_RULES} | {"other"} == set(REVENUE_TYPES)


def revenue_types(description: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Revenue type and counterparty from a statement description (the contract's rules).

    ``'Subscription from X'`` and ``'Recurring subscription from X'`` -> subscription, ``'Tip from X'``
    -> tip, ``'Payment for message from X'`` -> message, ``'Refund ...'`` -> refund, ``'Chargeback
    ...'`` -> chargeback, anything else -> other. X (the fan) is returned as the counterparty.
    """
    text = clean_text(description).fillna("")
    rtype = pd.Series("other", index=description.index, dtype="str")
    party = pd.Series(pd.NA, index=description.index, dtype="str")
    done = pd.Series(False, index=description.index)
    for name, pattern in _REVENUE_RULES:
        rx = re.compile(pattern, re.IGNORECASE)
        hit = text.str.match(rx) & ~done
        if hit.any():
            rtype = rtype.mask(hit, name)
            x = text[hit].str.extract(rx)["x"].str.strip()
            party.loc[hit[hit].index] = x
            done |= hit
    party = party.mask(party.fillna("").str.strip() == "")
    return rtype, party


def snake_vocab(s: pd.Series) -> pd.Series:
    """Vocabulary form of a value: ``' Price change '`` -> ``'price_change'``; empty -> NA."""
    text = clean_text(s)
    return text.str.lower().str.replace(r"[\s\-]+", "_", regex=True)
