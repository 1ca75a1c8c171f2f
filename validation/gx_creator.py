"""Great Expectations suites for the creator marts (issue 3), registered in the shared GX registry.

Importing this module registers one suite per mart; ``orchestration/defs/creator.py`` turns
each into a blocking asset check on ``marts/<model>``. Columns mirror
``dbt_project/models/marts/creator/_creator__marts.yml`` (a test keeps them equal).
"""

from __future__ import annotations

from validation.gx_suites import Bounds, SuiteSpec, register_suite

ZERO_ONE = Bounds(min_value=0, max_value=1)
NON_NEGATIVE = Bounds(min_value=0)
TIERS = ("confident", "hypothesis", "insufficient_data")

CREATOR_MART_SPECS: tuple[SuiteSpec, ...] = (
    SuiteSpec(
        model="fct_content_type_performance",
        columns=("creator_id", "agency_id", "agency_timezone", "window_start", "window_end", "window_start_local",
                 "window_end_local", "window_hours", "lag_hours", "content_type", "view_delta", "view_share",
                 "credited_subscribers", "credit_sumsq", "link_subscribers", "weighted_subscribers",
                 "dominant_fans", "subscribers_total", "no_data_subscribers", "expected_subscribers",
                 "window_expected_subscribers", "lift_pct", "pvalue", "confidence_score", "confidence_level",
                 "tier", "significant", "confidence_reasons", "confounder_count", "confounders", "baseline_days",
                 "baseline_method", "insufficient_baseline", "posts_in_window"),
        keys=(("creator_id", "window_start", "content_type"),),
        not_null=("creator_id", "window_start", "window_end", "content_type", "tier", "confidence_score"),
        value_sets={"tier": TIERS, "confidence_level": ("low", "medium", "high"),
                    "baseline_method": ("day_of_week", "flat_mean", "insufficient_flat_mean", "none")},
        bounds={"view_share": ZERO_ONE, "pvalue": ZERO_ONE, "confidence_score": ZERO_ONE,
                "view_delta": NON_NEGATIVE, "credited_subscribers": NON_NEGATIVE, "window_hours": Bounds(23)},
    ),
    SuiteSpec(
        model="fct_fan_attribution",
        columns=("subscription_id", "fan_key", "agency_id", "creator_id", "subscribed_at", "price", "method",
                 "has_link_code", "content_type_credits", "credited_types", "dominant_content_type",
                 "dominant_credit", "dominant_confidence", "lag_hours"),
        keys=(("subscription_id",),),
        not_null=("subscription_id", "fan_key", "creator_id", "method", "dominant_confidence"),
        value_sets={"method": ("referral_link", "weighted_window", "no_data"),
                    "dominant_confidence": ("high", "medium", "low", "none")},
        bounds={"dominant_credit": Bounds(min_value=0, max_value=1, strict_min=True)},
        regex={"fan_key": r"^[0-9a-f]{64}$"},
    ),
    SuiteSpec(
        model="fct_recommendations",
        columns=("creator_id", "agency_id", "window_start", "window_end", "window_hours", "content_type", "action",
                 "reason_code", "tier", "confidence_level", "confidence_score", "lift_pct", "pvalue", "n",
                 "expected_subscribers", "credited_subscribers", "subscribers_total", "view_share", "confounders",
                 "is_confounded", "posts_in_window", "current_posts_per_week", "suggested_posts_per_week",
                 "posts_change", "posting_budget_per_week", "advice", "rationale"),
        keys=(("creator_id", "window_start", "content_type"),),
        not_null=("creator_id", "window_start", "content_type", "action", "rationale"),
        value_sets={"action": ("increase", "maintain", "decrease", "test"), "tier": TIERS},
        bounds={"suggested_posts_per_week": NON_NEGATIVE},
        min_rows=0,
    ),
    SuiteSpec(
        model="fct_creator_windows",
        columns=("creator_id", "agency_id", "agency_timezone", "window_start", "window_end", "window_start_local",
                 "window_end_local", "window_hours", "subscribers", "expected_subscribers", "subscribers_lift_pct",
                 "revenue", "expected_revenue", "baseline_days", "baseline_first_date", "baseline_last_date",
                 "baseline_method", "insufficient_baseline", "link_subscribers", "weighted_subscribers",
                 "no_data_subscribers", "confounder_count", "confounders"),
        keys=(("creator_id", "window_start"),),
        not_null=("creator_id", "window_start", "window_end", "subscribers", "baseline_method",
                  "insufficient_baseline", "confounders"),
        value_sets={"baseline_method": ("day_of_week", "flat_mean", "insufficient_flat_mean", "none")},
        bounds={"subscribers": NON_NEGATIVE, "window_hours": Bounds(23), "baseline_days": NON_NEGATIVE},
    ),
    SuiteSpec(
        model="fct_pilot_validation",
        columns=("test", "scope", "metric", "value", "threshold", "comparison", "passed", "n", "detail"),
        keys=(("test", "scope", "metric"),),
        not_null=("test", "scope", "metric", "threshold", "comparison", "n"),
        value_sets={"test": ("calibration", "placebo", "lag_sensitivity"), "comparison": (">=", "<", "<=")},
        bounds={"n": NON_NEGATIVE},
    ),
)

for _spec in CREATOR_MART_SPECS:
    register_suite(_spec, replace=True)
