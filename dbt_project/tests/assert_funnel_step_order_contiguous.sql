-- The steps of a funnel are numbered 1..n without gaps.
select funnel_id, count(*) as n_steps, min(step_order) as first_step, max(step_order) as last_step
from {{ ref('stg_definitions__funnel_steps') }}
group by funnel_id
having min(step_order) <> 1
    or max(step_order) <> count(*)
    or count(distinct step_order) <> count(*)
