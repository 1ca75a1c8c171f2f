"""Great Expectations suites of the attribution marts (issue 4.7), registered with the GX
runner of ``validation/gx_suites.py``:

    from validation.gx_attribution import ATTRIBUTION_MART_SUITES
    run_gx_suite(con, "marts.fct_channel_credit")

The suites check columns, keys, vocabularies, ranges and a minimum of one row (so a mart built
empty before its analytics table existed fails). That credits sum to their totals within 1e-9
is the pandera gate on the analytics tables the marts copy (``validation/attribution_schemas.py``).
"""

from __future__ import annotations

from validation.gx_suites import SUITE_SPECS, Bounds, SuiteSpec, register_suite

CREDIT_COLUMNS = (
    "period", "window_start", "window_end", "transform", "model", "model_params", "conversions", "value",
    "ci_low", "ci_high", "value_ci_low", "value_ci_high", "removal_effect", "negative_credit",
    "total_conversions", "total_value", "journeys", "n_resamples", "ci_level", "computed_at", "conversion_share",
)
HEURISTIC_AND_FITTED = ("first", "last", "linear", "position", "markov", "shapley")

ATTRIBUTION_MART_SPECS = (
    SuiteSpec(
        model="fct_attribution_paths",
        columns=("dimension", "transform", "path", "path_length", "conversions", "nulls", "value"),
        keys=(("dimension", "transform", "path"),),
        not_null=("dimension", "transform", "path", "path_length", "conversions", "nulls", "value"),
        value_sets={"dimension": ("channel", "campaign", "source_medium", "platform"),
                    "transform": ("exposure", "unique", "first", "frequency")},
        bounds={"conversions": Bounds(min_value=0), "nulls": Bounds(min_value=0), "path_length": Bounds(min_value=1)},
        regex={"path": r"^\S(.*\S)?$"},
    ),
    SuiteSpec(
        model="fct_channel_credit",
        columns=("dimension", "channel", *CREDIT_COLUMNS),
        keys=(("period", "dimension", "transform", "model", "channel"),),
        not_null=("period", "dimension", "transform", "model", "channel", "conversions", "value",
                  "total_conversions"),
        value_sets={"model": (*HEURISTIC_AND_FITTED, "time_decay"),
                    "dimension": ("channel", "source_medium", "platform")},
        bounds={"removal_effect": Bounds(0, 1), "total_conversions": Bounds(min_value=0, strict_min=True),
                "ci_level": Bounds(0, 1, strict_min=True, strict_max=True)},
    ),
    SuiteSpec(
        model="fct_campaign_credit",
        columns=("campaign", *CREDIT_COLUMNS),
        keys=(("period", "transform", "model", "campaign"),),
        not_null=("period", "transform", "model", "campaign", "conversions", "value", "total_conversions"),
        value_sets={"model": HEURISTIC_AND_FITTED},
        bounds={"removal_effect": Bounds(0, 1), "total_conversions": Bounds(min_value=0, strict_min=True)},
    ),
    SuiteSpec(
        model="fct_conversion_credit",
        columns=("period", "conversion_id", "touch_index", "touchpoint_id", "channel", "campaign", "touched_at",
                 "converted_at", "days_before_conversion", "conversion_value", "model", "credit", "value_credit",
                 "half_life_days", "computed_at"),
        keys=(("period", "model", "conversion_id", "touch_index"),),
        not_null=("period", "conversion_id", "touch_index", "touchpoint_id", "channel", "model", "credit",
                  "value_credit"),
        value_sets={"model": ("first", "last", "linear", "position", "time_decay")},
        bounds={"credit": Bounds(0, 1), "touch_index": Bounds(min_value=1),
                "days_before_conversion": Bounds(min_value=0, strict_min=True)},
    ),
)

ATTRIBUTION_MART_SUITES = tuple(spec.model for spec in ATTRIBUTION_MART_SPECS)

for _spec in ATTRIBUTION_MART_SPECS:
    if _spec.model not in SUITE_SPECS:  # importing twice (e.g. a reload) keeps one registration
        register_suite(_spec)
