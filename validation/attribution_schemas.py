"""pandera gates on the Python outputs of multi-touch attribution (issue 4.7).

- ``analytics.channel_credit`` / ``analytics.campaign_credit``: no NaN credit, one row per
  (period, dimension, transform, model, channel), and per (period, dimension, transform, model)
  the credits sum to ``total_conversions`` and the value credits to ``total_value`` within
  ``TOLERANCE`` (relative to the total, absolute below 1);
- ``analytics.conversion_credit``: per (period, model, conversion) the credits sum to 1 and the
  value credits to the conversion's value;
- ``analytics.markov_transition_matrix``: probabilities sum to 1 per (version, from_state), and
  every (dimension, transform, order) has exactly one active version.

``validate_analytics_table(con, table)`` runs the schema on the table and returns a result that
the Dagster asset checks turn into a blocking check. Failures are listed (lazy validation) with
the first offending cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

if TYPE_CHECKING:
    import duckdb

TOLERANCE = 1e-9
CREDIT_MODELS = ("first", "last", "linear", "position", "markov", "shapley")
TOUCH_MODELS = ("first", "last", "linear", "position", "time_decay")
_MAX_LISTED = 10


def _within(actual: pd.Series, expected: pd.Series) -> pd.Series:
    """|actual - expected| <= TOLERANCE * max(1, |expected|)."""
    return (actual - expected).abs() <= TOLERANCE * np.maximum(1.0, expected.abs())


def _group_sums_match(frame: pd.DataFrame, keys: list[str], column: str, total: str | None,
                      expected: float | None = None) -> pd.Series:
    """Per row: does its group's sum of ``column`` match the group's ``total`` (or ``expected``)?"""
    sums = frame.groupby(keys, dropna=False)[column].transform("sum")
    target = frame[total] if total is not None else pd.Series(expected, index=frame.index)
    return _within(sums, target)


def _credit_schema(name: str) -> pa.DataFrameSchema:
    group = ["period", "dimension", "transform", "model"]
    return pa.DataFrameSchema(
        name=name,
        columns={
            "period": pa.Column(str, nullable=False),
            "dimension": pa.Column(str, pa.Check.isin(("channel", "campaign", "source_medium", "platform"))),
            "transform": pa.Column(str, pa.Check.isin(("exposure", "unique", "first", "frequency"))),
            "model": pa.Column(str, pa.Check.isin(CREDIT_MODELS)),
            "channel": pa.Column(str, nullable=False),
            "conversions": pa.Column(float, nullable=False),
            "value": pa.Column(float, nullable=False),
            "ci_low": pa.Column(float, nullable=True),
            "ci_high": pa.Column(float, nullable=True),
            "removal_effect": pa.Column(float, pa.Check.in_range(0.0, 1.0), nullable=True),
            "total_conversions": pa.Column(float, pa.Check.gt(0), nullable=False),
            "total_value": pa.Column(float, nullable=False),
            "journeys": pa.Column(int, pa.Check.gt(0)),
        },
        checks=[
            pa.Check(lambda f: _group_sums_match(f, group, "conversions", "total_conversions"),
                     error="per (period, dimension, transform, model) the credits sum to total_conversions"),
            pa.Check(lambda f: _group_sums_match(f, group, "value", "total_value"),
                     error="per (period, dimension, transform, model) the value credits sum to total_value"),
            pa.Check(lambda f: f["ci_low"].isna() | f["ci_high"].isna() | (f["ci_low"] <= f["ci_high"]),
                     error="ci_low <= ci_high"),
            pa.Check(lambda f: (f["model"] != "markov") | f["removal_effect"].notna(),
                     error="every Markov row has a removal effect"),
        ],
        unique=[*group, "channel"],
        strict=False,
        coerce=True,
    )


CONVERSION_CREDIT_SCHEMA = pa.DataFrameSchema(
    name="analytics.conversion_credit",
    columns={
        "period": pa.Column(str, nullable=False),
        "conversion_id": pa.Column(str, nullable=False),
        "touch_index": pa.Column(int, pa.Check.ge(1)),
        "channel": pa.Column(str, nullable=False),
        "model": pa.Column(str, pa.Check.isin(TOUCH_MODELS)),
        "credit": pa.Column(float, pa.Check.in_range(-TOLERANCE, 1 + TOLERANCE), nullable=False),
        "value_credit": pa.Column(float, nullable=False),
        "conversion_value": pa.Column(float, nullable=False),
    },
    checks=[
        pa.Check(lambda f: _group_sums_match(f, ["period", "model", "conversion_id"], "credit", None, 1.0),
                 error="per (period, model, conversion) the credits sum to 1"),
        pa.Check(lambda f: _group_sums_match(f, ["period", "model", "conversion_id"], "value_credit",
                                             "conversion_value"),
                 error="per (period, model, conversion) the value credits sum to the conversion's value"),
    ],
    unique=["period", "model", "conversion_id", "touch_index"],
    strict=False,
    coerce=True,
)


def _one_active_version(frame: pd.DataFrame) -> pd.Series:
    active = frame.loc[frame["is_active"], ["dimension", "transform", "markov_order", "version"]]
    versions = active.drop_duplicates().groupby(["dimension", "transform", "markov_order"]).size()
    keys = pd.MultiIndex.from_frame(frame[["dimension", "transform", "markov_order"]])
    return pd.Series(versions.reindex(keys).fillna(0).to_numpy() == 1, index=frame.index)


TRANSITION_MATRIX_SCHEMA = pa.DataFrameSchema(
    name="analytics.markov_transition_matrix",
    columns={
        "version": pa.Column(int, pa.Check.ge(1)),
        "markov_order": pa.Column(int, pa.Check.in_range(1, 4)),
        "from_state": pa.Column(str, nullable=False),
        "to_state": pa.Column(str, nullable=False),
        "count": pa.Column(float, pa.Check.gt(0), nullable=False),
        "probability": pa.Column(float, pa.Check.in_range(0.0, 1.0), nullable=False),
        "is_active": pa.Column(bool, nullable=False),
    },
    checks=[
        pa.Check(lambda f: _group_sums_match(f, ["version", "from_state"], "probability", None, 1.0),
                 error="per (version, from_state) the transition probabilities sum to 1"),
        pa.Check(lambda f: f.groupby("version")["is_active"].transform("nunique") == 1,
                 error="a version is active or inactive as a whole"),
        pa.Check(_one_active_version,
                 error="every (dimension, transform, markov_order) has exactly one active version"),
    ],
    unique=["version", "from_state", "to_state"],
    strict=False,
    coerce=True,
)

SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "channel_credit": _credit_schema("analytics.channel_credit"),
    "campaign_credit": _credit_schema("analytics.campaign_credit"),
    "conversion_credit": CONVERSION_CREDIT_SCHEMA,
    "markov_transition_matrix": TRANSITION_MATRIX_SCHEMA,
}


@dataclass(frozen=True)
class GateResult:
    """Outcome of one pandera gate, JSON-friendly for Dagster check metadata."""

    table: str
    passed: bool
    rows: int
    failures: list[dict[str, Any]] = field(default_factory=list)

    def as_metadata(self) -> dict[str, Any]:
        return {"table": self.table, "passed": self.passed, "rows": self.rows,
                "failure_count": len(self.failures), "failures": self.failures[:_MAX_LISTED]}


def validate_frame(frame: pd.DataFrame, table: str) -> GateResult:
    """Run the schema of ``analytics.<table>`` on ``frame`` (all failures, not just the first)."""
    schema = SCHEMAS[table]
    if frame.empty:
        return GateResult(table, False, 0, [{"check": "row count", "error": f"analytics.{table} has no rows"}])
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        failures = [
            {"column": None if pd.isna(r.get("column")) else str(r.get("column")), "check": str(r.get("check")),
             "failure_case": None if pd.isna(r.get("failure_case")) else str(r.get("failure_case")),
             "index": None if pd.isna(r.get("index")) else str(r.get("index"))}
            for r in cases.head(200).to_dict("records")
        ]
        return GateResult(table, False, len(frame), failures)
    return GateResult(table, True, len(frame))


def validate_analytics_table(con: duckdb.DuckDBPyConnection, table: str) -> GateResult:
    """Read ``analytics.<table>`` and validate it (a missing table fails with that reason)."""
    if table not in SCHEMAS:
        raise ValueError(f"no pandera schema for analytics.{table}; known: {sorted(SCHEMAS)}")
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'analytics' and table_name = ?",
        [table]).fetchall()[0][0]
    if not exists:
        return GateResult(table, False, 0, [{"check": "table exists", "error": f"analytics.{table} does not exist"}])
    columns = list(SCHEMAS[table].columns) + _extra_columns(table)
    frame = con.execute(f"select {', '.join(dict.fromkeys(columns))} from analytics.{table}").df()
    return validate_frame(frame, table)


def _extra_columns(table: str) -> list[str]:
    return ["dimension", "transform"] if table == "markov_transition_matrix" else []
