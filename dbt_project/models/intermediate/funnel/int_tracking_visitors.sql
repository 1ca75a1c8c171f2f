{{ config(materialized='table') }}
-- One row per visitor: first and last visit, visit counts, and the first visit's source and
-- device. "New" in a period means first_seen_at falls in it (fct_funnel_overview).
select
    visitor_key,
    min(first_seen_at) as first_seen_at,
    max(last_seen_at) as last_seen_at,
    count(*) as visits,
    sum(page_views) as page_views,
    sum(conversions) as conversions,
    sum(conversion_value) as conversion_value,
    arg_min(traffic_source, first_seen_at) as first_traffic_source,
    arg_min(traffic_medium, first_seen_at) as first_traffic_medium,
    arg_min(device_type, first_seen_at) as first_device_type
from {{ ref('int_tracking_sessions') }}
where is_visit
group by visitor_key
