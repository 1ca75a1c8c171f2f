"""Great Expectations suites of the funnel marts (issue 5), registered with the GX runner of
``validation/gx_suites.py``:

    from validation.gx_funnel import FUNNEL_MART_SUITES
    run_gx_suite(con, "marts.fct_funnel_steps")

The suites check columns, keys, vocabularies and ranges. Marts that may be empty on a warehouse
with no A/B test or no product sold (``fct_ab_test_results``, ``fct_top_products``) allow zero
rows; the others need one row, so a mart built before its inputs existed fails.
"""

from __future__ import annotations

from funnellens.experiments import METRICS
from funnellens.useragents import DEVICE_TYPES
from validation.gx_suites import SUITE_SPECS, Bounds, SuiteSpec, register_suite

GRAINS = ("day", "week", "month")
SEVERITIES = ("insufficient_data", "low", "medium", "high")
SHARE = Bounds(0, 1)
COUNT = Bounds(min_value=0)
PERIOD_KEYS = ("grain", "period_start")

FUNNEL_MART_SPECS: tuple[SuiteSpec, ...] = (
    SuiteSpec(
        model="dim_funnels",
        columns=("funnel_id", "funnel_name", "order_mode", "conversion_window_days", "step_count",
                 "first_step_id", "last_step_id"),
        keys=(("funnel_id",),),
        not_null=("funnel_id", "order_mode", "conversion_window_days", "step_count"),
        value_sets={"order_mode": ("sequential", "strict", "any_order")},
        bounds={"conversion_window_days": Bounds(min_value=0, strict_min=True), "step_count": Bounds(min_value=1)},
    ),
    SuiteSpec(
        model="dim_funnel_steps",
        columns=("funnel_step_key", "funnel_id", "step_id", "step_name", "step_order", "is_first_step",
                 "is_last_step", "previous_step_id", "next_step_id"),
        keys=(("funnel_step_key",), ("funnel_id", "step_order")),
        not_null=("funnel_id", "step_id", "step_name", "step_order"),
        bounds={"step_order": Bounds(min_value=1)},
    ),
    SuiteSpec(
        model="fct_funnel_steps",
        columns=("funnel_step_period_key", "funnel_id", "step_id", "step_name", "step_order", *PERIOD_KEYS,
                 "entries", "visitors", "exits", "dropoffs", "bounces", "closes", "dropoff_rate",
                 "mean_time_in_step_s", "median_time_in_step_s", "cumulative_dropoffs", "cumulative_dropoff_rate",
                 "visitors_reached", "conversion_from_start", "conversion_from_previous", "funnel_dropoff_rate"),
        keys=(("funnel_step_period_key",), ("funnel_id", "step_id", *PERIOD_KEYS)),
        not_null=("funnel_id", "step_id", "step_order", *PERIOD_KEYS, "entries", "dropoffs", "visitors_reached"),
        value_sets={"grain": GRAINS},
        bounds={"entries": COUNT, "dropoffs": COUNT, "visitors_reached": COUNT, "dropoff_rate": SHARE,
                "conversion_from_start": SHARE, "funnel_dropoff_rate": SHARE,
                "mean_time_in_step_s": COUNT, "median_time_in_step_s": COUNT},
    ),
    SuiteSpec(
        model="fct_funnel_step_paths",
        columns=("funnel_id", "step_id", "step_order", *PERIOD_KEYS, "direction", "path_step_id", "step_visits",
                 "visitors", "share"),
        keys=(("funnel_id", "step_id", *PERIOD_KEYS, "direction", "path_step_id"),),
        not_null=("funnel_id", "step_id", *PERIOD_KEYS, "direction", "path_step_id", "step_visits", "share"),
        value_sets={"grain": GRAINS, "direction": ("entry", "exit")},
        bounds={"share": SHARE, "step_visits": Bounds(min_value=1)},
    ),
    SuiteSpec(
        model="fct_funnel_time_to_convert",
        columns=("funnel_id", "from_step_id", "to_step_id", "to_step_order", *PERIOD_KEYS, "visitors",
                 "mean_seconds", "p25_seconds", "median_seconds", "p75_seconds", "p90_seconds"),
        keys=(("funnel_id", "to_step_id", *PERIOD_KEYS),),
        not_null=("funnel_id", "from_step_id", "to_step_id", *PERIOD_KEYS, "visitors"),
        value_sets={"grain": GRAINS},
        bounds={"median_seconds": COUNT, "visitors": Bounds(min_value=1)},
        min_rows=0,  # no visitor past the first step yet
    ),
    SuiteSpec(
        model="fct_funnel_overview",
        columns=("funnel_period_key", "funnel_id", *PERIOD_KEYS, "visitors_total", "visitors_unique", "visitors_new",
                 "visitors_returning", "conversions", "converting_visitors", "conversion_rate", "conversion_value",
                 "revenue_per_visitor", "revenue_per_conversion"),
        keys=(("funnel_period_key",), ("funnel_id", *PERIOD_KEYS)),
        not_null=("funnel_id", *PERIOD_KEYS, "visitors_total", "visitors_unique", "visitors_new",
                  "visitors_returning", "conversions"),
        value_sets={"grain": GRAINS},
        bounds={"visitors_new": COUNT, "visitors_returning": COUNT, "conversion_rate": COUNT},
    ),
    *(
        SuiteSpec(
            model=f"fct_funnel_step_{name}",
            columns=("funnel_id", "step_id", "step_order", *PERIOD_KEYS, "rank", column, "entries", "visitors",
                     "share", "dropoffs", "dropoff_rate"),
            keys=(("funnel_id", "step_id", *PERIOD_KEYS, "rank"), ("funnel_id", "step_id", *PERIOD_KEYS, column)),
            not_null=("funnel_id", "step_id", *PERIOD_KEYS, "rank", column, "entries", "share"),
            value_sets={"grain": GRAINS, **({"device_type": DEVICE_TYPES} if column == "device_type" else {})},
            bounds={"rank": Bounds(1, 10), "share": SHARE, "dropoff_rate": SHARE},
        )
        for name, column in (("sources", "traffic_source"), ("devices", "device_type"), ("browsers", "browser"))
    ),
    SuiteSpec(
        model="fct_funnel_conversions",
        columns=("funnel_id", "conversion_type", "step_id", "step_order", *PERIOD_KEYS, "conversions",
                 "converting_visitors", "conversion_value"),
        keys=(("funnel_id", "conversion_type", "step_id", *PERIOD_KEYS),),
        not_null=("funnel_id", "conversion_type", "step_id", *PERIOD_KEYS, "conversions"),
        value_sets={"grain": GRAINS, "conversion_type": ("form_submit", "purchase", "signup", "custom")},
        bounds={"conversions": Bounds(min_value=1)},
        min_rows=0,
    ),
    SuiteSpec(
        model="fct_converting_visitors",
        columns=("funnel_id", "visitor_key", "conversions", "total_value", "first_conversion_at",
                 "last_conversion_at", "conversion_types", "page_order"),
        keys=(("funnel_id", "visitor_key"), ("page_order",)),
        not_null=("funnel_id", "visitor_key", "conversions", "first_conversion_at", "last_conversion_at",
                  "page_order"),
        bounds={"conversions": Bounds(min_value=1)},
        regex={"visitor_key": r"^[0-9a-f]{64}$"},
        min_rows=0,
    ),
    SuiteSpec(
        model="fct_funnel_dropoffs",
        columns=("funnel_step_period_key", "funnel_id", "step_id", "step_name", "step_order", *PERIOD_KEYS,
                 "entries", "dropoffs", "dropoff_rate", "bounce_share", "close_share", "top_exit_reasons",
                 "severity", "rule_ids", "suggestions"),
        keys=(("funnel_step_period_key",),),
        not_null=("funnel_id", "step_id", *PERIOD_KEYS, "entries", "dropoffs", "dropoff_rate", "severity"),
        value_sets={"grain": GRAINS, "severity": SEVERITIES},
        bounds={"dropoff_rate": SHARE, "bounce_share": SHARE, "close_share": SHARE, "entries": Bounds(min_value=1)},
    ),
    SuiteSpec(
        model="fct_funnel_revenue",
        columns=("funnel_period_key", "funnel_id", *PERIOD_KEYS, "revenue", "refunds", "net_revenue", "refund_rate",
                 "conversions", "refund_count", "visitors", "revenue_per_visitor", "revenue_per_conversion"),
        keys=(("funnel_period_key",), ("funnel_id", *PERIOD_KEYS)),
        not_null=("funnel_id", *PERIOD_KEYS, "revenue", "refunds", "net_revenue", "conversions", "visitors"),
        value_sets={"grain": GRAINS},
        bounds={"revenue": COUNT, "refunds": COUNT, "conversions": COUNT, "visitors": COUNT},
    ),
    SuiteSpec(
        model="fct_funnel_revenue_breakdown",
        columns=("funnel_id", *PERIOD_KEYS, "dimension", "dimension_value", "revenue", "refunds", "net_revenue",
                 "refund_rate", "conversions", "refund_count", "visitors", "revenue_per_visitor",
                 "revenue_per_conversion"),
        keys=(("funnel_id", *PERIOD_KEYS, "dimension", "dimension_value"),),
        not_null=("funnel_id", *PERIOD_KEYS, "dimension", "dimension_value", "revenue", "refunds", "net_revenue"),
        value_sets={"grain": GRAINS, "dimension": ("source", "step")},
        bounds={"revenue": COUNT, "refunds": COUNT},
        min_rows=0,
    ),
    SuiteSpec(
        model="fct_top_products",
        columns=("funnel_id", *PERIOD_KEYS, "rank", "product_id", "units", "orders", "revenue", "refunds",
                 "refund_rate", "net_revenue", "revenue_share"),
        keys=(("funnel_id", *PERIOD_KEYS, "rank"), ("funnel_id", *PERIOD_KEYS, "product_id")),
        not_null=("funnel_id", *PERIOD_KEYS, "rank", "product_id", "units", "revenue"),
        value_sets={"grain": GRAINS},
        bounds={"rank": Bounds(1, 20), "units": COUNT, "revenue": COUNT, "refunds": COUNT},
        min_rows=0,
    ),
    SuiteSpec(
        model="fct_visitor_journeys",
        columns=("visitor_key", "first_seen_at", "last_seen_at", "sessions", "page_views", "conversions",
                 "conversion_value", "time_spent_s", "visits"),
        keys=(("visitor_key",),),
        not_null=("visitor_key", "first_seen_at", "last_seen_at", "sessions", "time_spent_s"),
        bounds={"sessions": Bounds(min_value=1), "time_spent_s": COUNT, "page_views": COUNT},
        regex={"visitor_key": r"^[0-9a-f]{64}$"},
    ),
    SuiteSpec(
        model="fct_recent_activity",
        columns=("funnel_id", "step_id", "step_name", "step_order", "as_of", "active_visitors_30m", "entries_30m",
                 "conversions_5m", "conversion_value_5m"),
        keys=(("funnel_id", "step_id"),),
        not_null=("funnel_id", "step_id", "as_of", "active_visitors_30m", "entries_30m", "conversions_5m"),
        bounds={"active_visitors_30m": COUNT, "entries_30m": COUNT, "conversions_5m": COUNT},
    ),
    SuiteSpec(
        model="fct_recent_events",
        columns=("recency_rank", "event_id", "occurred_at", "event_type", "funnel_id", "step_id", "session_id",
                 "visitor_key", "conversion_type", "value", "exit_outcome"),
        keys=(("recency_rank",), ("event_id",)),
        not_null=("recency_rank", "event_id", "occurred_at", "event_type", "visitor_key"),
        bounds={"recency_rank": Bounds(1, 50)},
    ),
    SuiteSpec(
        model="fct_ab_test_results",
        columns=("ab_test_result_key", "ab_test_id", "variant_id", "is_control", "metric", "visitors", "conversions",
                 "conversion_rate", "revenue", "revenue_per_visitor", "improvement_pct", "pvalue", "pvalue_adjusted",
                 "ci_low", "ci_high", "chance_to_win", "significant", "srm_flagged", "is_winner",
                 "winner_variant_id"),
        keys=(("ab_test_result_key",), ("ab_test_id", "variant_id", "metric")),
        not_null=("ab_test_id", "variant_id", "is_control", "metric", "visitors", "conversions", "significant",
                  "is_winner"),
        value_sets={"metric": METRICS},
        bounds={"conversion_rate": SHARE, "pvalue": SHARE, "pvalue_adjusted": SHARE, "chance_to_win": SHARE,
                "visitors": COUNT},
        min_rows=0,  # no A/B test running is normal
    ),
)

FUNNEL_MART_SUITES: tuple[str, ...] = tuple(spec.model for spec in FUNNEL_MART_SPECS)
"""Mart names with a registered suite (one blocking Dagster asset check each)."""

for _spec in FUNNEL_MART_SPECS:
    if _spec.model not in SUITE_SPECS:
        register_suite(_spec)
