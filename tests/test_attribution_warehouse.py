"""Multi-touch attribution in the warehouse (issue 4): journeys and paths (dbt), the credit
assets (Python), the marts and their gates.

One module-scoped warehouse: hand-written raw touchpoints and conversions, `dbt build` of the
attribution models once; each journey rule has a user below that exercises it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from test_dbt_staging import create_raw_warehouse, run_dbt

T0 = datetime(2026, 3, 2, 9, 0, 0)


def _d(days: float) -> datetime:
    return T0 + timedelta(days=days)


def _touch(tid: str, user: str, at: datetime, channel: str, campaign: str | None = None,
           source: str | None = None, medium: str | None = None, platform: str | None = None) -> dict[str, Any]:
    return {"touchpoint_id": tid, "user_id": user, "touched_at": at, "channel": channel, "campaign": campaign,
            "source": source, "medium": medium, "platform": platform}


TOUCHPOINTS = [
    # u1: email, email, paid_search -> converts (o1); a later display touch is a null journey.
    _touch("a1", "u1", _d(0), "Email", "News > Letter", "newsletter", "email"),
    _touch("a2", "u1", _d(1), "email", "News > Letter", "newsletter", "email"),
    _touch("a3", "u1", _d(2), "paid_search", "brand", "google", "cpc", "google"),
    _touch("a4", "u1", _d(5), "display", "banners", "google", "display", "google"),
    # u2: b0 is 40 days before the conversion, outside the 30-day lookback.
    _touch("b0", "u2", _d(0), "display"),
    _touch("b1", "u2", _d(35), "paid_search"),
    _touch("b2", "u2", _d(38), "email"),
    _touch("b3", "u2", _d(39), "paid_search"),
    # u3 never converts: a null journey with a repeat.
    _touch("c1", "u3", _d(1), "affiliate"),
    _touch("c2", "u3", _d(2), "affiliate"),
    # u4 never converts: e1 is 50 days before the last touch, outside the lookback.
    _touch("e1", "u4", _d(0), "email"),
    _touch("e2", "u4", _d(50), "display"),
    # u6: f2 is at the conversion instant, so not strictly before it: it is a null journey.
    _touch("f1", "u6", _d(10), "email"),
    _touch("f2", "u6", _d(12), "paid_social"),
    # u7 converts twice: each conversion takes the touches before it (g1 is in both).
    _touch("g1", "u7", _d(1), "email"),
    _touch("g2", "u7", _d(6), "display"),
]
CONVERSIONS = [
    {"conversion_id": "o1", "user_id": "u1", "converted_at": _d(3), "conversion_type": "purchase", "value": 50.0,
     "currency": "usd", "email": " John_Smith@gmail.com ", "phone": "+1 (650) 555-1212"},
    {"conversion_id": "o2", "user_id": "u2", "converted_at": _d(40), "conversion_type": "purchase", "value": 20.0},
    # u5 converts without any touch: no journey, counted in the coverage model.
    {"conversion_id": "o5", "user_id": "u5", "converted_at": _d(4), "conversion_type": "signup"},
    {"conversion_id": "o6", "user_id": "u6", "converted_at": _d(12), "conversion_type": "signup"},
    {"conversion_id": "o7a", "user_id": "u7", "converted_at": _d(5), "conversion_type": "purchase", "value": 10.0},
    {"conversion_id": "o7b", "user_id": "u7", "converted_at": _d(8), "conversion_type": "purchase", "value": 30.0},
]

PATH_MODELS = "+path:dbt_project/models/intermediate/attribution +fct_attribution_paths"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("attribution")
    path = work / "warehouse.duckdb"
    create_raw_warehouse(path, {"touchpoints": TOUCHPOINTS, "conversions": CONVERSIONS})
    run = run_dbt(["build", "--select", *PATH_MODELS.split()], warehouse=path, work_dir=work)
    assert run.exception is None, run.exception
    failed = {k: run.messages.get(k) for k, v in run.statuses.items() if v not in ("success", "pass")}
    assert run.success and not failed, failed
    return path


@pytest.fixture(scope="module")
def con(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(warehouse), read_only=True)
    yield connection
    connection.close()


def _paths(con: duckdb.DuckDBPyConnection, dimension: str, transform: str) -> dict[str, tuple[int, int, float]]:
    rows = con.execute(
        "select path, conversions, nulls, value from marts.fct_attribution_paths "
        "where dimension = ? and transform = ?", [dimension, transform]).fetchall()
    return {p: (int(c), int(n), float(v)) for p, c, n, v in rows}


# ---------------------------------------------------------------------------------------
# Journeys and paths (issue 4.1)
# ---------------------------------------------------------------------------------------
def test_converting_journeys_take_touches_strictly_before_within_the_lookback(con) -> None:
    rows = con.execute(
        "select conversion_id, list(touchpoint_id order by touch_index) from "
        "intermediate.int_attribution_journey_touches where is_conversion group by 1").fetchall()
    assert dict(rows) == {
        "o1": ["a1", "a2", "a3"],
        "o2": ["b1", "b2", "b3"],  # b0 is 40 days old
        "o6": ["f1"],  # f2 is at the conversion instant
        "o7a": ["g1"],
        "o7b": ["g1", "g2"],
    }


def test_null_journeys_are_the_touches_no_conversion_follows(con) -> None:
    rows = con.execute(
        "select list(touchpoint_id order by touch_index) from intermediate.int_attribution_journey_touches "
        "where not is_conversion group by journey_id").fetchall()
    assert sorted(r[0] for r in rows) == [["a4"], ["c1", "c2"], ["e2"], ["f2"]]


def test_exposure_is_the_default_and_collapses_consecutive_repeats(con) -> None:
    assert _paths(con, "channel", "exposure") == {
        "email > paid_search": (1, 0, 50.0),
        "paid_search > email > paid_search": (1, 0, 20.0),
        "email": (2, 0, 10.0),  # o6 (no value) and o7a
        "email > display": (1, 0, 30.0),
        "affiliate": (0, 1, 0.0),
        "display": (0, 2, 0.0),
        "paid_social": (0, 1, 0.0),
    }


def test_unique_first_and_frequency_transforms(con) -> None:
    unique = _paths(con, "channel", "unique")
    assert unique["email > email > paid_search"] == (1, 0, 50.0)
    assert unique["affiliate > affiliate"] == (0, 1, 0.0)
    first = _paths(con, "channel", "first")
    assert first["paid_search > email"] == (1, 0, 20.0)
    frequency = _paths(con, "channel", "frequency")
    assert frequency["paid_search(2) > email(1)"] == (1, 0, 20.0)
    assert frequency["email(2) > paid_search(1)"] == (1, 0, 50.0)


def test_other_dimensions_and_safe_labels(con) -> None:
    campaign = _paths(con, "campaign", "exposure")
    assert campaign["News Letter > brand"] == (1, 0, 50.0)  # '>' inside a name never splits a path
    assert campaign["(none)"][0] == 4
    source_medium = _paths(con, "source_medium", "exposure")
    assert source_medium["newsletter / email > google / cpc"] == (1, 0, 50.0)
    platform = _paths(con, "platform", "exposure")
    assert platform["(none) > google"] == (1, 0, 50.0)


def test_every_transform_keeps_the_journey_totals(con) -> None:
    totals = con.execute(
        "select dimension, transform, sum(conversions), sum(nulls), sum(value) "
        "from marts.fct_attribution_paths group by all").fetchall()
    assert len(totals) == 16
    assert {tuple(t[2:]) for t in totals} == {(5, 4, 110.0)}


def test_conversions_without_touches_are_counted_not_dropped(con) -> None:
    rows = dict(con.execute(
        "select conversion_id, has_journey from intermediate.int_attribution_conversion_coverage").fetchall())
    assert rows == {"o1": True, "o2": True, "o5": False, "o6": True, "o7a": True, "o7b": True}


def test_lookback_and_last_n_are_dbt_vars(warehouse: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(warehouse.read_bytes())
    run = run_dbt(["run", "--select", "int_attribution_journey_touches",
                   "--vars", "{attribution_lookback_days: 45, attribution_max_touches: 2}"],
                  warehouse=copy, work_dir=tmp_path)
    assert run.success, run.messages
    with duckdb.connect(str(copy), read_only=True) as c:
        rows = dict(c.execute(
            "select coalesce(conversion_id, journey_id), list(touchpoint_id order by touch_index) "
            "from intermediate.int_attribution_journey_touches group by all").fetchall())
    assert rows["o2"] == ["b2", "b3"]  # b0 is now in the lookback, but only the last 2 touches stay
    assert rows["o1"] == ["a2", "a3"]

    bad = run_dbt(["run", "--select", "int_attribution_journey_touches",
                   "--vars", "{attribution_lookback_days: -1}"], warehouse=copy, work_dir=tmp_path)
    assert not bad.success
    assert "attribution_lookback_days" in str(bad.exception or bad.messages)
