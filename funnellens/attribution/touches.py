"""Per-conversion credit over touch rows: time decay and the heuristic models, one row per touch.

A touches DataFrame has one row per touch of a converting journey:

- ``conversion_id``: the conversion the touch led up to;
- ``touch_index``: the touch's order within the journey (any sortable numbers; ties are errors);
- ``channel``: the channel (or campaign, source/medium, ... whatever dimension is attributed);
- ``touched_at`` and ``converted_at``: timestamps (needed by ``time_decay`` only);
- ``value`` (optional): the conversion's value, repeated on each of its touches.

Every model's credits sum to 1 per conversion and its value credits to the conversion's value.
Everything is vectorised over the touch rows (sort once, then segment arithmetic).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from funnellens.attribution._paths import plain
from funnellens.attribution.heuristic import DEFAULT_POSITION_WEIGHTS, HEURISTIC_MODELS, touch_weights

TOUCH_MODELS = (*HEURISTIC_MODELS, "time_decay")
DEFAULT_HALF_LIFE_DAYS = 7.0
_KEY_COLUMNS = ("conversion_id", "touch_index", "channel")
OUTPUT_COLUMNS = ("conversion_id", "touch_index", "channel", "model", "credit", "value_credit")


@dataclass(frozen=True)
class _Touches:
    """Touch rows sorted by conversion (first appearance) and touch_index, with segment arrays."""

    frame: pd.DataFrame  # the validated input, in sorted order
    order: np.ndarray  # sorted position -> input position
    conversion: np.ndarray  # dense conversion number of each sorted touch
    position: np.ndarray  # 0-based position within the conversion
    length: np.ndarray  # touches of the touch's conversion
    value: np.ndarray  # the conversion's value, per touch


def _fail(frame: pd.DataFrame, bad: np.ndarray, problem: str, hint: str = "") -> None:
    positions = np.flatnonzero(bad)
    if len(positions) == 0:
        return
    row = frame.iloc[int(positions[0])]
    where = (f"touch row at index {plain(frame.index[positions[0]])!r} "
             f"(conversion_id={plain(row['conversion_id'])!r}, touch_index={plain(row['touch_index'])!r})")
    count = f" ({len(positions)} rows in all)" if len(positions) > 1 else ""
    raise ValueError(f"{where}: {problem}{count}.{(' ' + hint) if hint else ''}")


def _prepare(touches: pd.DataFrame) -> _Touches:
    if not isinstance(touches, pd.DataFrame):
        raise ValueError(f"touches must be a pandas DataFrame, got {type(touches).__name__}")
    missing = [c for c in _KEY_COLUMNS if c not in touches.columns]
    if missing:
        raise ValueError(f"touches is missing the column(s) {missing}; expected {list(_KEY_COLUMNS)}, "
                         "touched_at and converted_at for time decay, and optionally value")
    _fail(touches, touches["conversion_id"].isna().to_numpy(), "conversion_id is missing")
    _fail(touches, touches["channel"].isna().to_numpy(), "channel is missing")
    index = pd.to_numeric(touches["touch_index"], errors="coerce")
    _fail(touches, index.isna().to_numpy(), "touch_index is missing or not a number")
    if len(touches) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return _Touches(touches, empty, empty, empty, empty, np.zeros(0))
    conversion, _ = pd.factorize(touches["conversion_id"], sort=False)
    order = np.lexsort((index.to_numpy(dtype=np.float64), conversion))
    frame = touches.iloc[order]
    conversion = conversion[order]
    sorted_index = index.to_numpy(dtype=np.float64)[order]
    same_conversion = conversion[1:] == conversion[:-1]
    _fail(frame, np.append(False, same_conversion & (sorted_index[1:] == sorted_index[:-1])),
          "touch_index repeats within the conversion")

    counts = np.bincount(conversion)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    length = counts[conversion]
    position = np.arange(len(frame)) - starts[conversion]
    if "value" in frame.columns:
        numbers = pd.to_numeric(frame["value"], errors="coerce")
        value = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        _fail(frame, ~np.isfinite(value), "value is missing or not a finite number",
              "Fill a conversion without value with 0.")
        spread = np.maximum.reduceat(value, starts) - np.minimum.reduceat(value, starts)
        _fail(frame, (spread > 0)[conversion] & (position == 0),
              "value differs between the touches of one conversion")
    else:
        value = np.zeros(len(frame))
    return _Touches(frame, order, conversion, position, length, value)


def _time_decay_weights(touches: _Touches, half_life_days: float) -> np.ndarray:
    """Normalised weights 2^(-(converted_at - touched_at) / half_life) per conversion."""
    try:
        half_life = float(half_life_days)
    except (TypeError, ValueError):
        half_life = float("nan")
    if not np.isfinite(half_life) or half_life <= 0:
        raise ValueError(f"half_life_days must be a positive number of days, got {half_life_days!r}")
    frame = touches.frame
    missing = [c for c in ("touched_at", "converted_at") if c not in frame.columns]
    if missing:
        raise ValueError(f"time decay needs the timestamp column(s) {missing} in touches")
    if len(frame) == 0:
        return np.zeros(0)
    try:
        touched = pd.to_datetime(frame["touched_at"])
        converted = pd.to_datetime(frame["converted_at"])
        age_days = ((converted - touched) / pd.Timedelta(days=1)).to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"touched_at and converted_at must be comparable timestamps: {exc}") from exc
    _fail(frame, touched.isna().to_numpy(), "touched_at is missing")
    _fail(frame, converted.isna().to_numpy(), "converted_at is missing")
    starts = np.flatnonzero(touches.position == 0)
    converted_ns = converted.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    differs = np.maximum.reduceat(converted_ns, starts) != np.minimum.reduceat(converted_ns, starts)
    _fail(frame, differs[touches.conversion] & (touches.position == 0),
          "converted_at differs between the touches of one conversion")
    _fail(frame, age_days < 0, "touched_at is after converted_at",
          "A journey holds only the touches before its conversion.")
    # Relative to the most recent touch, so the largest weight is 1 and nothing underflows.
    newest = np.minimum.reduceat(age_days, starts)[touches.conversion]
    weights = np.exp2(-(age_days - newest) / half_life)
    return weights / np.bincount(touches.conversion, weights)[touches.conversion]


def _model_credit(
    touches: _Touches, model: str, half_life_days: float, position_weights: Sequence[float]
) -> np.ndarray:
    if model == "time_decay":
        return _time_decay_weights(touches, half_life_days)
    if model in HEURISTIC_MODELS:
        return touch_weights(touches.position, touches.length, model, position_weights)
    raise ValueError(f"unknown per-conversion model {model!r}; expected some of {TOUCH_MODELS}")


def time_decay_credit(touches: pd.DataFrame, half_life_days: float = DEFAULT_HALF_LIFE_DAYS) -> pd.DataFrame:
    """Time-decay credit of every touch of a conversion.

    weight = 2^(-(converted_at - touched_at) / half_life), in days; credit = weight / sum of the
    weights of the conversion's touches (so a touch one half-life older gets half the credit, and
    credits sum to 1 per conversion); value_credit = credit * the conversion's value.

    Returns ``conversion_id``, ``touch_index``, ``channel``, ``credit``, ``value_credit`` with
    the input's index and row order.
    """
    prepared = _prepare(touches)
    credit = _time_decay_weights(prepared, half_life_days)
    result = prepared.frame.loc[:, list(_KEY_COLUMNS)].copy()
    result["credit"] = credit
    result["value_credit"] = credit * prepared.value
    return result.iloc[np.argsort(prepared.order)]


def per_conversion_credit(
    touches: pd.DataFrame,
    models: Sequence[str] = TOUCH_MODELS,
    *,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    position_weights: Sequence[float] = DEFAULT_POSITION_WEIGHTS,
) -> pd.DataFrame:
    """One row per conversion x touch x model: the touch's ``credit`` and ``value_credit``.

    Models: ``first``, ``last``, ``linear``, ``position`` (see
    :func:`funnellens.attribution.heuristic.touch_weights`, applied to the touches in
    ``touch_index`` order) and ``time_decay`` (see :func:`time_decay_credit`). Per conversion and
    model the credits sum to 1 and the value credits to the conversion's value.

    Returns ``conversion_id``, ``touch_index``, ``channel``, ``model``, ``credit``,
    ``value_credit``, ordered by model (as given), conversion (first appearance) and touch_index.
    """
    if isinstance(models, str):
        models = (models,)
    unknown = [m for m in models if m not in TOUCH_MODELS]
    if unknown or not models:
        raise ValueError(f"unknown per-conversion model(s) {unknown or models!r}; expected some of {TOUCH_MODELS}")
    prepared = _prepare(touches)
    keys = prepared.frame.loc[:, list(_KEY_COLUMNS)].reset_index(drop=True)
    parts = []
    for model in dict.fromkeys(models):  # a handful of models, each vectorised over all touches
        credit = _model_credit(prepared, model, half_life_days, position_weights)
        part = keys.copy()
        part["model"] = model
        part["credit"] = credit
        part["value_credit"] = credit * prepared.value
        parts.append(part)
    return pd.concat(parts, ignore_index=True).loc[:, list(OUTPUT_COLUMNS)]
