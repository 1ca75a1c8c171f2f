{{ config(materialized='table') }}
-- One row per conversion event (refunds included, as negative values), with the funnel step and
-- the source and device of the visit it belongs to: the visitor's latest visit that started at
-- or before it (an ASOF join), so a refund from a server-side session keeps the source of the
-- visitor's last real visit.
with conversions as (
    select
        e.event_id,
        e.occurred_at,
        e.funnel_id,
        e.funnel_step_id as step_id,
        e.session_id,
        e.visitor_key,
        coalesce(e.conversion_type, 'custom') as conversion_type,
        coalesce(e.value_cents, 0) / 100.0 as value,
        e.product_id,
        e.quantity
    from {{ ref('stg_tracking__events') }} e
    where e.event_type = 'conversion'
),

visits as (
    select visitor_key, first_seen_at, traffic_source, traffic_medium, device_type, browser, os
    from {{ ref('int_tracking_sessions') }}
    where is_visit
)

select
    c.event_id,
    c.occurred_at,
    c.funnel_id,
    c.step_id,
    s.step_name,
    s.step_order,
    c.session_id,
    c.visitor_key,
    c.conversion_type,
    c.conversion_type = 'refund' as is_refund,
    c.value,
    greatest(c.value, 0) as revenue,
    case when c.conversion_type = 'refund' then -least(c.value, 0) else 0 end as refund_amount,
    c.product_id,
    c.quantity,
    coalesce(v.traffic_source, '(direct)') as traffic_source,
    coalesce(v.traffic_medium, '(none)') as traffic_medium,
    coalesce(v.device_type, 'other') as device_type,
    coalesce(v.browser, 'Other') as browser,
    coalesce(v.os, 'Other') as os
from conversions c
asof left join visits v
    on c.visitor_key = v.visitor_key
    and c.occurred_at >= v.first_seen_at
left join {{ ref('stg_definitions__funnel_steps') }} s
    on s.funnel_id = c.funnel_id and s.step_id = c.step_id
