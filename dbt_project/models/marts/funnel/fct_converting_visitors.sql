-- One row per funnel and converting visitor: conversions, total value, first and last
-- conversion. Page with the stable key (funnel_id, first_conversion_at, visitor_key), e.g.
--   where (first_conversion_at, visitor_key) > (?, ?) order by first_conversion_at, visitor_key limit 100
-- visitor_key is the salted hash of the tracker's visitor id, never the id itself.
select
    funnel_id,
    visitor_key,
    count(*) as conversions,
    sum(value) as total_value,
    min(occurred_at) as first_conversion_at,
    max(occurred_at) as last_conversion_at,
    list(distinct conversion_type order by conversion_type) as conversion_types,
    row_number() over (order by funnel_id, min(occurred_at), visitor_key) as page_order
from {{ ref('int_funnel_conversions') }}
where not is_refund and funnel_id is not null
group by funnel_id, visitor_key
