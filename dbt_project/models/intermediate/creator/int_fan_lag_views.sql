-- Weighted-window credit of every subscription at every lag: the views each of the creator's
-- content types gained in the lag (subscribed_at - lag, subscribed_at], and their share.
-- Lags: var('creator_lag_hours') (default 48, the one attribution uses) plus the lags of the
-- pilot's sensitivity test, var('creator_pilot_lag_hours') (default [24, 48, 72, 168]).
-- Views at a time t come from V(t) of int_creator_view_curve through an ASOF join.
-- Referral links are ignored here on purpose: this is the fallback method on its own, which
-- the pilot's calibration backtest compares with the links.
{{ config(materialized='table') }}

{%- set main_lag = var('creator_lag_hours', 48) | int -%}
{%- set lags = (var('creator_pilot_lag_hours', [24, 48, 72, 168]) | list) + [main_lag] -%}
{%- for lag in lags -%}
    {%- if (lag | int) <= 0 -%}
        {{ exceptions.raise_compiler_error("attribution lags must be positive hours, got " ~ lag) }}
    {%- endif -%}
{%- endfor %}

with lags as (
    select distinct unnest([{{ lags | map('int') | join(', ') }}]) as lag_hours
),

creator_types as (
    select distinct creator_id, content_type
    from {{ ref('int_creator_view_curve') }}
),

points as (
    select
        subs.subscription_id,
        subs.creator_id,
        subs.subscribed_at,
        lags.lag_hours,
        creator_types.content_type,
        subs.subscribed_at - to_hours(lags.lag_hours) as lag_start
    from {{ ref('stg_fan_platform__subscribers') }} as subs
    inner join creator_types using (creator_id)
    cross join lags
),

views_at_end as (
    select
        points.*,
        coalesce(
            curve.cum_views + curve.views_per_hour * date_diff('microsecond', curve.breakpoint_at, points.subscribed_at) / 3600000000.0,
            0
        ) as views_to_end
    from points
    asof left join {{ ref('int_creator_view_curve') }} as curve
        on curve.creator_id = points.creator_id
        and curve.content_type = points.content_type
        and points.subscribed_at >= curve.breakpoint_at
),

views_at_start as (
    select
        views_at_end.*,
        coalesce(
            curve.cum_views + curve.views_per_hour * date_diff('microsecond', curve.breakpoint_at, views_at_end.lag_start) / 3600000000.0,
            0
        ) as views_to_start
    from views_at_end
    asof left join {{ ref('int_creator_view_curve') }} as curve
        on curve.creator_id = views_at_end.creator_id
        and curve.content_type = views_at_end.content_type
        and views_at_end.lag_start >= curve.breakpoint_at
),

lag_views as (
    select
        subscription_id,
        creator_id,
        subscribed_at,
        lag_hours,
        content_type,
        -- Rounding noise of the running sums must not leave tiny negative views.
        greatest(views_to_end - views_to_start, 0) as lag_views
    from views_at_start
)

select
    subscription_id,
    creator_id,
    subscribed_at,
    lag_hours,
    content_type,
    lag_views,
    sum(lag_views) over (partition by subscription_id, lag_hours) as lag_views_total,
    case
        when sum(lag_views) over (partition by subscription_id, lag_hours) > 0
            then lag_views / sum(lag_views) over (partition by subscription_id, lag_hours)
        else 0
    end as credit
from lag_views
