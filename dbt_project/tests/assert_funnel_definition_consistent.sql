-- Funnel-level settings repeated on each step row agree within a funnel.
select funnel_id
from {{ ref('stg_definitions__funnel_steps') }}
group by funnel_id
having count(distinct order_mode) > 1
    or count(distinct conversion_window_days) > 1
    or count(distinct funnel_name) > 1
