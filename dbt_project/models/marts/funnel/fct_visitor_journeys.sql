-- One row per visitor: first and last seen, visits, page views, conversions, time spent, and the
-- visits in order, each with its events in order (LIST of STRUCTs). Built from the staging
-- events, so an erasure that removes a visitor's events from staging removes the journey too.
-- time_spent_s adds up the visits' durations (first to last event of each visit).
with events as (
    select
        e.session_id,
        e.visitor_key,
        e.occurred_at,
        e.event_type,
        e.funnel_id,
        e.funnel_step_id,
        e.conversion_type,
        e.value_cents
    from {{ ref('stg_tracking__events') }} e
),

visits as (
    select
        s.visitor_key,
        s.session_id,
        s.first_seen_at,
        s.last_seen_at,
        s.duration_s,
        s.page_views,
        s.conversions,
        s.conversion_value,
        s.traffic_source,
        s.device_type,
        list(
            struct_pack(
                occurred_at := e.occurred_at,
                event_type := e.event_type,
                funnel_id := e.funnel_id,
                step_id := e.funnel_step_id,
                conversion_type := e.conversion_type,
                value := e.value_cents / 100.0
            )
            order by e.occurred_at, e.event_type
        ) as events
    from {{ ref('int_tracking_sessions') }} s
    join events e on e.session_id = s.session_id
    group by all
)

select
    visitor_key,
    min(first_seen_at) as first_seen_at,
    max(last_seen_at) as last_seen_at,
    count(*) as sessions,
    sum(page_views) as page_views,
    sum(conversions) as conversions,
    sum(conversion_value) as conversion_value,
    sum(duration_s) as time_spent_s,
    list(
        struct_pack(
            session_id := session_id,
            started_at := first_seen_at,
            ended_at := last_seen_at,
            traffic_source := traffic_source,
            device_type := device_type,
            events := events
        )
        order by first_seen_at, session_id
    ) as visits
from visits
group by visitor_key
