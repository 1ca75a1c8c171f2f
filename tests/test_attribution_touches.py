"""Per-conversion credit over touch rows: time decay and the heuristic models (issue 4, point 3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from funnellens.attribution import heuristic_attribution, per_conversion_credit, time_decay_credit

TOL = 1e-12
CONVERTED = pd.Timestamp("2026-03-15 12:00")


def touches(rows: list[tuple]) -> pd.DataFrame:
    """rows: (conversion_id, touch_index, channel, days before conversion, converted_at, value)."""
    return pd.DataFrame(
        [(c, i, ch, conv - pd.Timedelta(days=d), conv, v) for c, i, ch, d, conv, v in rows],
        columns=["conversion_id", "touch_index", "channel", "touched_at", "converted_at", "value"],
    )


EXAMPLE = touches([
    ("c1", 1, "email", 14, CONVERTED, 70.0),
    ("c1", 2, "paid_search", 7, CONVERTED, 70.0),
    ("c1", 3, "direct", 0, CONVERTED, 70.0),
    ("c2", 1, "display", 3, CONVERTED + pd.Timedelta(days=1), 0.0),
    ("c3", 1, "email", 10, CONVERTED, 12.0),
    ("c3", 2, "email", 2.5, CONVERTED, 12.0),
    ("c3", 3, "sms", 1, CONVERTED, 12.0),
    ("c3", 4, "direct", 0.5, CONVERTED, 12.0),
])


def test_time_decay_hand_computed():
    result = time_decay_credit(EXAMPLE, half_life_days=7.0)
    # c1: ages 14, 7, 0 days -> weights 1/4, 1/2, 1 -> 1/7, 2/7, 4/7 of the credit and of 70.
    c1 = result[result["conversion_id"] == "c1"]
    np.testing.assert_allclose(c1["credit"], [1 / 7, 2 / 7, 4 / 7], atol=TOL)
    np.testing.assert_allclose(c1["value_credit"], [10.0, 20.0, 40.0], atol=1e-10)
    c2 = result[result["conversion_id"] == "c2"]
    assert c2["credit"].tolist() == [1.0] and c2["value_credit"].tolist() == [0.0]
    c3 = result[result["conversion_id"] == "c3"]
    weights = 2.0 ** (-np.array([10, 2.5, 1, 0.5]) / 7)
    np.testing.assert_allclose(c3["credit"], weights / weights.sum(), atol=TOL)


def test_time_decay_half_life_and_alignment_with_input():
    shuffled = EXAMPLE.sample(frac=1.0, random_state=3)
    result = time_decay_credit(shuffled, half_life_days=1.0)
    assert result.index.equals(shuffled.index)
    assert result["touch_index"].tolist() == shuffled["touch_index"].tolist()
    c1 = result[result["conversion_id"] == "c1"].sort_values("touch_index")
    weights = np.array([2.0**-14, 2.0**-7, 1.0])
    np.testing.assert_allclose(c1["credit"], weights / weights.sum(), atol=TOL)
    # A tiny half-life underflows 2^(-age / h) for every touch; weights are relative to the newest.
    tiny = time_decay_credit(EXAMPLE, half_life_days=1e-6)
    np.testing.assert_allclose(tiny.groupby("conversion_id")["credit"].sum(), 1.0, atol=TOL)
    assert tiny.loc[2, "credit"] == pytest.approx(1.0)


def test_time_decay_accepts_timezone_aware_and_string_timestamps():
    aware = EXAMPLE.assign(touched_at=EXAMPLE["touched_at"].dt.tz_localize("UTC"),
                           converted_at=EXAMPLE["converted_at"].dt.tz_localize("UTC"))
    text = EXAMPLE.assign(touched_at=EXAMPLE["touched_at"].astype(str),
                          converted_at=EXAMPLE["converted_at"].astype(str))
    expected = time_decay_credit(EXAMPLE)["credit"]
    np.testing.assert_allclose(time_decay_credit(aware)["credit"], expected, atol=TOL)
    np.testing.assert_allclose(time_decay_credit(text)["credit"], expected, atol=TOL)


def test_per_conversion_credit_hand_computed():
    result = per_conversion_credit(EXAMPLE)
    assert list(result.columns) == ["conversion_id", "touch_index", "channel", "model", "credit", "value_credit"]
    assert len(result) == len(EXAMPLE) * 5
    c3 = result[result["conversion_id"] == "c3"].pivot(index="touch_index", columns="model", values="credit")
    np.testing.assert_allclose(c3["first"], [1, 0, 0, 0])
    np.testing.assert_allclose(c3["last"], [0, 0, 0, 1])
    np.testing.assert_allclose(c3["linear"], [0.25] * 4)
    np.testing.assert_allclose(c3["position"], [0.4, 0.1, 0.1, 0.4], atol=TOL)
    c1_position = result[(result["conversion_id"] == "c1") & (result["model"] == "position")]
    np.testing.assert_allclose(c1_position["value_credit"], [28.0, 14.0, 28.0], atol=1e-10)
    time_decay = result[result["model"] == "time_decay"].reset_index(drop=True)
    np.testing.assert_allclose(time_decay["credit"], time_decay_credit(EXAMPLE)["credit"], atol=TOL)


def test_per_conversion_credit_sums_per_conversion_and_model():
    rng = np.random.default_rng(9)
    rows = []
    for c in range(200):
        converted = CONVERTED + pd.Timedelta(hours=int(rng.integers(0, 500)))
        value = float(np.round(rng.uniform(0, 200), 2))
        for i in rng.permutation(int(rng.integers(1, 7))):
            rows.append((f"conv{c}", int(i), f"ch{rng.integers(0, 5)}", float(rng.uniform(0, 30)), converted, value))
    frame = touches(rows)
    result = per_conversion_credit(frame, half_life_days=3.0, position_weights=(0.3, 0.4, 0.3))
    sums = result.groupby(["conversion_id", "model"])[["credit", "value_credit"]].sum()
    np.testing.assert_allclose(sums["credit"], 1.0, atol=TOL)
    values = frame.groupby("conversion_id")["value"].first()
    np.testing.assert_allclose(sums["value_credit"], values.reindex(sums.index.get_level_values(0)), atol=1e-9)


@pytest.mark.parametrize("model", ["first", "last", "linear", "position"])
def test_per_conversion_credit_agrees_with_path_heuristics(model):
    per_touch = per_conversion_credit(EXAMPLE, models=[model])
    by_channel = per_touch.groupby("channel")[["credit", "value_credit"]].sum()
    ordered = EXAMPLE.sort_values(["conversion_id", "touch_index"])
    paths = ordered.groupby("conversion_id").agg(path=("channel", " > ".join), value=("value", "first"))
    paths = paths.assign(conversions=1, nulls=0)
    expected = heuristic_attribution(paths, model).set_index("channel")
    np.testing.assert_allclose(by_channel["credit"], expected.loc[by_channel.index, "conversions"], atol=TOL)
    np.testing.assert_allclose(by_channel["value_credit"], expected.loc[by_channel.index, "value"], atol=1e-10)


def test_heuristic_models_need_no_timestamps_or_value():
    bare = EXAMPLE[["conversion_id", "touch_index", "channel"]]
    result = per_conversion_credit(bare, models=("first", "linear"))
    assert set(result["model"]) == {"first", "linear"}
    assert (result["value_credit"] == 0).all()
    with pytest.raises(ValueError, match=r"time decay needs the timestamp column\(s\)"):
        per_conversion_credit(bare, models=("time_decay",))


def test_empty_touches_give_empty_output():
    empty = EXAMPLE.iloc[:0]
    assert len(per_conversion_credit(empty)) == 0
    assert len(time_decay_credit(empty)) == 0


@pytest.mark.parametrize(("change", "message"), [
    (lambda f: f.assign(touched_at=f["touched_at"].where(f.index != 2, CONVERTED + pd.Timedelta(hours=1))),
     r"index 2 \(conversion_id='c1', touch_index=3\): touched_at is after converted_at"),
    (lambda f: f.assign(converted_at=f["converted_at"].where(f.index != 1, CONVERTED + pd.Timedelta(days=1))),
     "converted_at differs between the touches of one conversion"),
    (lambda f: f.assign(touch_index=f["touch_index"].where(f.index != 1, 1)), "touch_index repeats"),
    (lambda f: f.assign(value=f["value"].where(f.index != 1, 71.0)), "value differs"),
    (lambda f: f.assign(value=f["value"].where(f.index != 1, np.nan)), "value is missing"),
    (lambda f: f.assign(channel=f["channel"].where(f.index != 1, None)), "channel is missing"),
    (lambda f: f.assign(touch_index=f["touch_index"].astype(object).where(f.index != 1, "x")),
     "touch_index is missing or not a number"),
    (lambda f: f.assign(touched_at=f["touched_at"].where(f.index != 1, pd.NaT)), "touched_at is missing"),
    (lambda f: f.drop(columns="channel"), r"missing the column\(s\) \['channel'\]"),
])
def test_bad_touches_are_named(change, message):
    with pytest.raises(ValueError, match=message):
        per_conversion_credit(change(EXAMPLE.copy()))


@pytest.mark.parametrize("half_life", [0, -1, float("nan"), float("inf"), "week"])
def test_bad_half_life(half_life):
    with pytest.raises(ValueError, match="half_life_days must be a positive number"):
        time_decay_credit(EXAMPLE, half_life_days=half_life)


def test_unknown_model():
    with pytest.raises(ValueError, match="unknown per-conversion model"):
        per_conversion_credit(EXAMPLE, models=("first", "u_shaped"))
