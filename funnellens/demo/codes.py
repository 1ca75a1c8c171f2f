"""Vectorised helpers for ids and fixed-width strings (no per-row Python)."""

from __future__ import annotations

import numpy as np

_LOWER = np.asarray([chr(97 + i) for i in range(26)], dtype=object)


def ascii_rows(codes: np.ndarray) -> np.ndarray:
    """Rows of ASCII codes (n x w) -> n strings of width w."""
    n, width = codes.shape
    if n == 0:
        return np.array([], dtype=object)
    return np.ascontiguousarray(codes.astype(np.uint8)).view(f"S{width}").ravel().astype(str).astype(object)


def letter_ids(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers as ``width`` lower-case letters (base 26, ``0`` -> ``aaa...``).

    Ids made of letters have no long digit runs, so a PII scanner never mistakes one for a
    phone or card number.
    """
    v = np.asarray(values, dtype=np.int64)
    if np.any(v < 0) or np.any(v >= 26 ** width):
        raise ValueError(f"ids must be in [0, 26**{width})")
    out = np.full(v.shape, "", dtype=object)
    for k in reversed(range(width)):
        out = out + _LOWER[(v // 26 ** k) % 26]
    return out


def money_text(values: np.ndarray) -> np.ndarray:
    """Amounts as plain decimals with two places (``-9.99``, ``20.00``), vectorised."""
    cents = np.round(np.asarray(values, dtype=np.float64) * 100).astype(np.int64)
    sign = np.where(cents < 0, "-", "").astype(object)
    whole = (np.abs(cents) // 100).astype(str).astype(object)
    frac = np.char.zfill((np.abs(cents) % 100).astype(str), 2).astype(object)
    return sign + whole + "." + frac
