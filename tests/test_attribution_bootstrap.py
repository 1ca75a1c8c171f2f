"""Bootstrap intervals of channel credits (issue 4, point 4)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from funnellens.attribution import (
    AttributionInputError,
    NegativeCreditWarning,
    bootstrap_credit,
    heuristic_attribution,
    markov_attribution,
    shapley_attribution,
)


def reasonable_paths() -> pd.DataFrame:
    """A few hundred journeys per path over five channels: intervals are narrow but not empty."""
    rng = np.random.default_rng(1)
    rows = []
    for _ in range(40):
        path = " > ".join(rng.choice(list("ABCDE"), size=int(rng.integers(1, 5))))
        conversions = int(rng.integers(20, 120))
        rows.append((path, conversions, int(rng.integers(100, 600)), float(conversions * rng.uniform(10, 50))))
    return pd.DataFrame(rows, columns=["path", "conversions", "nulls", "value"])


MODELS = [
    ("first", {}), ("last", {}), ("linear", {}), ("position", {"position_weights": (0.3, 0.4, 0.3)}),
    ("markov", {}), ("markov", {"order": 2}),
    ("shapley", {}), ("shapley", {"method": "simplified"}),
]


def point_estimate(paths: pd.DataFrame, model: str, kwargs: dict) -> pd.DataFrame:
    if model == "markov":
        return markov_attribution(paths, **kwargs)
    if model == "shapley":
        return shapley_attribution(paths, **kwargs)
    return heuristic_attribution(paths, model, **kwargs)


@pytest.mark.parametrize(("model", "kwargs"), MODELS)
def test_intervals_contain_the_point_estimate(model, kwargs):
    paths = reasonable_paths()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NegativeCreditWarning)
        result = bootstrap_credit(paths, model, n_resamples=100, seed=4, **kwargs)
        point = point_estimate(paths, model, kwargs)
    pd.testing.assert_frame_equal(result[point.columns], point, check_exact=False, atol=1e-12)
    assert (result["ci_low"] <= result["conversions"] + 1e-9).all()
    assert (result["conversions"] <= result["ci_high"] + 1e-9).all()
    assert (result["value_ci_low"] <= result["value"] + 1e-9).all()
    assert (result["value"] <= result["value_ci_high"] + 1e-9).all()
    assert (result["ci_high"] > result["ci_low"]).all()
    assert result.attrs["n_degenerate_resamples"] == 0


def test_same_seed_same_intervals_other_seed_other_intervals():
    paths = reasonable_paths()
    first = bootstrap_credit(paths, "markov", n_resamples=30, seed=7)
    again = bootstrap_credit(paths, "markov", n_resamples=30, seed=7)
    other = bootstrap_credit(paths, "markov", n_resamples=30, seed=8)
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first["ci_low"], other["ci_low"])
    assert first.attrs["seed"] == 7 and first.attrs["n_resamples"] == 30 and first.attrs["ci"] == 0.95


def test_resampling_journeys_matches_the_binomial_distribution():
    # First-touch credit of A counts the converting journeys that start with A: under a journey
    # resample of N = 400 journeys it is Binomial(400, 30/400) (B: Binomial(400, 20/400)).
    paths = pd.DataFrame({"path": ["A", "B > A", "C"], "conversions": [30, 20, 50], "nulls": [70, 80, 150]})
    result = bootstrap_credit(paths, "first", n_resamples=4000, seed=0, ci=0.9).set_index("channel")
    for channel, converting in (("A", 30), ("B", 20), ("C", 50)):
        low, high = stats.binom.ppf([0.05, 0.95], 400, converting / 400)
        assert abs(result.loc[channel, "ci_low"] - low) <= 1
        assert abs(result.loc[channel, "ci_high"] - high) <= 1


def test_value_follows_the_resampled_conversions():
    paths = pd.DataFrame({"path": ["A", "B"], "conversions": [10, 10], "nulls": [0, 10], "value": [50.0, 200.0]})
    result = bootstrap_credit(paths, "last", n_resamples=200, seed=2).set_index("channel")
    # Each converting journey carries its path's mean value: 5 on A, 20 on B.
    np.testing.assert_allclose(result["value_ci_low"], result["ci_low"] * [5.0, 20.0], atol=1e-9)
    np.testing.assert_allclose(result["value_ci_high"], result["ci_high"] * [5.0, 20.0], atol=1e-9)


def test_degenerate_resamples_are_counted_and_left_out():
    paths = pd.DataFrame({"path": ["A > B", "B"], "conversions": [1, 0], "nulls": [10, 20]})
    result = bootstrap_credit(paths, "markov", n_resamples=200, seed=0)
    # P(no conversion in a resample of 31 journeys) = (30/31)^31, about 0.36
    assert 40 < result.attrs["n_degenerate_resamples"] < 110
    assert np.isfinite(result[["ci_low", "ci_high"]]).all().all()


def test_markov_and_shapley_columns_and_negative_credit_warning():
    markov = bootstrap_credit(reasonable_paths(), "markov", n_resamples=5)
    assert list(markov.columns) == ["channel", "conversions", "value", "ci_low", "ci_high",
                                    "value_ci_low", "value_ci_high", "removal_effect"]
    negative = pd.DataFrame({"path": ["A > B", "A", "B"], "conversions": [10, 0, 10], "nulls": [0, 10, 0]})
    with pytest.warns(NegativeCreditWarning):
        shapley = bootstrap_credit(negative, "shapley", n_resamples=20)
    assert shapley["negative_credit"].tolist() == [True, False]
    assert shapley.loc[0, "conversions"] < 0


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"model": "time_decay"}, ValueError, "unknown model 'time_decay'"),
    ({"model": "markov", "n_resamples": 0}, ValueError, "n_resamples must be a positive integer"),
    ({"model": "markov", "ci": 95}, ValueError, "ci must be strictly between 0 and 1"),
    ({"model": "markov", "method": "exact"}, TypeError, r"takes no argument\(s\) \['method'\]"),
    ({"model": "shapley", "method": "banzhaf"}, ValueError, "unknown Shapley method"),
    ({"model": "markov", "order": 7}, ValueError, "order must be an integer"),
])
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        bootstrap_credit(reasonable_paths(), **kwargs)


def test_fractional_counts_cannot_be_resampled():
    paths = pd.DataFrame({"path": ["A", "B"], "conversions": [1, 2.5], "nulls": [1, 1]})
    with pytest.raises(AttributionInputError, match=r"row 1 .*conversions = 2.5 is not a whole number"):
        bootstrap_credit(paths, "linear")
