"""Pandera gates on the creator Python outputs (``analytics.content_type_confidence`` and
``analytics.pilot_validation``). The assets validate before they write, so a broken frame never
reaches the marts."""

from __future__ import annotations

import pandera.pandas as pa

from funnellens.pilot import VALIDATION_COLUMNS

_ZERO_ONE = pa.Check.in_range(0, 1)

CONTENT_TYPE_CONFIDENCE_SCHEMA = pa.DataFrameSchema(
    {
        "creator_id": pa.Column(str, nullable=False),
        "agency_id": pa.Column(str, nullable=False),
        "window_start": pa.Column("datetime64[us]", nullable=False, coerce=True),
        "window_end": pa.Column("datetime64[us]", nullable=False, coerce=True),
        "content_type": pa.Column(str, nullable=False),
        "view_delta": pa.Column(float, pa.Check.ge(0), coerce=True),
        "view_share": pa.Column(float, pa.Check.in_range(0, 1 + 1e-9), nullable=True, coerce=True),
        "credited_subscribers": pa.Column(float, pa.Check.ge(0), coerce=True),
        "credit_sumsq": pa.Column(float, pa.Check.ge(0), coerce=True),
        "dominant_fans": pa.Column(int, pa.Check.ge(0), coerce=True),
        "expected_subscribers": pa.Column(float, pa.Check.ge(0), nullable=True, coerce=True),
        "lift_pct": pa.Column(float, pa.Check.ge(-100), nullable=True, coerce=True),
        "pvalue": pa.Column(float, _ZERO_ONE, nullable=True, coerce=True),
        "confidence_score": pa.Column(float, _ZERO_ONE, coerce=True),
        "confidence_level": pa.Column(str, pa.Check.isin(["low", "medium", "high"])),
        "tier": pa.Column(str, pa.Check.isin(["confident", "hypothesis", "insufficient_data"])),
        "confounders": pa.Column(str, nullable=False),
    },
    checks=[
        pa.Check(lambda d: ~((d["tier"] == "confident") & (d["confounder_count"] > 0)),
                 error="a confounded row is never confident"),
        pa.Check(lambda d: ~((d["tier"] == "confident") & (d["credited_subscribers"] < 25)),
                 error="confident needs at least 25 subscriber events"),
    ],
    unique=["creator_id", "window_start", "content_type"],
    strict=False,
    name="analytics.content_type_confidence",
)

PILOT_VALIDATION_SCHEMA = pa.DataFrameSchema(
    {
        "test": pa.Column(str, pa.Check.isin(["calibration", "placebo", "lag_sensitivity"])),
        "scope": pa.Column(str),
        "metric": pa.Column(str),
        "value": pa.Column(float, nullable=True),
        "threshold": pa.Column(float),
        "comparison": pa.Column(str, pa.Check.isin([">=", "<", "<="])),
        "passed": pa.Column("boolean", nullable=True),
        "n": pa.Column("int64", pa.Check.ge(0)),
        "detail": pa.Column(str, nullable=True),
    },
    unique=["test", "scope", "metric"],
    strict=True,
    name="analytics.pilot_validation",
)
if tuple(PILOT_VALIDATION_SCHEMA.columns) != VALIDATION_COLUMNS:  # keep the gate and the library in step
    raise RuntimeError("PILOT_VALIDATION_SCHEMA and funnellens.pilot.VALIDATION_COLUMNS disagree")
