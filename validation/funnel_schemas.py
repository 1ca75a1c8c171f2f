"""Pandera gates on the funnel Python outputs (``analytics.user_agents``,
``analytics.funnel_dropoffs``, ``analytics.ab_test_results``).

The assets validate a frame before they write it, and blocking asset checks validate the written
table again, so a broken frame never reaches the marts.
"""

from __future__ import annotations

import pandera.pandas as pa

from funnellens.experiments import METRICS
from funnellens.funnel_rules import RULE_IDS
from funnellens.useragents import DEVICE_TYPES

_ZERO_ONE = pa.Check.in_range(0, 1)
_NON_NEGATIVE = pa.Check.ge(0)
GRAINS = ("day", "week", "month")
SEVERITIES = ("insufficient_data", "low", "medium", "high")

USER_AGENTS_SCHEMA = pa.DataFrameSchema(
    {
        "user_agent": pa.Column(str, nullable=False),
        "ua_hash": pa.Column(str, pa.Check.str_matches(r"^[0-9a-f]{32}$"), nullable=False),
        "device_type": pa.Column(str, pa.Check.isin(DEVICE_TYPES), nullable=False),
        "browser": pa.Column(str, nullable=False),
        "browser_version": pa.Column(str, nullable=True),
        "os": pa.Column(str, nullable=False),
    },
    unique=["user_agent"],
    strict=True,
    name="analytics.user_agents",
)


def _rule_lists_valid(frame) -> bool:  # noqa: ANN001 - a pandas DataFrame
    rule_ids = frame["rule_ids"].map(lambda v: list(v) if v is not None else [])
    texts = frame["suggestions"].map(lambda v: list(v) if v is not None else [])
    same_length = (rule_ids.map(len) == texts.map(len)).all()
    known = rule_ids.map(lambda ids: set(ids) <= set(RULE_IDS)).all()
    return bool(same_length and known)


FUNNEL_DROPOFFS_SCHEMA = pa.DataFrameSchema(
    {
        "funnel_id": pa.Column(str, nullable=False),
        "step_id": pa.Column(str, nullable=False),
        "step_order": pa.Column(int, pa.Check.ge(1), coerce=True),
        "grain": pa.Column(str, pa.Check.isin(GRAINS)),
        "period_start": pa.Column("datetime64[us]", nullable=False, coerce=True),
        "entries": pa.Column(int, pa.Check.ge(1), coerce=True),
        "dropoffs": pa.Column(int, _NON_NEGATIVE, coerce=True),
        "dropoff_rate": pa.Column(float, _ZERO_ONE, coerce=True),
        "severity": pa.Column(str, pa.Check.isin(SEVERITIES)),
    },
    checks=[
        pa.Check(lambda d: (d["dropoffs"] <= d["entries"]).all(), error="drop-offs never exceed entries"),
        pa.Check(_rule_lists_valid, error="rule_ids are known rule ids, one suggestion text each"),
        pa.Check(
            lambda d: d.loc[d["severity"] == "insufficient_data", "rule_ids"].map(len).eq(0).all(),
            error="a step with insufficient data gets no suggestion",
        ),
    ],
    unique=["funnel_id", "step_id", "grain", "period_start"],
    strict=False,
    name="analytics.funnel_dropoffs",
)

AB_TEST_RESULTS_SCHEMA = pa.DataFrameSchema(
    {
        "ab_test_id": pa.Column(str, nullable=False),
        "variant_id": pa.Column(str, nullable=False),
        "is_control": pa.Column(bool),
        "metric": pa.Column(str, pa.Check.isin(METRICS)),
        "visitors": pa.Column(int, _NON_NEGATIVE, coerce=True),
        "conversions": pa.Column(int, _NON_NEGATIVE, coerce=True),
        "conversion_rate": pa.Column(float, _ZERO_ONE, nullable=True, coerce=True),
        "pvalue": pa.Column(float, _ZERO_ONE, nullable=True, coerce=True),
        "pvalue_adjusted": pa.Column(float, _ZERO_ONE, nullable=True, coerce=True),
        "chance_to_win": pa.Column(float, pa.Check.in_range(-1e-9, 1 + 1e-9), nullable=True, coerce=True),
        "significant": pa.Column(bool),
        "srm_flagged": pa.Column(bool),
        "is_winner": pa.Column(bool),
        "winner_variant_id": pa.Column(str, nullable=True),
    },
    checks=[
        pa.Check(lambda d: (d["conversions"] <= d["visitors"]).all(), error="conversions never exceed visitors"),
        pa.Check(lambda d: ~(d["is_winner"] & d["srm_flagged"]), error="a test with a sample ratio mismatch has no winner"),
        pa.Check(
            lambda d: ~(d["is_winner"] & ~d["is_control"] & ~d["significant"]),
            error="a treatment wins only when significant after correction",
        ),
        pa.Check(
            lambda d: (d.groupby(["ab_test_id", "metric"])["is_winner"].sum() <= 1).all(),
            error="at most one winner per test and metric",
        ),
    ],
    unique=["ab_test_id", "variant_id", "metric"],
    strict=False,
    name="analytics.ab_test_results",
)
