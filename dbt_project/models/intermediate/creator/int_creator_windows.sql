-- Attribution windows per creator with their baselines. One row per creator and window.
--
-- Windows: consecutive blocks of var('creator_window_hours') hours (default 168: Monday 00:00 to
-- Monday 00:00 in the agency's time zone, so a week over a DST change lasts 167 or 169 real
-- hours), anchored at the Monday 00:00 (local) on or before the creator's first observation.
-- Boundaries are counted in local wall-clock time and converted to UTC. Only complete windows
-- (ending at or before the latest post export) are kept. A window must last at least
-- var('creator_min_window_hours') hours (default 24).
--
-- Baseline: the var('creator_baseline_days') (default 14) whole local days before the window
-- starts (never overlapping it), limited to the observed period. Expected subscribers (and
-- revenue) in the window = sum over the window's local days of (share of the day in the window)
-- x (mean of the baseline days with the same weekday) when var('creator_baseline_dow_adjust') is
-- true (default), falling back to the mean of all baseline days for a weekday the lookback lacks;
-- otherwise x (mean of all baseline days). With fewer than var('creator_min_baseline_days')
-- (default 7) baseline days the window is flagged insufficient_baseline and the documented
-- default is used: the flat mean of the days there are (no weekday adjustment); with no
-- baseline day at all the expectation is NULL and nothing is tested.
{{ config(materialized='table') }}

{%- set window_hours = var('creator_window_hours', 168) | int -%}
{%- set min_window_hours = var('creator_min_window_hours', 24) | int -%}
{%- set baseline_days = var('creator_baseline_days', 14) | int -%}
{%- set min_baseline_days = var('creator_min_baseline_days', 7) | int -%}
{%- set dow_adjust = var('creator_baseline_dow_adjust', true) -%}
{%- if window_hours < min_window_hours -%}
    {{ exceptions.raise_compiler_error(
        "creator_window_hours=" ~ window_hours ~ " is below the minimum window of "
        ~ min_window_hours ~ " hours (creator_min_window_hours)") }}
{%- endif -%}
{%- if baseline_days < 1 -%}
    {{ exceptions.raise_compiler_error("creator_baseline_days must be at least 1, got " ~ baseline_days) }}
{%- endif %}

with periods as (
    select
        *,
        date_trunc('week', timezone(agency_timezone, timezone('UTC', observed_start))) as anchor_local,
        timezone(agency_timezone, timezone('UTC', observed_end)) as observed_end_local
    from {{ ref('int_creator_observed_periods') }}
),

windows_local as (
    select
        periods.creator_id,
        periods.agency_id,
        periods.agency_timezone,
        periods.anchor_local + to_hours(k.n * {{ window_hours }}) as window_start_local,
        periods.anchor_local + to_hours((k.n + 1) * {{ window_hours }}) as window_end_local
    from periods,
        lateral (
            select unnest(range(0, cast(floor(
                date_diff('hour', periods.anchor_local, periods.observed_end_local) / {{ window_hours }}
            ) as bigint))) as n
        ) as k
),

windows as (
    select
        *,
        timezone('UTC', timezone(agency_timezone, window_start_local)) as window_start,
        timezone('UTC', timezone(agency_timezone, window_end_local)) as window_end
    from windows_local
),

days as (
    select * from {{ ref('int_creator_daily_activity') }}
),

-- Baseline days: whole local days before the window's start day, within the lookback.
lookback as (
    select
        windows.creator_id,
        windows.window_start,
        days.local_date,
        days.iso_day_of_week,
        days.subscribers,
        days.revenue
    from windows
    inner join days
        on days.creator_id = windows.creator_id
        and days.local_date < cast(windows.window_start_local as date)
        and days.local_date >= cast(windows.window_start_local as date) - {{ baseline_days }}
),

baseline as (
    select
        creator_id,
        window_start,
        count(*) as baseline_days,
        min(local_date) as baseline_first_date,
        max(local_date) as baseline_last_date,
        sum(subscribers) as baseline_subscribers,
        avg(subscribers) as baseline_subscribers_per_day,
        sum(revenue) as baseline_revenue,
        avg(revenue) as baseline_revenue_per_day
    from lookback
    group by creator_id, window_start
),

baseline_by_weekday as (
    select
        creator_id,
        window_start,
        iso_day_of_week,
        avg(subscribers) as subscribers_per_day,
        avg(revenue) as revenue_per_day
    from lookback
    group by creator_id, window_start, iso_day_of_week
),

-- The local days a window covers, with the share of each day inside the window.
window_days as (
    select
        windows.creator_id,
        windows.window_start,
        cast(d.day_start as date) as local_date,
        isodow(d.day_start) as iso_day_of_week,
        date_diff(
            'second',
            greatest(windows.window_start_local, d.day_start),
            least(windows.window_end_local, d.day_start + interval 1 day)
        ) / 86400.0 as day_share
    from windows,
        lateral (
            select unnest(range(
                date_trunc('day', windows.window_start_local), windows.window_end_local, interval 1 day
            )) as day_start
        ) as d
),

expected as (
    select
        window_days.creator_id,
        window_days.window_start,
        sum(window_days.day_share) as window_days,
        sum(window_days.day_share * baseline.baseline_subscribers_per_day) as flat_subscribers,
        sum(window_days.day_share * baseline.baseline_revenue_per_day) as flat_revenue,
        sum(window_days.day_share * coalesce(weekday.subscribers_per_day, baseline.baseline_subscribers_per_day))
            as dow_subscribers,
        sum(window_days.day_share * coalesce(weekday.revenue_per_day, baseline.baseline_revenue_per_day))
            as dow_revenue
    from window_days
    left join baseline using (creator_id, window_start)
    left join baseline_by_weekday as weekday using (creator_id, window_start, iso_day_of_week)
    group by window_days.creator_id, window_days.window_start
),

observed as (
    select
        windows.creator_id,
        windows.window_start,
        count(subs.subscription_id) as subscribers
    from windows
    left join {{ ref('stg_fan_platform__subscribers') }} as subs
        on subs.creator_id = windows.creator_id
        and subs.subscribed_at >= windows.window_start
        and subs.subscribed_at < windows.window_end
    group by windows.creator_id, windows.window_start
),

observed_revenue as (
    select
        windows.creator_id,
        windows.window_start,
        coalesce(sum(rev.amount), 0) as revenue
    from windows
    left join {{ ref('stg_fan_platform__revenue_events') }} as rev
        on rev.creator_id = windows.creator_id
        and rev.occurred_at >= windows.window_start
        and rev.occurred_at < windows.window_end
    group by windows.creator_id, windows.window_start
)

select
    windows.creator_id,
    windows.agency_id,
    windows.agency_timezone,
    windows.window_start,
    windows.window_end,
    windows.window_start_local,
    windows.window_end_local,
    date_diff('second', windows.window_start, windows.window_end) / 3600.0 as window_hours,
    expected.window_days,
    coalesce(baseline.baseline_days, 0) as baseline_days,
    baseline.baseline_first_date,
    baseline.baseline_last_date,
    coalesce(baseline.baseline_subscribers, 0) as baseline_subscribers,
    baseline.baseline_subscribers_per_day,
    baseline.baseline_revenue_per_day,
    coalesce(baseline.baseline_days, 0) < {{ min_baseline_days }} as insufficient_baseline,
    case
        when coalesce(baseline.baseline_days, 0) = 0 then 'none'
        when baseline.baseline_days < {{ min_baseline_days }} then 'insufficient_flat_mean'
        {% if dow_adjust %}else 'day_of_week'{% else %}else 'flat_mean'{% endif %}
    end as baseline_method,
    case
        when coalesce(baseline.baseline_days, 0) = 0 then null
        when baseline.baseline_days < {{ min_baseline_days }} then expected.flat_subscribers
        else expected.{{ 'dow' if dow_adjust else 'flat' }}_subscribers
    end as expected_subscribers,
    case
        when coalesce(baseline.baseline_days, 0) = 0 then null
        when baseline.baseline_days < {{ min_baseline_days }} then expected.flat_revenue
        else expected.{{ 'dow' if dow_adjust else 'flat' }}_revenue
    end as expected_revenue,
    observed.subscribers,
    observed_revenue.revenue
from windows
inner join expected using (creator_id, window_start)
inner join observed using (creator_id, window_start)
inner join observed_revenue using (creator_id, window_start)
left join baseline using (creator_id, window_start)
