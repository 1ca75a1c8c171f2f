-- The last 50 tracking events loaded (newest first), without IP addresses or user agents.
select
    row_number() over (order by occurred_at desc, event_id desc) as recency_rank,
    event_id,
    occurred_at,
    event_type,
    funnel_id,
    funnel_step_id as step_id,
    session_id,
    visitor_key,
    conversion_type,
    value_cents / 100.0 as value,
    exit_outcome
from {{ ref('stg_tracking__events') }}
order by occurred_at desc, event_id desc
limit 50
