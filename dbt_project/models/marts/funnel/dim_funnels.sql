-- One row per funnel definition (funnels YAML).
select
    funnel_id,
    any_value(funnel_name) as funnel_name,
    any_value(order_mode) as order_mode,
    any_value(conversion_window_days) as conversion_window_days,
    count(*) as step_count,
    arg_min(step_id, step_order) as first_step_id,
    arg_max(step_id, step_order) as last_step_id
from {{ ref('stg_definitions__funnel_steps') }}
group by funnel_id
