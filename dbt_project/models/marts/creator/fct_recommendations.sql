-- depends_on: {{ source('analytics', 'recommendations') }}
-- What each creator should post, per creator, window and content type (issue 3.8), from
-- funnellens.recommendations.recommend (see its module docstring for the rules).
-- Until analytics.recommendations exists (a dbt-only build) the mart is empty, typed.
{%- set recs = adapter.get_relation(this.database, 'analytics', 'recommendations') if execute else none %}
{%- if recs is none %}
select
    cast(null as varchar) as creator_id,
    cast(null as varchar) as agency_id,
    cast(null as timestamp) as window_start,
    cast(null as timestamp) as window_end,
    cast(null as double) as window_hours,
    cast(null as varchar) as content_type,
    cast(null as varchar) as action,
    cast(null as varchar) as reason_code,
    cast(null as varchar) as tier,
    cast(null as varchar) as confidence_level,
    cast(null as double) as confidence_score,
    cast(null as double) as lift_pct,
    cast(null as double) as pvalue,
    cast(null as bigint) as n,
    cast(null as double) as expected_subscribers,
    cast(null as double) as credited_subscribers,
    cast(null as bigint) as subscribers_total,
    cast(null as double) as view_share,
    cast(null as varchar) as confounders,
    cast(null as boolean) as is_confounded,
    cast(null as bigint) as posts_in_window,
    cast(null as double) as current_posts_per_week,
    cast(null as bigint) as suggested_posts_per_week,
    cast(null as bigint) as posts_change,
    cast(null as bigint) as posting_budget_per_week,
    cast(null as varchar) as advice,
    cast(null as varchar) as rationale
where false
{%- else %}
select * from {{ source('analytics', 'recommendations') }}
{%- endif %}
