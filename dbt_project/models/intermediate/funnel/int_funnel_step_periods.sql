{{ config(materialized='table') }}
-- Step-visit metrics per funnel step, grain (day, week, month) and period of entry. Every count,
-- distinct count and median is computed at its own grain (the visits are repeated once per
-- grain), never summed up from days. Feeds fct_funnel_steps and the drop-off rules.
with visits as (
    select
        v.*,
        g.grain,
        cast(date_trunc(g.grain, v.entered_at) as date) as period_start
    from {{ ref('int_funnel_step_visits') }} v
    cross join (values ('day'), ('week'), ('month')) as g(grain)
),

metrics as (
    select
        funnel_id,
        step_id,
        grain,
        period_start,
        any_value(funnel_name) as funnel_name,
        any_value(step_name) as step_name,
        any_value(step_order) as step_order,
        count(*) as entries,
        count(distinct visitor_key) as visitors,
        count(distinct session_id) as sessions,
        count(exit_outcome) as exits,
        count(*) filter (where is_dropoff) as dropoffs,
        count(*) filter (where exit_outcome = 'bounce') as bounces,
        count(*) filter (where exit_outcome = 'close') as closes,
        count(*) filter (where exit_outcome = 'next_step') as exits_to_next_step,
        count(*) filter (where exit_outcome = 'conversion') as exits_with_conversion,
        count(*) filter (where exit_outcome is null) as exits_unknown,
        avg(time_in_step_s) as mean_time_in_step_s,
        median(time_in_step_s) as median_time_in_step_s,
        median(time_in_step_s) filter (where exit_outcome = 'bounce') as median_bounce_time_s,
        median(time_in_step_s) filter (where exit_outcome = 'close') as median_close_time_s,
        count(*) filter (where device_type = 'mobile') as mobile_entries,
        count(*) filter (where device_type = 'mobile' and is_dropoff) as mobile_dropoffs,
        count(*) filter (where device_type = 'desktop') as desktop_entries,
        count(*) filter (where device_type = 'desktop' and is_dropoff) as desktop_dropoffs
    from visits
    group by funnel_id, step_id, grain, period_start
),

reason_counts as (
    select funnel_id, step_id, grain, period_start, exit_reason, count(*) as n
    from visits
    where is_dropoff and exit_reason is not null
    group by all
),

reasons as (
    select
        r.funnel_id,
        r.step_id,
        r.grain,
        r.period_start,
        list(
            struct_pack(reason := r.exit_reason, share := r.n / m.dropoffs)
            order by r.n desc, r.exit_reason
        ) as top_exit_reasons
    from reason_counts r
    join metrics m using (funnel_id, step_id, grain, period_start)
    group by all
)

select
    m.funnel_id,
    m.funnel_name,
    m.step_id,
    m.step_name,
    m.step_order,
    m.grain,
    m.period_start,
    m.entries,
    m.visitors,
    m.sessions,
    m.exits,
    m.dropoffs,
    m.bounces,
    m.closes,
    m.exits_to_next_step,
    m.exits_with_conversion,
    m.exits_unknown,
    m.dropoffs / m.entries as dropoff_rate,
    m.bounces / nullif(m.dropoffs, 0) as bounce_share,
    m.closes / nullif(m.dropoffs, 0) as close_share,
    m.mean_time_in_step_s,
    m.median_time_in_step_s,
    m.median_bounce_time_s,
    m.median_close_time_s,
    m.mobile_entries,
    m.mobile_dropoffs / nullif(m.mobile_entries, 0) as mobile_dropoff_rate,
    m.desktop_entries,
    m.desktop_dropoffs / nullif(m.desktop_entries, 0) as desktop_dropoff_rate,
    -- Drop-offs of this and every earlier step in the same period, over the first step's entries.
    sum(m.dropoffs) over cumulative as cumulative_dropoffs,
    sum(m.dropoffs) over cumulative
        / nullif(first_value(m.entries) over cumulative, 0) as cumulative_dropoff_rate,
    coalesce(r.top_exit_reasons, []) as top_exit_reasons
from metrics m
left join reasons r using (funnel_id, step_id, grain, period_start)
window cumulative as (
    partition by m.funnel_id, m.grain, m.period_start
    order by m.step_order
    rows between unbounded preceding and current row
)
