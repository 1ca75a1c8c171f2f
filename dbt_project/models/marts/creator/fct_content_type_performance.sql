-- depends_on: {{ source('analytics', 'content_type_confidence') }}
-- Content-type performance per creator, content type and window (issue 3.5): every number with
-- its window, its sample size (credited subscriber events) and its confidence.
-- Until analytics.content_type_confidence exists (a dbt-only build) the mart is empty, typed.
{%- set scored = adapter.get_relation(this.database, 'analytics', 'content_type_confidence') if execute else none %}
{%- if scored is none %}
with source as (
    select
        *,
        cast(null as double) as lift_pct,
        cast(null as double) as pvalue,
        cast(null as double) as confidence_score,
        cast(null as varchar) as confidence_level,
        cast(null as varchar) as tier,
        cast(null as boolean) as significant,
        cast(null as varchar) as confidence_reasons
    from {{ ref('int_content_type_windows') }}
    where false
)
{%- else %}
with source as (select * from {{ source('analytics', 'content_type_confidence') }})
{%- endif %}

select
    creator_id,
    agency_id,
    agency_timezone,
    window_start,
    window_end,
    window_start_local,
    window_end_local,
    window_hours,
    lag_hours,
    content_type,
    view_delta,
    view_share,
    credited_subscribers,
    credit_sumsq,
    link_subscribers,
    weighted_subscribers,
    dominant_fans,
    subscribers_total,
    no_data_subscribers,
    expected_subscribers,
    window_expected_subscribers,
    lift_pct,
    pvalue,
    confidence_score,
    confidence_level,
    tier,
    significant,
    confidence_reasons,
    confounder_count,
    confounders,
    baseline_days,
    baseline_method,
    insufficient_baseline,
    posts_in_window
from source
