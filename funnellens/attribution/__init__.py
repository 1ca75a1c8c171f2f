"""Multi-touch attribution: heuristic, exact Markov and exact Shapley credit, with intervals.

Framework-free functions over a paths DataFrame (``path`` = channels joined by ``" > "``,
``conversions``, ``nulls``, optional ``value``) or over touch rows of converting journeys.
See ``docs/attribution.md`` for the models, their formulas and how they differ from
ChannelAttribution and Fractribution.
"""

from funnellens.attribution._paths import (
    CONVERSION_STATE,
    NULL_STATE,
    SEPARATOR,
    START_STATE,
    AttributionInputError,
)
from funnellens.attribution.bootstrap import BOOTSTRAP_MODELS, bootstrap_credit
from funnellens.attribution.heuristic import HEURISTIC_MODELS, heuristic_attribution, touch_weights
from funnellens.attribution.markov import markov_attribution, markov_transition_matrix
from funnellens.attribution.shapley import (
    SHAPLEY_METHODS,
    NegativeCreditWarning,
    shapley_attribution,
    shapley_values,
    subset_sums,
)
from funnellens.attribution.touches import TOUCH_MODELS, per_conversion_credit, time_decay_credit

__all__ = [
    "BOOTSTRAP_MODELS",
    "CONVERSION_STATE",
    "HEURISTIC_MODELS",
    "NULL_STATE",
    "SEPARATOR",
    "SHAPLEY_METHODS",
    "START_STATE",
    "TOUCH_MODELS",
    "AttributionInputError",
    "NegativeCreditWarning",
    "bootstrap_credit",
    "heuristic_attribution",
    "markov_attribution",
    "markov_transition_matrix",
    "per_conversion_credit",
    "shapley_attribution",
    "shapley_values",
    "subset_sums",
    "time_decay_credit",
    "touch_weights",
]
