-- One row per funnel step (funnels YAML), with its neighbours in the defined order.
select
    funnel_id || ':' || step_id as funnel_step_key,
    funnel_id,
    step_id,
    coalesce(step_name, step_id) as step_name,
    step_order,
    step_order = 1 as is_first_step,
    step_order = max(step_order) over (partition by funnel_id) as is_last_step,
    lag(step_id) over w as previous_step_id,
    lead(step_id) over w as next_step_id
from {{ ref('stg_definitions__funnel_steps') }}
window w as (partition by funnel_id order by step_order)
