"""Rule-based (heuristic) attribution: first touch, last touch, linear and position-based.

Each model gives every touch of a journey a weight; the weights of one journey sum to 1, and a
channel's credit is the sum of its touches' weights times the journeys' conversions (value
likewise). Paths are taken as given: repeats are not collapsed here (the path transform, e.g.
the default "exposure" transform that collapses consecutive repeats, happens upstream).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from funnellens.attribution._paths import ParsedPaths, parse_paths

HEURISTIC_MODELS = ("first", "last", "linear", "position")
DEFAULT_POSITION_WEIGHTS = (0.4, 0.2, 0.4)


def validate_position_weights(position_weights: Sequence[float]) -> tuple[float, float, float]:
    """Check ``(first, middle, last)`` weights: three finite non-negative numbers, first + last > 0."""
    try:
        first, middle, last = (float(w) for w in position_weights)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"position_weights must be three numbers (first, middle, last), got {position_weights!r}"
        ) from exc
    weights = np.array([first, middle, last])
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError(f"position_weights must be finite and non-negative, got {position_weights!r}")
    if first + last <= 0:
        raise ValueError(
            f"position_weights {position_weights!r} give no weight to the first and last touch, so a "
            "2-touch journey would get no credit"
        )
    return first, middle, last


def touch_weights(
    position: np.ndarray,
    length: np.ndarray,
    model: str,
    position_weights: Sequence[float] = DEFAULT_POSITION_WEIGHTS,
) -> np.ndarray:
    """Weight of each touch of a journey under a heuristic model; a journey's weights sum to 1.

    ``position`` is the 0-based position of each touch and ``length`` the number of touches of
    its journey (arrays of the same shape). For a journey of length L and position p:

    - ``first``: 1 if p = 0 else 0; ``last``: 1 if p = L - 1 else 0; ``linear``: 1 / L.
    - ``position`` with weights (f, m, l): L = 1 gives 1; L = 2 gives f / (f + l) to the first
      and l / (f + l) to the last touch (the middle share is dropped and the ends renormalised);
      L >= 3 gives f / s to the first, l / s to the last and m / (s (L - 2)) to each middle touch,
      with s = f + m + l (so the weights need not sum to 1: (2, 1, 2) equals (0.4, 0.2, 0.4)).
    """
    position = np.asarray(position, dtype=np.int64)
    length = np.asarray(length, dtype=np.int64)
    is_first = position == 0
    is_last = position == length - 1
    if model == "first":
        return is_first.astype(np.float64)
    if model == "last":
        return is_last.astype(np.float64)
    if model == "linear":
        return 1.0 / length
    if model == "position":
        first, middle, last = validate_position_weights(position_weights)
        total = first + middle + last
        middle_each = np.divide(middle / total, length - 2, out=np.zeros(len(length)), where=length > 2)
        long_path = np.where(is_first, first / total, np.where(is_last, last / total, middle_each))
        two_touch = np.where(is_first, first / (first + last), last / (first + last))
        return np.where(length == 1, 1.0, np.where(length == 2, two_touch, long_path))
    raise ValueError(f"unknown heuristic model {model!r}; expected one of {HEURISTIC_MODELS}")


def channel_weight_matrix(
    parsed: ParsedPaths, model: str, position_weights: Sequence[float] = DEFAULT_POSITION_WEIGHTS
) -> sp.csr_matrix:
    """Sparse (channels x paths) matrix H with H[c, i] = total weight of channel c in path i.

    Credits are linear in the path counts: conversion credit = H @ conversions, value credit =
    H @ value.
    """
    weights = touch_weights(
        parsed.position_in_path, np.repeat(parsed.lengths, parsed.lengths), model, position_weights
    )
    return sp.csr_matrix(
        (weights, (parsed.codes, parsed.path_of_touch)), shape=(parsed.n_channels, parsed.n_paths)
    )


def credit_frame(parsed: ParsedPaths, conversions: np.ndarray, value: np.ndarray, **extra: object) -> pd.DataFrame:
    """The output frame of a model: one row per channel (sorted by name)."""
    frame = pd.DataFrame({"channel": parsed.channels, "conversions": conversions, "value": value})
    for name, column in extra.items():
        frame[name] = column
    return frame


def heuristic_attribution(
    paths: pd.DataFrame,
    model: str,
    position_weights: Sequence[float] = DEFAULT_POSITION_WEIGHTS,
) -> pd.DataFrame:
    """Credit channels with a rule-based model: ``first``, ``last``, ``linear`` or ``position``.

    Conversion credit of channel c = sum over paths i of conversions_i * w_i(c), where w_i(c) is
    the total weight of c's touches in path i (see :func:`touch_weights`); value credit uses
    value_i instead of conversions_i. Credits sum to the total conversions and value.

    Returns the columns ``channel``, ``conversions``, ``value``: one row per channel that occurs
    in any path (zero credit included), sorted by channel. Without a ``value`` column the value
    credits are 0.
    """
    if model not in HEURISTIC_MODELS:
        raise ValueError(f"unknown heuristic model {model!r}; expected one of {HEURISTIC_MODELS}")
    position_weights = validate_position_weights(position_weights)
    parsed = parse_paths(paths)
    weights = channel_weight_matrix(parsed, model, position_weights)
    return credit_frame(parsed, weights @ parsed.conversions, weights @ parsed.value)
