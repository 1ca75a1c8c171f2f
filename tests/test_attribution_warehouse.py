"""Multi-touch attribution in the warehouse (issue 4): journeys and paths (dbt), the credit
assets (Python), the marts and their gates.

One module-scoped warehouse: hand-written raw touchpoints and conversions, `dbt build` of the
attribution models once; each journey rule has a user below that exercises it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
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
    {"conversion_id": "o2", "user_id": "u2", "converted_at": _d(40), "conversion_type": "purchase", "value": 20.0,
     "currency": "EUR"},
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


# ---------------------------------------------------------------------------------------
# The Dagster assets end to end: staging -> journeys -> credits -> marts, gates included
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Materialized:
    path: Path
    export_dir: Path
    defs: Any
    results: list[Any]


def _run(defs: Any, job: str, run_config: dict[str, Any]) -> Any:
    result = defs.resolve_job_def(job).execute_in_process(run_config=run_config, raise_on_error=False)
    failures = [e.message for e in result.all_events if e.is_failure]
    assert result.success, failures
    return result


@pytest.fixture(scope="module")
def materialized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Materialized]:
    import dagster as dg

    from orchestration.defs.attribution import attribution_definitions
    from orchestration.defs.transform import staging_definitions
    from orchestration.lib.warehouse import DuckDBWarehouse

    work = tmp_path_factory.mktemp("attribution_dagster")
    path = work / "warehouse.duckdb"
    create_raw_warehouse(path, {"touchpoints": TOUCHPOINTS, "conversions": CONVERSIONS})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FUNNELLENS_DATA_DIR", str(work / "data"))
        mp.setenv("FUNNELLENS_WAREHOUSE", str(path))
        mp.setenv("FUNNELLENS_EXPORT_DIR", str(work / "exports"))
        mp.delenv("FUNNELLENS_ENV", raising=False)
        everything = dg.define_asset_job(
            "attribution_everything", selection=dg.AssetSelection.groups("attribution"),
            executor_def=dg.in_process_executor)
        defs = dg.Definitions.merge(
            staging_definitions(), attribution_definitions(),
            dg.Definitions(jobs=[everything], resources={"warehouse": DuckDBWarehouse(path=str(path))}),
        )
        first = _run(defs, "attribution_everything",
                     {"ops": {"attribution_models": {"config": {"n_resamples": 60}}}})
        # A batch analysis over a window, with a Markov chain of order 2 that becomes active.
        window = _run(defs, "attribution_analysis_job", {"ops": {"attribution_models": {"config": {
            "window_start": "2026-03-01", "window_end": "2026-03-12", "n_resamples": 60, "markov_order": 2}}}})
        yield Materialized(path, work / "exports", defs, [first, window])


@pytest.fixture(scope="module")
def mcon(materialized: Materialized) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(materialized.path), read_only=True)
    yield connection
    connection.close()


def test_every_gate_ran_and_passed(materialized: Materialized) -> None:
    checks = {}
    for result in materialized.results:
        for evaluation in result.get_asset_check_evaluations():
            checks[(evaluation.asset_key.to_user_string(), evaluation.check_name)] = evaluation.passed
    for table in ("channel_credit", "campaign_credit", "conversion_credit", "markov_transition_matrix"):
        assert checks[(f"analytics/{table}", "pandera_gate")] is True
    for mart in ("fct_attribution_paths", "fct_channel_credit", "fct_campaign_credit", "fct_conversion_credit"):
        assert checks[(f"marts/{mart}", "gx_suite")] is True, mart
    assert all(checks.values()), {k: v for k, v in checks.items() if not v}


def test_channel_credit_has_every_model_and_sums_to_the_totals(mcon) -> None:
    rows = mcon.execute(
        "select model, sum(conversions), sum(value), any_value(total_conversions), count(*) "
        "from marts.fct_channel_credit where period = 'all' and dimension = 'channel' group by model").fetchall()
    by_model = {r[0]: r[1:] for r in rows}
    assert set(by_model) == {"first", "last", "linear", "position", "markov", "shapley", "time_decay"}
    for model, (conversions, value, total, n_channels) in by_model.items():
        assert conversions == pytest.approx(5.0, abs=1e-9), model
        assert value == pytest.approx(110.0, abs=1e-9), model
        assert total == 5.0
        assert n_channels == (3 if model == "time_decay" else 5)  # time decay: converting touches only
    # First touch by hand: o1 email, o2 paid_search, o6 email, o7a email, o7b email.
    first = dict(mcon.execute("select channel, conversions from marts.fct_channel_credit "
                              "where period = 'all' and dimension = 'channel' and model = 'first'").fetchall())
    assert first == {"affiliate": 0, "display": 0, "email": 4, "paid_search": 1, "paid_social": 0}


def test_channel_credit_matches_the_library_on_the_mart_paths(mcon) -> None:
    from funnellens.attribution import markov_attribution, shapley_attribution

    paths = mcon.execute("select path, conversions, nulls, value from marts.fct_attribution_paths "
                         "where dimension = 'channel' and transform = 'exposure'").df()
    expected = markov_attribution(paths, order=1).set_index("channel")
    got = mcon.execute("select channel, conversions, removal_effect, ci_low, ci_high from marts.fct_channel_credit "
                       "where period = 'all' and dimension = 'channel' and model = 'markov'").df().set_index("channel")
    assert got["conversions"].to_dict() == pytest.approx(expected["conversions"].to_dict(), abs=1e-12)
    assert got["removal_effect"].to_dict() == pytest.approx(expected["removal_effect"].to_dict(), abs=1e-12)
    assert (got["ci_low"] <= got["ci_high"]).all()
    with pytest.warns(Warning):
        shapley = shapley_attribution(paths).set_index("channel")
    got = mcon.execute("select channel, conversions, negative_credit from marts.fct_channel_credit "
                       "where period = 'all' and dimension = 'channel' and model = 'shapley'").df().set_index("channel")
    assert got["conversions"].to_dict() == pytest.approx(shapley["conversions"].to_dict(), abs=1e-12)
    assert got["negative_credit"].to_dict() == shapley["negative_credit"].to_dict()  # kept, flagged, not floored


def test_campaign_and_other_dimensions(mcon) -> None:
    dims = {r[0] for r in mcon.execute("select distinct dimension from marts.fct_channel_credit").fetchall()}
    assert dims == {"channel", "source_medium", "platform"}
    rows = mcon.execute("select model, sum(conversions) from marts.fct_campaign_credit where period = 'all' "
                        "group by model").fetchall()
    assert {m for m, _ in rows} == {"first", "last", "linear", "position", "markov", "shapley"}
    assert all(c == pytest.approx(5.0, abs=1e-9) for _, c in rows)


def test_conversion_credit_rows_sum_to_one_per_conversion_and_model(mcon) -> None:
    sums = mcon.execute("select model, conversion_id, sum(credit), sum(value_credit), any_value(conversion_value) "
                        "from marts.fct_conversion_credit where period = 'all' group by all").fetchall()
    assert len(sums) == 5 * 5
    for _model, _conversion, credit, value_credit, value in sums:
        assert credit == pytest.approx(1.0, abs=1e-12)
        assert value_credit == pytest.approx(value, abs=1e-9)
    # Time decay on o7b: touches 7 days and 2 days old, half-life 7 days.
    decay = dict(mcon.execute("select touch_index, credit from marts.fct_conversion_credit where period = 'all' "
                              "and model = 'time_decay' and conversion_id = 'o7b'").fetchall())
    w1, w2 = 2 ** (-7 / 7), 2 ** (-2 / 7)
    assert decay == pytest.approx({1: w1 / (w1 + w2), 2: w2 / (w1 + w2)}, abs=1e-12)


def test_batch_window_keeps_earlier_periods(mcon) -> None:
    periods = dict(mcon.execute("select period, any_value(total_conversions) from marts.fct_channel_credit "
                                "where model = 'markov' group by period").fetchall())
    # Journeys ending in [2026-03-01, 2026-03-12): o1, o7a, o7b converting (o2, o6 end later).
    assert periods == {"all": 5.0, "2026-03-01/2026-03-12": 3.0}
    params = mcon.execute("select distinct model_params from marts.fct_channel_credit where model = 'markov' "
                          "and period = '2026-03-01/2026-03-12'").fetchall()
    assert params == [('{"order": 2}',)]


def test_markov_matrix_versions_keep_history_and_one_active(mcon) -> None:
    versions = mcon.execute(
        "select version, markov_order, period, bool_and(is_active), sum(probability) "
        "from analytics.markov_transition_matrix group by all order by version").fetchall()
    assert [(v[0], v[1], v[2], v[3]) for v in versions] == [
        (1, 1, "all", True), (2, 2, "2026-03-01/2026-03-12", True)]  # different orders: both active
    per_state = mcon.execute("select version, from_state, sum(probability) from analytics.markov_transition_matrix "
                             "group by all").fetchall()
    assert all(p == pytest.approx(1.0, abs=1e-12) for *_, p in per_state)
    first = dict(mcon.execute("select to_state, probability from analytics.markov_transition_matrix "
                              "where version = 1 and from_state = '(start)'").fetchall())
    assert first == pytest.approx({"email": 4 / 9, "paid_search": 1 / 9, "affiliate": 1 / 9,
                                   "display": 2 / 9, "paid_social": 1 / 9})


def test_staging_hashes_match_the_documented_vectors(mcon) -> None:
    from funnellens.offline_conversions import hashed_email, hashed_phone, sha256_hex

    email, phone, e164 = mcon.execute(
        "select email_sha256, phone_sha256, phone_e164_sha256 from staging.stg_marketing__conversions "
        "where conversion_id = 'o1'").fetchall()[0]
    # Meta's documented vectors: John_Smith@gmail.com and the US number (650)555-1212.
    assert email == "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"
    assert phone == "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"
    assert e164 == sha256_hex("+16505551212")
    assert email == hashed_email(CONVERSIONS[0]["email"]) and phone == hashed_phone(CONVERSIONS[0]["phone"])


def test_offline_conversion_export_writes_payloads_and_sends_nothing(materialized: Materialized) -> None:
    from funnellens.offline_conversions import validate_ga4_request, validate_meta_request

    run_id = materialized.results[0].run_id
    folder = materialized.export_dir / "offline_conversions" / run_id
    meta = json.loads((folder / "meta_capi.json").read_text())["requests"]
    ga4 = [json.loads(line) for line in (folder / "ga4_mp.ndjson").read_text().splitlines()]
    assert [validate_meta_request(r) for r in meta] == [[]]
    assert all(validate_ga4_request(r) == [] for r in ga4)
    # The newest conversion is o2 (day 40): the last 7 days hold only o2.
    assert [e["event_id"] for e in meta[0]["data"]] == ["o2"]
    events = [e.materialization for e in materialized.results[0].get_asset_materialization_events()
              if e.asset_key.to_user_string() == "exports/offline_conversions"]
    assert "sending disabled" in events[0].metadata["sending"].value


# ---------------------------------------------------------------------------------------
# Acceptance on the demo journeys (issue 4): the planted channel order is recovered
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The demo generator's journeys (default seed, scale 1: 20,000 users), ingested and built."""
    from funnellens.demo.generator import generate_landing_zone
    from funnellens.ingest import ensure_raw_schema, ingest_source

    work = tmp_path_factory.mktemp("attribution_demo")
    landing = work / "landing"
    generate_landing_zone(landing, only=["touchpoints", "conversions"], plant_bad_input=False)
    truth = json.loads((landing / "_demo" / "planted_truth.json").read_text())["attribution"]
    path = work / "warehouse.duckdb"
    create_raw_warehouse(path, {})
    with duckdb.connect(str(path)) as c:
        ensure_raw_schema(c)
        for source in ("touchpoints", "conversions"):
            ingest_source(c, source, landing, load_id="demo")
    # `run`, not `build`: the dbt tests of these models run on the fixture warehouse above.
    run = run_dbt(["run", "--select", "+path:dbt_project/models/intermediate/attribution"], warehouse=path,
                  work_dir=work)
    assert run.success, {k: run.messages.get(k) for k, v in run.statuses.items() if v != "success"}
    return path, truth


@pytest.mark.scale  # ~1 min on the shared 2-core host: dbt over the demo's 27k touchpoints
def test_demo_planted_channel_order_is_recovered_by_markov_and_shapley(demo_warehouse) -> None:
    from orchestration.defs.attribution import AttributionConfig, Window, compute_credit

    path, truth = demo_warehouse
    with duckdb.connect(str(path)) as c:
        credit, notes = compute_credit(c, ["channel"], AttributionConfig(n_resamples=20), Window(None, None), "t")
        coverage = c.execute("select count(*), count(*) filter (where has_journey) "
                             "from intermediate.int_attribution_conversion_coverage").fetchall()[0]
    assert coverage == (truth["converting_users"], truth["converting_users"])
    assert credit["total_conversions"].iloc[0] == truth["converting_users"]
    assert credit["journeys"].iloc[0] == truth["users"]
    assert credit["total_value"].iloc[0] == pytest.approx(truth["conversion_value"], abs=0.01)
    for model, frame in credit.groupby("model"):
        assert frame["conversions"].sum() == pytest.approx(truth["converting_users"], rel=1e-12), model
        assert frame["value"].sum() == pytest.approx(frame["total_value"].iloc[0], rel=1e-12), model
        if model in ("markov", "shapley"):
            order = list(frame.sort_values("conversions", ascending=False)["channel"])
            assert order == truth["planted_order"], model
    # Shapley's negative credits (channels below the base rate) are kept and reported.
    negative = set(credit.loc[(credit["model"] == "shapley") & credit["negative_credit"], "channel"])
    assert negative and all(ch in truth["planted_order"][-3:] for ch in negative)
    assert any("shapley" in note for note in notes)


def test_gates_fail_on_broken_outputs(materialized: Materialized, tmp_path: Path) -> None:
    from validation.attribution_schemas import validate_analytics_table
    from validation.gx_suites import run_gx_suite

    copy = tmp_path / "broken.duckdb"
    copy.write_bytes(materialized.path.read_bytes())
    with duckdb.connect(str(copy)) as c:
        # Credits that no longer sum to the total, a NaN credit, a second active matrix version.
        c.execute("update analytics.channel_credit set conversions = conversions + 0.001 "
                  "where model = 'linear' and channel = 'email' and dimension = 'channel' and period = 'all'")
        c.execute("update analytics.campaign_credit set value = 'nan'::double where model = 'first'")
        c.execute("update analytics.markov_transition_matrix set is_active = true")
        c.execute("insert into analytics.markov_transition_matrix select * replace (version + 10 as version) "
                  "from analytics.markov_transition_matrix where version = 1")
        c.execute("update marts.fct_conversion_credit set credit = 1.5 where touch_index = 1 and model = 'first'")
        channel = validate_analytics_table(c, "channel_credit")
        campaign = validate_analytics_table(c, "campaign_credit")
        matrix = validate_analytics_table(c, "markov_transition_matrix")
        gx = run_gx_suite(c, "marts.fct_conversion_credit")
    assert not channel.passed
    assert any("sum to total_conversions" in f["check"] for f in channel.failures)
    assert not campaign.passed and any(f["column"] == "value" for f in campaign.failures)
    assert not matrix.passed and any("exactly one active version" in f["check"] for f in matrix.failures)
    assert not gx.success
