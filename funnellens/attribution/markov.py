"""Markov-chain attribution, solved exactly as an absorbing Markov chain (no simulation).

The chain. Consecutive repeats of a channel collapse first (``a > a > b`` is ``a > b``, as in
ChannelAttribution). For order k, the state after the t-th touch of a journey is the tuple of
its last min(t, k) channels, so a journey ``a > b > c`` walks, for k = 2,
``(start) -> (a) -> (a, b) -> (b, c) -> (conversion) | (null)``: a journey shorter than k keeps
its shorter state tuples instead of being dropped or padded. Every journey adds one count to
each of its transitions (``conversions + nulls`` journeys per path) and ends in
``(conversion)`` for its converting journeys and ``(null)`` for the others. Transition
probabilities are the counts normalised per from-state.

Conversion probability. With Q the transition probabilities between transient states, r the
one-step probabilities of entering ``(conversion)`` and p0 the distribution of the first state,
the probability of eventually converting from each state is h = (I - Q)^-1 r (the absorption
probabilities, N r with the fundamental matrix N = (I - Q)^-1), and P(conversion) = p0 . h.

Removal effect. Removing channel c redirects every transition into a state that contains c to
``(null)``: the states containing c become non-converting, so P_c = p0' . h' with h' solved on
the remaining states. RE_c = 1 - P_c / P(conversion) lies in [0, 1]. Conversion credit of c is
total conversions * RE_c / sum_d RE_d; value credit is total value times the same share.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from funnellens.attribution._paths import (
    CONVERSION_STATE,
    NULL_STATE,
    SEPARATOR,
    START_STATE,
    ParsedPaths,
    parse_paths,
)
from funnellens.attribution.heuristic import credit_frame

MAX_ORDER = 4
_DENSE_STATE_LIMIT = 64  # dense LU up to here; larger LUs hit multithreaded BLAS, slow on a busy host
_KRYLOV_RTOL = 1e-13
_SWEEP_TOLERANCE = 1e-15
_MAX_SWEEPS = 2000


def _compact(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True)``, in O(n) when the keys are small integers."""
    if len(keys) and keys.max() < 1 << 24:
        present = np.zeros(int(keys.max()) + 1, dtype=bool)
        present[keys] = True
        rank = np.cumsum(present) - 1
        return np.flatnonzero(present), rank[keys]
    order = np.argsort(keys, kind="stable")  # a sort beats numpy 2's hash-based unique here
    ordered = keys[order]
    first = np.concatenate(([True], ordered[1:] != ordered[:-1]))
    inverse = np.empty(len(keys), dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    return ordered[first], inverse


def _solve_sparse(matrix: sp.csr_matrix, rhs: np.ndarray) -> np.ndarray:
    """Solve (I - Q) h = r: BiCGSTAB to a checked residual, sparse LU as the fallback.

    The error is at most ||(I - Q)^-1|| ||residual||, and ||(I - Q)^-1||_inf is the longest
    expected time to absorption, so a residual of 1e-13 keeps the probabilities exact far
    beyond 1e-9.
    """
    scale = max(float(np.abs(rhs).max()), 1.0)
    solution, info = spla.bicgstab(matrix, rhs, rtol=_KRYLOV_RTOL, atol=0.0, maxiter=max(1000, 10 * len(rhs)))
    if info == 0 and np.abs(matrix @ solution - rhs).max() <= 10 * _KRYLOV_RTOL * scale:
        return solution
    return spla.splu(sp.csc_matrix(matrix)).solve(rhs)  # exact direct solve; slow only for huge chains


def validate_order(order: int) -> int:
    if isinstance(order, bool) or not isinstance(order, int | np.integer) or not 1 <= order <= MAX_ORDER:
        raise ValueError(f"order must be an integer from 1 to {MAX_ORDER}, got {order!r}")
    return int(order)


@dataclass(frozen=True)
class MarkovStructure:
    """The state space and transition structure of a set of (collapsed) paths, independent of counts.

    Transition counts are linear in the path counts: with the sparse incidence matrix ``incidence``
    (transition pairs x paths, entry = how often path i makes that transition), the pair counts
    are ``incidence @ (conversions + nulls)``. The bootstrap builds this once and re-weights it.
    """

    order: int
    channels: np.ndarray
    state_channels: np.ndarray  # (n_states, order) channel codes, oldest first, -1 = no channel
    pair_from: np.ndarray  # from-state of each transition pair; n_states is (start)
    pair_to: np.ndarray
    incidence: sp.csr_matrix
    end_state: np.ndarray  # last state of each path

    @property
    def n_states(self) -> int:
        return len(self.state_channels)

    @classmethod
    def build(cls, parsed: ParsedPaths, order: int) -> MarkovStructure:
        """Collapse repeats and enumerate states and transitions (vectorised)."""
        order = validate_order(order)
        paths = parsed.collapse_repeats()
        base = paths.n_channels + 1
        if base**order >= 1 << 62:
            raise ValueError(f"{paths.n_channels} channels are too many for an order-{order} chain")
        position = paths.position_in_path
        keys = np.zeros(len(paths.codes), dtype=np.int64)
        for lag in range(order):  # key = sum over lags j of (code at t - j, plus 1) * base^j
            lagged = np.zeros(len(paths.codes), dtype=np.int64)
            lagged[lag:] = paths.codes[: len(paths.codes) - lag] + 1
            keys += np.where(position >= lag, lagged, 0) * base**lag
        state_keys, state_of_touch = _compact(keys)
        n_states = len(state_keys)
        state_channels = np.stack(
            [(state_keys // base**lag) % base - 1 for lag in reversed(range(order))], axis=1
        )

        not_last = position < np.repeat(paths.lengths, paths.lengths) - 1
        inner = np.flatnonzero(not_last)
        from_state = np.concatenate((np.full(paths.n_paths, n_states), state_of_touch[inner]))
        to_state = np.concatenate((state_of_touch[paths.offsets[:-1]], state_of_touch[inner + 1]))
        path = np.concatenate((np.arange(paths.n_paths), paths.path_of_touch[inner]))
        pair_keys, pair_of_transition = _compact(from_state * (n_states + 1) + to_state)
        incidence = sp.csr_matrix(
            (np.ones(len(path)), (pair_of_transition, path)), shape=(len(pair_keys), paths.n_paths)
        )
        return cls(
            order=order,
            channels=paths.channels,
            state_channels=state_channels,
            pair_from=pair_keys // (n_states + 1),
            pair_to=pair_keys % (n_states + 1),
            incidence=incidence,
            end_state=state_of_touch[paths.offsets[1:] - 1],
        )

    @cached_property
    def states_containing(self) -> list[np.ndarray]:
        """For each channel code, the states whose tuple contains it."""
        return [np.flatnonzero((self.state_channels == c).any(axis=1)) for c in range(len(self.channels))]

    def state_names(self) -> np.ndarray:
        """Each state's channels joined by the path separator, oldest first."""
        names = self.channels[np.maximum(self.state_channels, 0)]
        return np.array(
            [SEPARATOR.join(n for n, c in zip(row, codes, strict=True) if c >= 0)
             for row, codes in zip(names, self.state_channels, strict=True)],
            dtype=object,
        )

    def counts(self, conversions: np.ndarray, nulls: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Transition pair counts, and conversion and null counts per end state."""
        pair_counts = self.incidence @ (conversions + nulls)
        conv_counts = np.bincount(self.end_state, conversions, minlength=self.n_states)
        null_counts = np.bincount(self.end_state, nulls, minlength=self.n_states)
        return pair_counts, conv_counts, null_counts

    def conversion_probabilities(
        self, pair_counts: np.ndarray, conv_counts: np.ndarray, null_counts: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """P(conversion) from (start), and P(conversion) with each channel removed.

        Column 0 of ``keep`` is the full chain and column 1 + c the chain without channel c
        (the states containing c become non-converting). Each column j is the system
        (I - D_j Q) h_j = D_j r with D_j = diag(keep[:, j]), solved by a dense LU for up to
        64 states and by :func:`_absorption_sparse` otherwise. States that no journey reaches (zero
        counts, possible in a bootstrap resample) have no transitions and h = 0 there.
        """
        n = self.n_states
        inner = self.pair_from < n
        out = np.bincount(self.pair_from[inner], pair_counts[inner], minlength=n) + conv_counts + null_counts
        safe_out = np.where(out > 0, out, 1.0)
        start = np.bincount(self.pair_to[~inner], pair_counts[~inner], minlength=n)
        p0 = start / start.sum()
        r = conv_counts / safe_out
        rows, cols = self.pair_from[inner], self.pair_to[inner]
        q = sp.csr_matrix((pair_counts[inner] / safe_out[rows], (rows, cols)), shape=(n, n))
        keep = np.ones((n, len(self.channels) + 1), dtype=bool)
        for channel, states in enumerate(self.states_containing):
            keep[states, channel + 1] = False

        if n <= _DENSE_STATE_LIMIT:
            system = np.eye(n) - q.toarray()
            h = np.zeros(keep.shape)
            for j in range(keep.shape[1]):  # one small solve per channel, not per path
                index = np.flatnonzero(keep[:, j])
                if len(index):
                    h[index, j] = scipy.linalg.solve(system[np.ix_(index, index)], r[index], check_finite=False)
        else:
            h = _absorption_sparse(q, r, keep)
        probability = p0 @ h
        return float(probability[0]), probability[1:]


def _absorption_sparse(q: sp.csr_matrix, r: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Absorption probabilities h_j = (I - D_j Q)^-1 D_j r for every column j of ``keep`` at once.

    Value iteration h <- D (r + Q h) from h = D r sums the Neumann series sum_m (D Q)^m D r, which
    converges because every state is transient. One sparse-times-dense product per sweep serves
    all channels. The residual D r - (I - D Q) h of an iterate is exactly the next step, so
    stopping when every step is below 1e-15 bounds the error by 1e-15 times the longest expected
    time to absorption. A sparse LU of a high-order chain fills in almost densely (the order-k
    state graph is an expander), so this is orders of magnitude faster. Columns still moving
    after ``_MAX_SWEEPS`` (journeys that cycle for very long) fall back to BiCGSTAB, then to a
    sparse LU.
    """
    rhs = np.where(keep, r[:, None], 0.0)
    h = rhs.copy()
    step = np.full(keep.shape[1], np.inf)
    for _ in range(_MAX_SWEEPS):
        following = np.where(keep, rhs + q @ h, 0.0)
        step = np.abs(following - h).max(axis=0)
        h = following
        if (step <= _SWEEP_TOLERANCE).all():
            return h
    system = (sp.identity(q.shape[0], format="csr") - q).tocsr()
    for j in np.flatnonzero(step > _SWEEP_TOLERANCE):
        index = np.flatnonzero(keep[:, j])
        h[:, j] = 0.0
        if len(index):
            h[index, j] = _solve_sparse(system[index][:, index], r[index])
    return h


def removal_credit(
    p_conversion: float, p_removed: np.ndarray, total_conversions: float, total_value: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Removal effects RE_c = 1 - P_c / P and the credits they give (conversions, value)."""
    if p_conversion <= 0:
        raise ValueError("the conversion probability is 0: there is nothing to attribute")
    # RE is in [0, 1] exactly (removal only redirects towards (null)); the clip drops rounding noise.
    effect = np.clip(1.0 - p_removed / p_conversion, 0.0, 1.0)
    share = effect / effect.sum()
    return effect, total_conversions * share, total_value * share


def markov_attribution(paths: pd.DataFrame, order: int = 1) -> pd.DataFrame:
    """Exact Markov-chain attribution of order 1 to 4 (see the module docstring for the chain).

    RE_c = 1 - P(conversion with c removed) / P(conversion), each probability the absorption
    probability of an absorbing Markov chain solved with linear algebra. Conversion credit is
    total conversions * RE_c / sum_d RE_d and value credit is total value times the same share,
    so credits sum to the totals.

    Returns ``channel``, ``conversions``, ``value``, ``removal_effect`` (one row per channel,
    sorted by channel). ``frame.attrs`` holds ``p_conversion``, ``order`` and ``n_states``.
    """
    order = validate_order(order)
    parsed = parse_paths(paths)
    structure = MarkovStructure.build(parsed, order)
    p_conversion, p_removed = structure.conversion_probabilities(
        *structure.counts(parsed.conversions, parsed.nulls)
    )
    effect, conversions, value = removal_credit(
        p_conversion, p_removed, parsed.conversions.sum(), parsed.value.sum()
    )
    frame = credit_frame(parsed, conversions, value, removal_effect=effect)
    frame.attrs.update(p_conversion=p_conversion, order=order, n_states=structure.n_states)
    return frame


def markov_transition_matrix(paths: pd.DataFrame, order: int = 1) -> pd.DataFrame:
    """The trained chain as a table: ``from_state``, ``to_state``, ``count``, ``probability``.

    States are ``(start)``, ``(conversion)``, ``(null)`` and the channel states (their channels
    joined by ``" > "``, oldest first). ``probability`` is the count over the from-state's total,
    so it sums to 1 per from-state. This is the model state that a training run stores.
    """
    order = validate_order(order)
    parsed = parse_paths(paths)
    structure = MarkovStructure.build(parsed, order)
    pair_counts, conv_counts, null_counts = structure.counts(parsed.conversions, parsed.nulls)
    names = np.append(structure.state_names(), START_STATE)
    n = structure.n_states
    states = np.arange(n)
    frame = pd.DataFrame({
        "from_state": np.concatenate((names[structure.pair_from], names[states], names[states])),
        "to_state": np.concatenate((
            names[structure.pair_to], np.full(n, CONVERSION_STATE, dtype=object), np.full(n, NULL_STATE, dtype=object)
        )),
        "count": np.concatenate((pair_counts, conv_counts, null_counts)),
    })
    frame = frame[frame["count"] > 0].reset_index(drop=True)
    frame["probability"] = frame["count"] / frame.groupby("from_state")["count"].transform("sum")
    return frame.sort_values(["from_state", "to_state"], ignore_index=True)
