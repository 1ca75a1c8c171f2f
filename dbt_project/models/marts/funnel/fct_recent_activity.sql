-- Recent activity per funnel step, relative to the newest event loaded (as_of), not the wall
-- clock, so a late batch reads the same as a live one: visitors active in the step over the
-- last 30 minutes (an entry in that span), and conversions in the last 5 minutes. The last 50
-- events are in fct_recent_events.
with as_of as (
    select max(occurred_at) as as_of from {{ ref('stg_tracking__events') }}
),

recent as (
    select e.*, a.as_of
    from {{ ref('stg_tracking__events') }} e
    cross join as_of a
    where e.occurred_at > a.as_of - interval 30 minutes and e.funnel_id is not null
),

by_step as (
    select
        funnel_id,
        funnel_step_id as step_id,
        count(distinct visitor_key) filter (where event_type = 'step_entry') as active_visitors_30m,
        count(*) filter (where event_type = 'step_entry') as entries_30m,
        count(*) filter (
            where event_type = 'conversion' and conversion_type is distinct from 'refund'
              and occurred_at > as_of - interval 5 minutes
        ) as conversions_5m,
        coalesce(sum(value_cents) filter (
            where event_type = 'conversion' and conversion_type is distinct from 'refund'
              and occurred_at > as_of - interval 5 minutes
        ), 0) / 100.0 as conversion_value_5m
    from recent
    group by all
)

select
    s.funnel_id,
    s.step_id,
    s.step_name,
    s.step_order,
    a.as_of,
    coalesce(b.active_visitors_30m, 0) as active_visitors_30m,
    coalesce(b.entries_30m, 0) as entries_30m,
    coalesce(b.conversions_5m, 0) as conversions_5m,
    coalesce(b.conversion_value_5m, 0) as conversion_value_5m
from {{ ref('dim_funnel_steps') }} s
cross join as_of a
left join by_step b on b.funnel_id = s.funnel_id and b.step_id = s.step_id
