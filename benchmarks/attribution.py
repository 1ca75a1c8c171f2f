"""Benchmark of the multi-touch attribution library (issue 4).

Generates journeys with planted channel effects (vectorised numpy), aggregates them to distinct
paths and times:

- ``markov_attribution`` (order 1) on the 1M journeys' paths;
- exact ``shapley_attribution`` over 15 channels (1M journeys);
- ``bootstrap_credit(model="markov")`` with 200 resamples of the 1M journeys;
- ChannelAttribution's ``markov_model`` on the same paths, only when that (GPL) package happens
  to be importable: it is never a dependency. Its speed and its error against the exact credits
  are printed next to ours;
- staging -> ``fct_channel_credit`` end to end, through the hook
  :func:`staging_to_fct_channel_credit` that the pipeline integration fills in.

Run: ``.venv/bin/python benchmarks/attribution.py`` (``--help`` for sizes). Nothing is asserted on
time here; the table prints each figure next to its target.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from funnellens.attribution import (
    SEPARATOR,
    bootstrap_credit,
    markov_attribution,
    shapley_attribution,
)

CHANNELS_12 = (
    "affiliate", "direct", "display", "email", "organic_search", "paid_search",
    "paid_social", "podcast", "referral", "sms", "organic_social", "video",
)
CHANNELS_15 = (*CHANNELS_12, "print", "push", "tv")


def planted_effects(channels: Sequence[str], seed: int = 7) -> pd.Series:
    """Per-channel lift on the log-odds of converting (the truth the models should rank)."""
    rng = np.random.default_rng(seed)
    return pd.Series(np.round(rng.uniform(-0.1, 0.9, len(channels)), 2), index=list(channels))


def generate_paths(
    n_journeys: int, channels: Sequence[str], seed: int = 0, max_touches: int = 8, aggregate: bool = True
) -> pd.DataFrame:
    """Journeys with planted channel effects, as (path, conversions, nulls, value) rows.

    With ``aggregate`` the rows are the distinct paths, otherwise one row per journey.

    A journey has 1 + Geometric(0.45) touches (at most ``max_touches``), channels drawn by a fixed
    popularity; it converts with probability sigmoid(-3 + sum of the planted lifts of its
    distinct channels) and a converting journey carries a Gamma(2, 30) value.
    """
    rng = np.random.default_rng(seed)
    n_channels = len(channels)
    popularity = rng.dirichlet(np.full(n_channels, 3.0))
    lift = planted_effects(channels).to_numpy()
    lengths = np.minimum(rng.geometric(0.45, n_journeys), max_touches)
    touches = rng.choice(n_channels, size=(n_journeys, max_touches), p=popularity)
    in_path = np.arange(max_touches) < lengths[:, None]
    present = np.zeros((n_journeys, n_channels), dtype=bool)
    rows = np.broadcast_to(np.arange(n_journeys)[:, None], touches.shape)
    present[rows[in_path], touches[in_path]] = True
    converted = rng.random(n_journeys) < 1.0 / (1.0 + np.exp(3.0 - present @ lift))
    value = np.where(converted, rng.gamma(2.0, 30.0, n_journeys), 0.0)

    base = n_channels + 1  # encode a path as base-(n+1) digits, 0 = no touch
    digits = np.where(in_path, touches + 1, 0).astype(np.int64)
    keys = digits @ (base ** np.arange(max_touches, dtype=np.int64))
    if aggregate:
        unique, inverse = np.unique(keys, return_inverse=True)
    else:
        unique, inverse = keys, np.arange(n_journeys)
    conversions = np.bincount(inverse, converted, minlength=len(unique))
    journeys = np.bincount(inverse, minlength=len(unique))
    path_value = np.bincount(inverse, value, minlength=len(unique))

    unique_digits = (unique[:, None] // base ** np.arange(max_touches, dtype=np.int64)) % base
    unique_lengths = (unique_digits > 0).sum(axis=1)
    names = np.asarray(channels, dtype=object)[unique_digits[unique_digits > 0] - 1]
    offsets = np.concatenate(([0], np.cumsum(unique_lengths))).astype(np.int32)
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), pa.array(names, pa.string())),
                            SEPARATOR)
    return pd.DataFrame({
        "path": joined.to_pandas(),
        "conversions": conversions,
        "nulls": journeys - conversions,
        "value": path_value,
    })


def timed(function: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Best wall time over ``repeat`` calls, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def channel_attribution_markov(paths: pd.DataFrame) -> pd.DataFrame | None:
    """ChannelAttribution's simulated ``markov_model`` on the same paths, if it is importable."""
    try:
        from ChannelAttribution import markov_model  # GPL: optional comparison, never a dependency
    except ImportError:
        return None
    compact = paths.assign(path=paths["path"].str.replace(SEPARATOR, ">", regex=False))  # its sep is one char
    result = markov_model(compact, var_path="path", var_conv="conversions", var_value="value",
                          var_null="nulls", order=1, sep=">", verbose=0)
    if isinstance(result, dict):  # out_more=True shape in some versions
        result = result["result"]
    return result.rename(columns={"channel_name": "channel", "total_conversions": "conversions"})


def staging_journeys(n_journeys: int, channels: Sequence[str], seed: int = 0,
                     max_touches: int = 8) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Touch rows and conversions of ``n_journeys`` one-journey users, shaped like staging.

    The same planted model as :func:`generate_paths` (vectorised): a journey's touches are an
    hour apart, a converting journey converts an hour after its last touch.
    """
    rng = np.random.default_rng(seed)
    popularity = rng.dirichlet(np.full(len(channels), 3.0))
    lift = planted_effects(channels).to_numpy()
    lengths = np.minimum(rng.geometric(0.45, n_journeys), max_touches)
    journey = np.repeat(np.arange(n_journeys), lengths)
    position = np.arange(journey.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    channel = rng.choice(len(channels), size=journey.size, p=popularity)
    present = np.zeros((n_journeys, len(channels)), dtype=bool)
    present[journey, channel] = True
    converted = rng.random(n_journeys) < 1.0 / (1.0 + np.exp(3.0 - present @ lift))
    start = np.datetime64("2026-01-01T00:00:00") + rng.integers(0, 60 * 24 * 3600, n_journeys).astype("m8[s]")
    user = pd.Series(np.arange(n_journeys)).map("u{:08d}".format).to_numpy()
    names = np.asarray(channels, dtype=object)
    touches = pd.DataFrame({
        "touchpoint_id": pd.Series(np.arange(journey.size)).map("t{:09d}".format).to_numpy(),
        "user_key": user[journey],
        "touched_at": start[journey] + (position * 3600).astype("m8[s]"),
        "channel": names[channel], "campaign": names[channel] + "_campaign", "source": names[channel],
        "medium": "(none)", "utm_source": None, "utm_medium": None, "platform": None, "cost": np.nan,
    })
    conv = np.flatnonzero(converted)
    conversions = pd.DataFrame({
        "conversion_id": pd.Series(conv).map("c{:08d}".format).to_numpy(), "user_key": user[conv],
        "converted_at": start[conv] + (lengths[conv] * 3600).astype("m8[s]"),
        "conversion_type": "purchase", "value": np.round(rng.gamma(2.0, 30.0, conv.size), 2), "currency": "USD",
    })
    return touches, conversions


def _dbt(args: Sequence[str], warehouse: Path, work: Path) -> None:
    import os
    import subprocess
    import sys
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "FUNNELLENS_WAREHOUSE": str(warehouse), "DBT_TARGET": "dev", "DO_NOT_TRACK": "1"}
    dbt = Path(sys.executable).parent / "dbt"
    subprocess.run([str(dbt), *args, "--project-dir", str(root), "--profiles-dir", str(root / "profiles"),
                    "--target-path", str(work / "target"), "--log-path", str(work / "logs"), "--quiet"],
                   env=env, check=True)


def staging_to_fct_channel_credit(n_journeys: int, n_resamples: int = 200) -> float | None:
    """Wall time of staging -> ``marts.fct_channel_credit`` on ``n_journeys`` journeys (12 channels).

    Writes the journeys into a scratch warehouse's staging touchpoints/conversions, then times:
    dbt (journeys, paths), every credit model with ``n_resamples`` bootstrap resamples for the
    channel dimension plus per-conversion credit (the ``attribution_models`` asset's functions),
    the analytics writes, and dbt ``fct_channel_credit``.
    """
    import tempfile

    import duckdb

    from orchestration.defs.attribution import (
        AttributionConfig,
        Window,
        compute_conversion_credit,
        compute_credit,
        replace_period,
    )

    touches, conversions = staging_journeys(n_journeys, CHANNELS_12)
    with tempfile.TemporaryDirectory(prefix="funnellens-bench-") as tmp:
        work = Path(tmp)
        warehouse = work / "warehouse.duckdb"
        with duckdb.connect(str(warehouse)) as con:
            con.execute("create schema staging")
            con.execute("create table staging.stg_marketing__touchpoints as select * from touches")
            con.execute("create table staging.stg_marketing__conversions as select * from conversions")
        start = time.perf_counter()
        _dbt(["run", "--select", "int_attribution_journey_touches", "int_attribution_journeys"], warehouse, work)
        config = AttributionConfig(dimensions=["channel"], n_resamples=n_resamples)
        with duckdb.connect(str(warehouse)) as con:
            credit, _ = compute_credit(con, ["channel"], config, Window(None, None), "benchmark")
            per_conversion = compute_conversion_credit(con, config, Window(None, None), "benchmark")
            replace_period(con, "channel_credit", credit, "all")
            replace_period(con, "conversion_credit", per_conversion, "all")
        _dbt(["run", "--select", "fct_channel_credit"], warehouse, work)
        return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=1_000_000)
    parser.add_argument("--resamples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-bootstrap", action="store_true")
    args = parser.parse_args(argv)

    rows: list[tuple[str, str, str, str]] = []
    gen_seconds, paths12 = timed(lambda: generate_paths(args.journeys, CHANNELS_12, args.seed))
    journeys = int(paths12[["conversions", "nulls"]].to_numpy().sum())
    print(f"generated {journeys:,} journeys over 12 channels -> {len(paths12):,} distinct paths "
          f"({int(paths12['conversions'].sum()):,} conversions) in {gen_seconds:.1f} s")

    journey_rows = generate_paths(args.journeys, CHANNELS_12, args.seed, aggregate=False)
    markov_seconds, markov = timed(lambda: markov_attribution(paths12, order=1), repeat=3)
    rows.append(("markov_attribution order 1", f"{len(paths12):,} paths", f"{markov_seconds:.2f} s",
                 "3x faster than ChannelAttribution"))
    rows_seconds, _ = timed(lambda: markov_attribution(journey_rows, order=1), repeat=3)
    rows.append(("markov_attribution order 1", f"{len(journey_rows):,} rows (1 a journey)",
                 f"{rows_seconds:.2f} s", "-"))
    for order in (2, 3, 4):
        seconds, result = timed(lambda order=order: markov_attribution(paths12, order=order))
        rows.append((f"markov_attribution order {order}", f"{len(paths12):,} paths, "
                     f"{result.attrs['n_states']:,} states", f"{seconds:.2f} s", "-"))

    reference = channel_attribution_markov(paths12)
    if reference is None:
        rows.append(("ChannelAttribution markov_model", "not installed", "-", "optional comparison"))
    else:
        ca_seconds, reference = timed(lambda: channel_attribution_markov(paths12))
        merged = markov.merge(reference, on="channel", suffixes=("", "_ca"))
        error = (merged["conversions_ca"] / merged["conversions"] - 1).abs()
        rows.append(("ChannelAttribution markov_model", f"{len(paths12):,} paths", f"{ca_seconds:.2f} s",
                     f"speed-up {ca_seconds / markov_seconds:.1f}x; max |rel. error| {error.max():.1%}"))

    paths15 = generate_paths(args.journeys, CHANNELS_15, args.seed + 1)
    shapley_seconds, _ = timed(lambda: shapley_attribution(paths15, method="exact"), repeat=3)
    rows.append(("shapley_attribution exact, 15 channels", f"{len(paths15):,} paths",
                 f"{shapley_seconds:.2f} s", "< 1 s"))
    simplified_seconds, _ = timed(lambda: shapley_attribution(paths15, method="simplified"))
    rows.append(("shapley_attribution simplified, 15 ch.", f"{len(paths15):,} paths",
                 f"{simplified_seconds:.2f} s", "-"))

    if not args.skip_bootstrap:
        boot_seconds, boot = timed(
            lambda: bootstrap_credit(paths12, "markov", n_resamples=args.resamples, seed=args.seed)
        )
        rows.append((f"bootstrap_credit markov, {args.resamples} resamples", f"{journeys:,} journeys",
                     f"{boot_seconds:.1f} s", "< 60 s"))
        width = (boot["ci_high"] - boot["ci_low"]) / boot["conversions"]
        print(f"bootstrap: median relative 95% interval width {width.median():.1%}")

    hook_seconds = staging_to_fct_channel_credit(args.journeys)
    rows.append(("staging -> fct_channel_credit", f"{journeys:,} journeys",
                 "hook not wired" if hook_seconds is None else f"{hook_seconds:.1f} s", "-"))

    table = pd.DataFrame(rows, columns=["benchmark", "size", "time", "target / comparison"])
    print(table.to_string(index=False))
    print("\nMarkov order-1 credit per 1,000 exposed journeys vs the planted lifts (12 channels):")
    print(recovery_table(paths12, markov, planted_effects(CHANNELS_12)).round(4).to_string())


def recovery_table(paths: pd.DataFrame, credit: pd.DataFrame, planted: pd.Series) -> pd.DataFrame:
    """Credit per 1,000 journeys that touched the channel, next to the planted lift and its rank."""
    touches = paths.assign(channel=paths["path"].str.split(SEPARATOR)).explode("channel")
    touches = touches.reset_index().drop_duplicates(["index", "channel"])
    exposed = (touches["conversions"] + touches["nulls"]).groupby(touches["channel"]).sum()
    table = credit.set_index("channel")[["conversions", "removal_effect"]]
    table["per_1000_exposed"] = 1000 * table["conversions"] / exposed
    table["planted_lift"] = planted  # aligned on the channel index
    rho = stats.spearmanr(table["per_1000_exposed"], table["planted_lift"]).statistic
    print(f"Spearman rank correlation of credit per exposed journey with the planted lift: {rho:.2f}")
    return table.sort_values("per_1000_exposed", ascending=False)


if __name__ == "__main__":
    main()
