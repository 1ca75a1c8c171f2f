-- Time to convert between consecutive funnel steps (k-1 -> k) under the funnel's order mode,
-- per grain and period of the chain start: one value per visitor (their first chain of the
-- period that reached step k), summarised by quantiles and a histogram. For step 1 the pair is
-- (start -> step 1) and every time is 0, so it is left out.
with chains as (
    select
        p.funnel_id,
        p.step_order,
        p.visitor_key,
        g.grain,
        cast(date_trunc(g.grain, p.started_at) as date) as period_start,
        p.seconds_from_previous_step,
        p.seconds_from_start
    from {{ ref('int_funnel_progress') }} p
    cross join (values ('day'), ('week'), ('month')) as g(grain)
    where p.step_order > 1
    qualify row_number() over (
        partition by p.funnel_id, p.step_order, p.visitor_key, g.grain, date_trunc(g.grain, p.started_at)
        order by p.started_at, p.reached_at
    ) = 1
)

select
    c.funnel_id,
    prev.step_id as from_step_id,
    s.step_id as to_step_id,
    c.step_order as to_step_order,
    c.grain,
    c.period_start,
    count(*) as visitors,
    avg(c.seconds_from_previous_step) as mean_seconds,
    quantile_cont(c.seconds_from_previous_step, 0.25) as p25_seconds,
    median(c.seconds_from_previous_step) as median_seconds,
    quantile_cont(c.seconds_from_previous_step, 0.75) as p75_seconds,
    quantile_cont(c.seconds_from_previous_step, 0.90) as p90_seconds,
    min(c.seconds_from_previous_step) as min_seconds,
    max(c.seconds_from_previous_step) as max_seconds,
    median(c.seconds_from_start) as median_seconds_from_start,
    count(*) filter (where c.seconds_from_previous_step < 60) as under_1_min,
    count(*) filter (where c.seconds_from_previous_step >= 60 and c.seconds_from_previous_step < 600) as from_1_to_10_min,
    count(*) filter (where c.seconds_from_previous_step >= 600 and c.seconds_from_previous_step < 3600) as from_10_to_60_min,
    count(*) filter (where c.seconds_from_previous_step >= 3600 and c.seconds_from_previous_step < 86400) as from_1_to_24_h,
    count(*) filter (where c.seconds_from_previous_step >= 86400 and c.seconds_from_previous_step < 604800) as from_1_to_7_days,
    count(*) filter (where c.seconds_from_previous_step >= 604800) as over_7_days
from chains c
join {{ ref('dim_funnel_steps') }} s on s.funnel_id = c.funnel_id and s.step_order = c.step_order
join {{ ref('dim_funnel_steps') }} prev on prev.funnel_id = c.funnel_id and prev.step_order = c.step_order - 1
group by all
