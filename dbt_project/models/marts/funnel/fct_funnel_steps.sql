-- One row per funnel step, grain (day, week, month) and period. Two views of a step:
--   * step visits in the period of entry (entries, exits, drop-offs, time in step), from
--     int_funnel_step_periods;
--   * the funnel under its order mode and conversion window, by the period in which the
--     visitor's chain started (visitors_reached and the conversion rates), from int_funnel_progress.
-- Distinct counts are computed at each grain, never summed from days.
with steps as (
    select funnel_id, step_id, step_name, step_order from {{ ref('dim_funnel_steps') }}
),

reached as (
    select
        p.funnel_id,
        p.step_order,
        g.grain,
        cast(date_trunc(g.grain, p.started_at) as date) as period_start,
        count(distinct p.visitor_key) as visitors_reached
    from {{ ref('int_funnel_progress') }} p
    cross join (values ('day'), ('week'), ('month')) as g(grain)
    group by all
),

visits as (
    select * from {{ ref('int_funnel_step_periods') }}
),

keys as (
    select funnel_id, step_order, grain, period_start from reached
    union
    select funnel_id, step_order, grain, period_start from visits
),

joined as (
    select
        k.funnel_id,
        s.step_id,
        s.step_name,
        k.step_order,
        k.grain,
        k.period_start,
        coalesce(v.entries, 0) as entries,
        coalesce(v.visitors, 0) as visitors,
        coalesce(v.exits, 0) as exits,
        coalesce(v.dropoffs, 0) as dropoffs,
        coalesce(v.bounces, 0) as bounces,
        coalesce(v.closes, 0) as closes,
        coalesce(v.exits_to_next_step, 0) as exits_to_next_step,
        coalesce(v.exits_with_conversion, 0) as exits_with_conversion,
        coalesce(v.exits_unknown, 0) as exits_unknown,
        v.dropoff_rate,
        v.mean_time_in_step_s,
        v.median_time_in_step_s,
        v.cumulative_dropoffs,
        v.cumulative_dropoff_rate,
        coalesce(r.visitors_reached, 0) as visitors_reached
    from keys k
    join steps s on s.funnel_id = k.funnel_id and s.step_order = k.step_order
    left join visits v
        on v.funnel_id = k.funnel_id and v.step_order = k.step_order
        and v.grain = k.grain and v.period_start = k.period_start
    left join reached r
        on r.funnel_id = k.funnel_id and r.step_order = k.step_order
        and r.grain = k.grain and r.period_start = k.period_start
)

select
    funnel_id || ':' || step_id || ':' || grain || ':' || strftime(period_start, '%Y-%m-%d') as funnel_step_period_key,
    *,
    visitors_reached / nullif(first_value(visitors_reached) over funnel_period, 0) as conversion_from_start,
    visitors_reached / nullif(lag(visitors_reached) over funnel_period, 0) as conversion_from_previous,
    1 - visitors_reached / nullif(first_value(visitors_reached) over funnel_period, 0) as funnel_dropoff_rate
from joined
window funnel_period as (partition by funnel_id, grain, period_start order by step_order)
