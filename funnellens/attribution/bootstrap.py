"""Bootstrap percentile intervals for the channel credits of any attribution model.

A resample draws as many journeys as the input holds, with replacement. With aggregated paths
that is one multinomial draw of the journey counts over the categories (path i, converted) and
(path i, not converted), with probabilities count / total journeys: exactly a journey resample,
done without materialising a single journey. A resampled converting journey carries its path's
mean conversion value (value_i / conversions_i), the only per-journey value the paths keep.

Each model is fitted once on the structure of the paths and then re-weighted per resample:
heuristic and simplified-Shapley credits are a sparse (channels x paths) matrix times the counts;
Markov transition counts are a sparse (transitions x paths) incidence matrix times the counts,
followed by one small linear solve per channel; exact Shapley re-aggregates counts per channel
set and re-runs the O(n 2^n) transform. The interval is the (1 - ci) / 2 and (1 + ci) / 2
percentiles of the resampled credits; the point estimate is the model on the full data.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from funnellens.attribution._paths import AttributionInputError, ParsedPaths, parse_paths, plain
from funnellens.attribution.heuristic import (
    DEFAULT_POSITION_WEIGHTS,
    HEURISTIC_MODELS,
    channel_weight_matrix,
    credit_frame,
    validate_position_weights,
)
from funnellens.attribution.markov import MarkovStructure, removal_credit, validate_order
from funnellens.attribution.shapley import (
    DEFAULT_MAX_CHANNELS,
    SHAPLEY_METHODS,
    ExactShapleyGame,
    equal_split_matrix,
    negative_credit_flags,
    validate_max_channels,
    warn_negative_credit,
)

BOOTSTRAP_MODELS = (*HEURISTIC_MODELS, "markov", "shapley")
_MODEL_KWARGS = {
    **{m: {"position_weights"} for m in HEURISTIC_MODELS},
    "markov": {"order"},
    "shapley": {"method", "max_channels"},
}

Fit = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]]
"""(conversions, nulls, value) per path -> (conversion credit, value credit, extra columns)."""


def _credit_function(parsed: ParsedPaths, model: str, kwargs: dict[str, Any]) -> Fit:
    """Build the model's structure once; return a function of the path counts."""
    unknown = set(kwargs) - _MODEL_KWARGS[model]
    if unknown:
        raise TypeError(f"model {model!r} takes no argument(s) {sorted(unknown)}; "
                        f"it accepts {sorted(_MODEL_KWARGS[model])}")
    if model in HEURISTIC_MODELS:
        weights = validate_position_weights(kwargs.get("position_weights", DEFAULT_POSITION_WEIGHTS))
        matrix = channel_weight_matrix(parsed, model, weights)
        return lambda conv, nulls, value: (matrix @ conv, matrix @ value, {})
    if model == "markov":
        structure = MarkovStructure.build(parsed, validate_order(kwargs.get("order", 1)))

        def markov(conv: np.ndarray, nulls: np.ndarray, value: np.ndarray):
            p_conversion, p_removed = structure.conversion_probabilities(*structure.counts(conv, nulls))
            effect, credit, value_credit = removal_credit(p_conversion, p_removed, conv.sum(), value.sum())
            return credit, value_credit, {"removal_effect": effect}

        return markov
    method = kwargs.get("method", "exact")
    if method not in SHAPLEY_METHODS:
        raise ValueError(f"unknown Shapley method {method!r}; expected one of {SHAPLEY_METHODS}")
    max_channels = validate_max_channels(kwargs.get("max_channels", DEFAULT_MAX_CHANNELS))
    if method == "simplified":
        matrix = equal_split_matrix(parsed)

        def shapley(conv: np.ndarray, nulls: np.ndarray, value: np.ndarray):
            credit = matrix @ conv
            return credit, matrix @ value, {"negative_credit": negative_credit_flags(credit)}
    else:
        game = ExactShapleyGame.build(parsed, max_channels)

        def shapley(conv: np.ndarray, nulls: np.ndarray, value: np.ndarray):
            credit, value_credit = game.credit(conv, nulls, value)
            return credit, value_credit, {"negative_credit": negative_credit_flags(credit)}

    return shapley


def _whole_counts(paths: pd.DataFrame, parsed: ParsedPaths) -> None:
    for name, counts in (("conversions", parsed.conversions), ("nulls", parsed.nulls)):
        fractional = counts != np.round(counts)
        if fractional.any():
            row = int(np.flatnonzero(fractional)[0])
            raise AttributionInputError(
                f"row {row} (index {plain(paths.index[row])!r}, path {plain(paths['path'].iloc[row])!r}): "
                f"{name} = {counts[row]:g} is not a whole number; the bootstrap resamples journeys, so conversions "
                "and nulls must be journey counts"
            )


def bootstrap_credit(
    paths: pd.DataFrame,
    model: str,
    *,
    n_resamples: int = 200,
    seed: int = 0,
    ci: float = 0.95,
    **model_kwargs: Any,
) -> pd.DataFrame:
    """Channel credits of ``model`` with bootstrap percentile intervals from resampling journeys.

    ``model`` is ``first``, ``last``, ``linear``, ``position`` (``position_weights=``), ``markov``
    (``order=``) or ``shapley`` (``method=``, ``max_channels=``). Each of ``n_resamples``
    resamples is a multinomial draw of all N journeys over the categories (path, converted) and
    (path, not converted) with probabilities count / N; the model is re-fitted on the resampled
    counts and [ci_low, ci_high] are the 100 (1 - ci) / 2 and 100 (1 + ci) / 2 percentiles of
    its credits. The same ``seed`` gives the same intervals.

    Returns ``channel``, ``conversions``, ``value`` (the point estimates on the full data),
    ``ci_low``, ``ci_high``, ``value_ci_low``, ``value_ci_high``, plus ``removal_effect`` for
    Markov and ``negative_credit`` for Shapley. ``frame.attrs`` holds the model, its arguments,
    ``n_resamples``, ``seed``, ``ci`` and ``n_degenerate_resamples`` (resamples without any
    conversion, which have no credits and are left out of the percentiles).
    """
    if model not in BOOTSTRAP_MODELS:
        raise ValueError(f"unknown model {model!r}; expected one of {BOOTSTRAP_MODELS}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int | np.integer) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if not 0 < ci < 1:
        raise ValueError(f"ci must be strictly between 0 and 1 (e.g. 0.95), got {ci!r}")
    parsed = parse_paths(paths)
    _whole_counts(paths, parsed)
    fit = _credit_function(parsed, model, model_kwargs)
    credit, value_credit, extra = fit(parsed.conversions, parsed.nulls, parsed.value)

    n = parsed.n_paths
    counts = np.concatenate((parsed.conversions, parsed.nulls)).astype(np.int64)
    categories = np.flatnonzero(counts)
    journeys = int(counts.sum())
    probabilities = counts[categories] / journeys
    value_per_conversion = np.divide(parsed.value, parsed.conversions,
                                     out=np.zeros(n), where=parsed.conversions > 0)
    rng = np.random.default_rng(seed)
    resampled = np.full((n_resamples, parsed.n_channels), np.nan)
    resampled_value = np.full((n_resamples, parsed.n_channels), np.nan)
    drawn = np.zeros(2 * n)
    for r in range(n_resamples):  # one vectorised draw and re-fit per resample
        drawn[categories] = rng.multinomial(journeys, probabilities)
        conv, nulls = drawn[:n], drawn[n:]
        if conv.sum() == 0:
            continue
        resampled[r], resampled_value[r], _ = fit(conv, nulls, conv * value_per_conversion)

    degenerate = int(np.isnan(resampled[:, 0]).sum())
    percentiles = [50 * (1 - ci), 50 * (1 + ci)]
    with warnings.catch_warnings():  # all resamples degenerate: NaN intervals, counted in attrs
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(resampled, percentiles, axis=0)
        value_low, value_high = np.nanpercentile(resampled_value, percentiles, axis=0)
    frame = credit_frame(parsed, credit, value_credit, ci_low=low, ci_high=high,
                         value_ci_low=value_low, value_ci_high=value_high, **extra)
    if "negative_credit" in frame:
        warn_negative_credit(list(frame.loc[frame["negative_credit"], "channel"]), stacklevel=2)
    frame.attrs.update(model=model, model_kwargs=dict(model_kwargs), n_resamples=int(n_resamples),
                       seed=seed, ci=ci, n_degenerate_resamples=degenerate)
    return frame
