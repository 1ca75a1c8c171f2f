-- Entry and exit paths of each funnel step, per grain and period of entry: where the step
-- visits came from (the previous step, or '(direct)') and where they went (the next step,
-- '(conversion)', '(exit)' for bounce and close, '(unknown)' without an exit event).
with visits as (
    select v.*, g.grain, cast(date_trunc(g.grain, v.entered_at) as date) as period_start
    from {{ ref('int_funnel_step_visits') }} v
    cross join (values ('day'), ('week'), ('month')) as g(grain)
),

paths as (
    select funnel_id, step_id, any_value(step_order) as step_order, grain, period_start,
           'entry' as direction, entry_path as path_step_id,
           count(*) as step_visits, count(distinct visitor_key) as visitors
    from visits
    group by funnel_id, step_id, grain, period_start, entry_path
    union all
    select funnel_id, step_id, any_value(step_order) as step_order, grain, period_start,
           'exit' as direction, exit_path as path_step_id,
           count(*) as step_visits, count(distinct visitor_key) as visitors
    from visits
    group by funnel_id, step_id, grain, period_start, exit_path
)

select
    funnel_id,
    step_id,
    step_order,
    grain,
    period_start,
    direction,
    path_step_id,
    step_visits,
    visitors,
    step_visits / sum(step_visits) over (partition by funnel_id, step_id, grain, period_start, direction) as share
from paths
