"""Multi-touch attribution models against independent references (issue 4).

The references here are written independently of the library: a dense absorbing-chain solve via
the fundamental matrix N = (I - Q)^-1 over dictionaries of transition counts, Shapley values by
enumerating every permutation of the channels, and equal splits and heuristics with Python loops
over a handful of paths.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import math
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from funnellens.attribution import (
    AttributionInputError,
    NegativeCreditWarning,
    heuristic_attribution,
    markov_attribution,
    markov_transition_matrix,
    shapley_attribution,
    shapley_values,
    subset_sums,
)
from funnellens.attribution import markov as markov_module

TOL = 1e-9


def frame(rows: list[tuple]) -> pd.DataFrame:
    columns = ["path", "conversions", "nulls", "value"][: len(rows[0])]
    return pd.DataFrame(rows, columns=columns)


def random_paths(seed: int, channels: str = "ABCDE", n_rows: int = 12, max_length: int = 6) -> pd.DataFrame:
    """Small random paths with repeats, null-only rows and values (at least one conversion)."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_rows):
        length = int(rng.integers(1, max_length + 1))
        path = " > ".join(rng.choice(list(channels), size=length))
        conversions = int(rng.integers(0, 6))
        nulls = int(rng.integers(0 if conversions else 1, 6))
        value = float(np.round(rng.uniform(1, 100) * conversions, 2))
        rows.append((path, conversions, nulls, value))
    if not any(r[1] for r in rows):
        rows[0] = (rows[0][0], 1, rows[0][2], 10.0)
    return frame(rows)


# --------------------------------------------------------------------------------------------
# Independent references
# --------------------------------------------------------------------------------------------
def reference_markov(paths: pd.DataFrame, order: int) -> tuple[float, dict[str, float]]:
    """P(conversion) and removal effects by the fundamental matrix of the absorbing chain."""
    counts: dict[tuple, float] = defaultdict(float)
    channels: set[str] = set()
    for path, conv, null in paths[["path", "conversions", "nulls"]].itertuples(index=False):
        touches = path.split(" > ")
        channels.update(touches)
        collapsed = [c for i, c in enumerate(touches) if i == 0 or c != touches[i - 1]]
        states = [tuple(collapsed[max(0, t - order + 1): t + 1]) for t in range(len(collapsed))]
        walk = ["START", *states]
        for a, b in itertools.pairwise(walk):
            counts[(a, b)] += conv + null
        counts[(states[-1], "CONV")] += conv
        counts[(states[-1], "NULL")] += null

    def p_conversion(table: dict[tuple, float]) -> float:
        transient = sorted({a for a, _ in table} | {b for _, b in table if isinstance(b, tuple)}, key=str)
        index = {s: i for i, s in enumerate(transient)}
        out: dict = defaultdict(float)
        for (a, _), c in table.items():
            out[a] += c
        q = np.zeros((len(transient), len(transient)))
        r = np.zeros((len(transient), 2))
        for (a, b), c in table.items():
            if b == "CONV":
                r[index[a], 0] += c / out[a]
            elif b == "NULL":
                r[index[a], 1] += c / out[a]
            else:
                q[index[a], index[b]] += c / out[a]
        fundamental = np.linalg.inv(np.eye(len(transient)) - q)
        return float((fundamental @ r)[index["START"], 0])

    base = p_conversion(counts)
    effects = {}
    for channel in sorted(channels):
        removed: dict[tuple, float] = defaultdict(float)
        for (a, b), c in counts.items():
            if isinstance(b, tuple) and channel in b:
                removed[(a, "NULL")] += c
            else:
                removed[(a, b)] += c
        effects[channel] = 1 - p_conversion(removed) / base
    return base, effects


def reference_shapley(paths: pd.DataFrame) -> dict[str, float]:
    """Shapley values by averaging marginal contributions over every permutation of channels."""
    journeys = [(frozenset(p.split(" > ")), c, n)
                for p, c, n in paths[["path", "conversions", "nulls"]].itertuples(index=False)]
    channels = sorted(set().union(*(j[0] for j in journeys)))

    @functools.cache
    def v(coalition: frozenset) -> float:
        converted = sum(c for s, c, _ in journeys if s <= coalition)
        total = sum(c + n for s, c, n in journeys if s <= coalition)
        return converted / total if total else 0.0

    phi = dict.fromkeys(channels, 0.0)
    permutations = list(itertools.permutations(channels))
    for permutation in permutations:
        coalition: frozenset = frozenset()
        for channel in permutation:
            grown = coalition | {channel}
            phi[channel] += v(grown) - v(coalition)
            coalition = grown
    return {c: p / len(permutations) for c, p in phi.items()}


def scaled(phi: dict[str, float], total: float) -> dict[str, float]:
    s = sum(phi.values())
    return {c: total * p / s for c, p in phi.items()}


# --------------------------------------------------------------------------------------------
# Markov
# --------------------------------------------------------------------------------------------
def test_markov_hand_computed_example():
    # start -> A 2/3, B 1/3; A -> B 1/2, null 1/2; B -> conversion 1. P = 2/3 * 1/2 + 1/3 = 2/3.
    # Without A: P = 1/3, RE = 0.5. Without B: P = 0, RE = 1. Credits 2 * (0.5, 1) / 1.5.
    result = markov_attribution(frame([("A > B", 1, 0, 10.0), ("A", 0, 1, 0.0), ("B", 1, 0, 20.0)]))
    assert result["channel"].tolist() == ["A", "B"]
    np.testing.assert_allclose(result["removal_effect"], [0.5, 1.0], atol=TOL)
    np.testing.assert_allclose(result["conversions"], [2 / 3, 4 / 3], atol=TOL)
    np.testing.assert_allclose(result["value"], [10.0, 20.0], atol=TOL)
    assert result.attrs["p_conversion"] == pytest.approx(2 / 3, abs=TOL)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("seed", range(8))
def test_markov_matches_fundamental_matrix(order, seed):
    paths = random_paths(seed)
    p_conversion, effects = reference_markov(paths, order)
    result = markov_attribution(paths, order=order).set_index("channel")
    assert result.attrs["p_conversion"] == pytest.approx(p_conversion, abs=TOL)
    expected_effect = pd.Series(effects)
    np.testing.assert_allclose(result["removal_effect"], expected_effect[result.index], atol=TOL)
    share = expected_effect / expected_effect.sum()
    np.testing.assert_allclose(result["conversions"], paths["conversions"].sum() * share[result.index],
                               atol=TOL)
    np.testing.assert_allclose(result["value"], paths["value"].sum() * share[result.index], atol=1e-8)


def failing_bicgstab(matrix, rhs, **kwargs):
    return np.zeros_like(rhs), 1  # "not converged": forces the sparse-LU fallback


@pytest.mark.parametrize("solver", ["value_iteration", "bicgstab", "sparse_lu"])
@pytest.mark.parametrize("order", [1, 2, 3])
def test_markov_sparse_solvers_match_dense(order, solver, monkeypatch):
    paths = random_paths(42, channels="ABCDEFG", n_rows=40, max_length=7)
    dense = markov_attribution(paths, order=order)
    monkeypatch.setattr(markov_module, "_DENSE_STATE_LIMIT", 0)
    if solver != "value_iteration":
        monkeypatch.setattr(markov_module, "_MAX_SWEEPS", 0)
    if solver == "sparse_lu":
        monkeypatch.setattr(markov_module.spla, "bicgstab", failing_bicgstab)
    sparse = markov_attribution(paths, order=order)
    np.testing.assert_allclose(sparse["removal_effect"], dense["removal_effect"], atol=TOL)
    _, effects = reference_markov(paths, order)
    np.testing.assert_allclose(sparse["removal_effect"], [effects[c] for c in sparse["channel"]], atol=TOL)


def test_markov_collapses_consecutive_repeats():
    repeated = markov_attribution(frame([("A > A > B > B > B", 3, 1), ("B > A > A", 1, 4), ("C", 0, 2)]))
    collapsed = markov_attribution(frame([("A > B", 3, 1), ("B > A", 1, 4), ("C", 0, 2)]))
    pd.testing.assert_frame_equal(repeated, collapsed)


def test_markov_single_channel_gets_everything():
    result = markov_attribution(frame([("A", 3, 7, 30.0), ("A > A", 1, 0, 5.0)]))
    assert result["removal_effect"].tolist() == [1.0]
    assert result["conversions"].tolist() == [4.0]
    assert result["value"].tolist() == [35.0]


def test_markov_channel_only_in_null_paths_gets_no_credit():
    result = markov_attribution(frame([("A > B", 2, 1), ("C", 0, 5)])).set_index("channel")
    assert result.loc["C", "conversions"] == 0.0
    assert result.loc["C", "removal_effect"] == 0.0


def test_markov_order_two_keeps_short_paths_and_uses_pairs():
    # Order 2: C's credit depends on what precedes it, which an order-1 chain cannot see.
    paths = frame([("A > C", 5, 0), ("B > C", 0, 5), ("A", 0, 5), ("B", 0, 5)])
    first = markov_attribution(paths, order=1).set_index("channel")
    second = markov_attribution(paths, order=2).set_index("channel")
    assert second.attrs["n_states"] == 4  # (A), (B), (A, C), (B, C)
    assert first.attrs["n_states"] == 3
    assert second.attrs["p_conversion"] == pytest.approx(0.25, abs=TOL)
    # With order 2, removing B changes nothing: B's journeys never convert.
    assert second.loc["B", "removal_effect"] == pytest.approx(0.0, abs=TOL)
    assert first.loc["B", "removal_effect"] > 0


def test_markov_duplicate_rows_add_up():
    split = markov_attribution(frame([("A > B", 1, 0, 5.0), ("A > B", 2, 3, 7.0), ("B", 1, 1, 1.0)]))
    merged = markov_attribution(frame([("A > B", 3, 3, 12.0), ("B", 1, 1, 1.0)]))
    pd.testing.assert_frame_equal(split, merged, atol=TOL)


@pytest.mark.parametrize("order", [0, 5, 1.5, "1", True])
def test_markov_rejects_bad_order(order):
    with pytest.raises(ValueError, match="order must be an integer from 1 to 4"):
        markov_attribution(frame([("A", 1, 0)]), order=order)


def test_transition_matrix_counts_and_probabilities():
    matrix = markov_transition_matrix(frame([("A > B", 1, 0), ("A", 0, 1), ("B > B", 1, 0)]))
    rows = {(f, t): (c, p) for f, t, c, p in matrix.itertuples(index=False)}
    assert rows == {
        ("(start)", "A"): (2.0, pytest.approx(2 / 3)),
        ("(start)", "B"): (1.0, pytest.approx(1 / 3)),
        ("A", "B"): (1.0, 0.5),
        ("A", "(null)"): (1.0, 0.5),
        ("B", "(conversion)"): (2.0, 1.0),
    }
    second = markov_transition_matrix(frame([("A > B > C", 2, 1)]), order=2)
    assert set(zip(second["from_state"], second["to_state"], strict=True)) == {
        ("(start)", "A"), ("A", "A > B"), ("A > B", "B > C"), ("B > C", "(conversion)"), ("B > C", "(null)"),
    }
    np.testing.assert_allclose(second.groupby("from_state")["probability"].sum(), 1.0, atol=TOL)


# --------------------------------------------------------------------------------------------
# Shapley
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(10))
def test_exact_shapley_matches_permutation_enumeration(seed):
    paths = random_paths(seed, channels="ABCDEF", n_rows=15, max_length=4)
    expected = scaled(reference_shapley(paths), paths["conversions"].sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NegativeCreditWarning)
        result = shapley_attribution(paths, method="exact").set_index("channel")
    np.testing.assert_allclose(result["conversions"], [expected[c] for c in result.index], atol=TOL)
    value_share = pd.Series(expected) / paths["conversions"].sum()
    np.testing.assert_allclose(result["value"], paths["value"].sum() * value_share[result.index], atol=1e-8)


def test_subset_sums_and_shapley_values_match_brute_force():
    rng = np.random.default_rng(3)
    n = 5
    per_set = rng.uniform(0, 1, 1 << n)
    zeta = subset_sums(per_set, n)
    for s in range(1 << n):
        assert zeta[s] == pytest.approx(sum(per_set[t] for t in range(1 << n) if t & s == t), abs=TOL)
    game = rng.uniform(-1, 1, 1 << n)
    game[0] = 0.0
    phi = shapley_values(game, n)
    for i in range(n):
        expected = 0.0
        for s in range(1 << n):
            if not s >> i & 1:
                size = bin(s).count("1")
                weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
                expected += weight * (game[s | 1 << i] - game[s])
        assert phi[i] == pytest.approx(expected, abs=TOL)
    assert phi.sum() == pytest.approx(game[-1], abs=TOL)


def test_exact_shapley_keeps_and_reports_negative_credit():
    # v(A) = 0, v(B) = 1, v(AB) = 2/3: phi_A = (0 + (2/3 - 1)) / 2 = -1/6, phi_B = 5/6.
    paths = frame([("A > B", 1, 0, 15.0), ("A", 0, 1, 0.0), ("B", 1, 0, 15.0)])
    with pytest.warns(NegativeCreditWarning, match=r"\['A'\]"):
        result = shapley_attribution(paths, method="exact").set_index("channel")
    assert result.loc["A", "conversions"] == pytest.approx(-0.5, abs=TOL)
    assert result.loc["B", "conversions"] == pytest.approx(2.5, abs=TOL)
    assert result.loc["A", "value"] == pytest.approx(-7.5, abs=TOL)
    assert result["negative_credit"].tolist() == [True, False]


def test_exact_shapley_without_negative_credit_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", NegativeCreditWarning)
        result = shapley_attribution(frame([("A > B", 2, 1), ("A", 1, 3), ("B", 1, 2)]))
    assert not result["negative_credit"].any()


def test_simplified_shapley_is_the_equal_split():
    paths = random_paths(5, channels="ABCDEFGH", n_rows=20)
    expected_conv: dict[str, float] = defaultdict(float)
    expected_value: dict[str, float] = defaultdict(float)
    for path, conv, _, value in paths.itertuples(index=False):
        distinct = set(path.split(" > "))
        for channel in distinct:
            expected_conv[channel] += conv / len(distinct)
            expected_value[channel] += value / len(distinct)
    result = shapley_attribution(paths, method="simplified").set_index("channel")
    np.testing.assert_allclose(result["conversions"], [expected_conv[c] for c in result.index], atol=TOL)
    np.testing.assert_allclose(result["value"], [expected_value[c] for c in result.index], atol=1e-8)
    assert not result["negative_credit"].any()


def test_exact_shapley_above_max_channels_names_simplified():
    paths = frame([(" > ".join(f"c{i:02d}" for i in range(16)), 1, 0)])
    with pytest.raises(ValueError, match="method='simplified'"):
        shapley_attribution(paths, method="exact")
    with pytest.raises(ValueError, match="max_channels=2.*simplified"):
        shapley_attribution(frame([("A > B > C", 1, 0)]), method="exact", max_channels=2)
    assert len(shapley_attribution(paths, method="simplified")) == 16


def test_exact_shapley_fifteen_channels_sums_to_total():
    rng = np.random.default_rng(11)
    names = [f"channel_{i:02d}" for i in range(15)]
    rows = [(" > ".join(rng.choice(names, size=rng.integers(1, 6))), int(rng.integers(0, 3)),
             int(rng.integers(1, 5)), 0.0) for _ in range(400)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NegativeCreditWarning)
        result = shapley_attribution(frame(rows), method="exact")
    assert len(result) == 15
    assert result["conversions"].sum() == pytest.approx(sum(r[1] for r in rows), abs=TOL)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"method": "banzhaf"}, "unknown Shapley method"),
    ({"max_channels": 0}, "max_channels must be a positive integer"),
    ({"max_channels": 30}, "hard limit"),
])
def test_shapley_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        shapley_attribution(frame([("A", 1, 0)]), **kwargs)


# --------------------------------------------------------------------------------------------
# Heuristics
# --------------------------------------------------------------------------------------------
HEURISTIC_PATHS = [("A > B > C", 2, 1, 30.0), ("B", 1, 0, 5.0), ("C > A", 1, 2, 10.0), ("A > C", 0, 3, 0.0)]


@pytest.mark.parametrize(("model", "conversions", "value"), [
    ("first", {"A": 2, "B": 1, "C": 1}, {"A": 30, "B": 5, "C": 10}),
    ("last", {"A": 1, "B": 1, "C": 2}, {"A": 10, "B": 5, "C": 30}),
    ("linear", {"A": 2 / 3 + 0.5, "B": 2 / 3 + 1, "C": 2 / 3 + 0.5}, {"A": 15, "B": 15, "C": 15}),
    # position 40/20/40: a 3-touch path gives .4/.2/.4, a 2-touch path .5/.5, a 1-touch path 1.
    ("position", {"A": 0.8 + 0.5, "B": 0.4 + 1, "C": 0.8 + 0.5}, {"A": 17, "B": 11, "C": 17}),
])
def test_heuristic_models_hand_computed(model, conversions, value):
    result = heuristic_attribution(frame(HEURISTIC_PATHS), model).set_index("channel")
    assert list(result.columns) == ["conversions", "value"]
    np.testing.assert_allclose(result["conversions"], [conversions[c] for c in "ABC"], atol=TOL)
    np.testing.assert_allclose(result["value"], [value[c] for c in "ABC"], atol=TOL)


def test_position_weights_configurable_and_renormalised():
    paths = frame([("A > B > C > D", 1, 0, 100.0), ("A > D", 1, 0, 10.0)])
    result = heuristic_attribution(paths, "position", position_weights=(0.3, 0.4, 0.3)).set_index("channel")
    np.testing.assert_allclose(result["conversions"], [0.3 + 0.5, 0.2, 0.2, 0.3 + 0.5], atol=TOL)
    np.testing.assert_allclose(result["value"], [30 + 5, 20, 20, 30 + 5], atol=TOL)
    default = heuristic_attribution(paths, "position")
    scaled_weights = heuristic_attribution(paths, "position", position_weights=(2, 1, 2))
    pd.testing.assert_frame_equal(default, scaled_weights, atol=TOL)
    # first + last = 0 would leave a 2-touch path without credit
    with pytest.raises(ValueError, match="no weight to the first and last"):
        heuristic_attribution(paths, "position", position_weights=(0, 1, 0))
    with pytest.raises(ValueError, match="non-negative"):
        heuristic_attribution(paths, "position", position_weights=(0.5, -0.1, 0.6))
    with pytest.raises(ValueError, match="three numbers"):
        heuristic_attribution(paths, "position", position_weights=(0.5, 0.5))


def test_heuristics_take_paths_as_given_and_value_defaults_to_zero():
    result = heuristic_attribution(frame([("A > A > B", 3, 0)]), "linear").set_index("channel")
    assert result.loc["A", "conversions"] == pytest.approx(2.0)
    assert result["value"].tolist() == [0.0, 0.0]


def test_unknown_heuristic_model():
    with pytest.raises(ValueError, match="unknown heuristic model 'u_shaped'"):
        heuristic_attribution(frame([("A", 1, 0)]), "u_shaped")


# --------------------------------------------------------------------------------------------
# Every model: credits sum to the totals (property-style over random inputs)
# --------------------------------------------------------------------------------------------
MODELS = [
    *[(heuristic_attribution, {"model": m}) for m in ("first", "last", "linear", "position")],
    *[(markov_attribution, {"order": k}) for k in (1, 2, 3, 4)],
    (shapley_attribution, {"method": "exact"}),
    (shapley_attribution, {"method": "simplified"}),
]


@pytest.mark.parametrize(("model", "kwargs"), MODELS, ids=lambda x: getattr(x, "__name__", str(x)))
@pytest.mark.parametrize("seed", range(15))
def test_credits_sum_to_totals(model, kwargs, seed):
    rng = np.random.default_rng(1000 + seed)
    paths = random_paths(seed, channels="ABCDEFGHIJ"[: rng.integers(1, 11)], n_rows=int(rng.integers(1, 60)))
    paths["conversions"] = paths["conversions"] * rng.uniform(0.5, 3.0)  # counts need not be whole
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NegativeCreditWarning)
        result = model(paths, **kwargs)
    assert not result[["conversions", "value"]].isna().any().any()
    assert abs(result["conversions"].sum() - paths["conversions"].sum()) <= TOL
    assert abs(result["value"].sum() - paths["value"].sum()) <= TOL * max(1.0, paths["value"].abs().sum())
    assert result["channel"].is_monotonic_increasing and result["channel"].is_unique


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------
ALL_MODELS = [
    lambda p: heuristic_attribution(p, "linear"),
    lambda p: markov_attribution(p),
    lambda p: shapley_attribution(p, method="exact"),
    lambda p: shapley_attribution(p, method="simplified"),
]


@pytest.mark.parametrize("run", ALL_MODELS, ids=["heuristic", "markov", "shapley", "simplified"])
@pytest.mark.parametrize(("rows", "message"), [
    ([("A", 1, 0), ("", 1, 0)], r"row 1 .*the path is empty"),
    ([("A", 1, 0), ("   ", 1, 0)], r"row 1 .*the path is empty"),
    ([("A", 1, 0), (None, 1, 0)], r"row 1 .*path is missing"),
    ([("A", 1, 0), ("A > ", 1, 0)], r"row 1 .*empty channel name"),
    ([("A", 1, 0), ("A >  > B", 1, 0)], r"row 1 .*empty channel name"),
    ([("A", 1, 0), ("A>B > C", 1, 0)], r"row 1 .*channel 'A>B' contains the separator"),
    ([("A", 1, 0), ("A >B", 1, 0)], r"row 1 .*contains the separator"),
    ([("A", 1, 0), ("A >  B", 1, 0)], r"row 1 .*whitespace"),
    ([("A", 1, 0), ("A > (null)", 1, 0)], r"row 1 .*reserved state name"),
    ([("A", 1, 0), ("B", -1, 2)], r"row 1 .*conversions is negative"),
    ([("A", 1, 0), ("B", 1, -2)], r"row 1 .*nulls is negative"),
    ([("A", 1, 0), ("B", np.nan, 2)], r"row 1 .*conversions is missing"),
    ([("A", 1, 0), ("B", "two", 2)], r"row 1 .*conversions is not a number"),
    ([("A", 1, 0), ("B", 1, np.inf)], r"row 1 .*nulls is infinite"),
    ([("A", 1, 0), ("B", 0, 0)], r"row 1 .*no journeys"),
    ([("A", 0, 3), ("B", 0, 1)], r"only nulls"),
    ([("A", 1, 0, 1.0), ("B", 0, 1, 9.0)], r"row 1 .*value but no conversions"),
    ([("A", 1, 0, 1.0), ("B", 1, 1, np.nan)], r"row 1 .*value is missing"),
])
def test_bad_input_is_named(run, rows, message):
    with pytest.raises(AttributionInputError, match=message):
        run(frame(rows))


def test_bad_input_names_index_label_and_counts_rows():
    paths = pd.DataFrame({"path": ["A", "B", "C"], "conversions": [1, -1, -2], "nulls": [0, 1, 1]},
                         index=["x", "y", "z"])
    with pytest.raises(AttributionInputError, match=r"row 1 \(index 'y', path 'B'\).*2 rows in all"):
        markov_attribution(paths)


@pytest.mark.parametrize(("paths", "message"), [
    (pd.DataFrame({"path": ["A"], "conversions": [1]}), r"missing the column\(s\) \['nulls'\]"),
    (pd.DataFrame({"path": [], "conversions": [], "nulls": []}), "paths is empty"),
    ([("A", 1, 0)], "must be a pandas DataFrame"),
    (pd.DataFrame({"path": ["A", 3], "conversions": [1, 1], "nulls": [0, 0]}), r"row 1 .*not a string"),
    (pd.DataFrame({"path": ["A"], "conversions": [True], "nulls": [0]}), "not boolean"),
])
def test_malformed_frames(paths, message):
    with pytest.raises(AttributionInputError, match=message):
        heuristic_attribution(paths, "first")


def test_extra_columns_are_ignored():
    paths = frame([("A > B", 2, 1, 3.0), ("B", 1, 1, 4.0)]).assign(dimension="channel", period="2026-01")
    assert len(markov_attribution(paths)) == 2


@pytest.mark.scale
def test_markov_and_shapley_on_a_million_journeys():
    spec = importlib.util.spec_from_file_location(
        "attribution_benchmark", Path(__file__).resolve().parents[1] / "benchmarks" / "attribution.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    paths = bench.generate_paths(1_000_000, bench.CHANNELS_12)
    result = markov_attribution(paths)
    assert result["conversions"].sum() == pytest.approx(paths["conversions"].sum(), rel=1e-12)
    wide = bench.generate_paths(1_000_000, bench.CHANNELS_15, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NegativeCreditWarning)
        shapley = shapley_attribution(wide, method="exact")
    assert shapley["value"].sum() == pytest.approx(wide["value"].sum(), rel=1e-12)
