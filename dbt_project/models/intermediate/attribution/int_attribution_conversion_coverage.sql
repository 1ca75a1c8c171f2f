-- Every conversion, and whether it has a journey: a conversion without any touch in its
-- lookback gets no credit in any model, and is counted here instead of silently disappearing.
with conversions as (
    select conversion_id, user_key, converted_at, conversion_type, coalesce(value, 0) as value
    from {{ ref('stg_marketing__conversions') }}
),

journeys as (
    select conversion_id, any_value(n_touches) as n_touches
    from {{ ref('int_attribution_journey_touches') }}
    where is_conversion
    group by conversion_id
)

select
    c.conversion_id,
    c.user_key,
    c.converted_at,
    c.conversion_type,
    c.value,
    coalesce(j.n_touches, 0) as n_touches,
    j.conversion_id is not null as has_journey
from conversions as c
left join journeys as j on j.conversion_id = c.conversion_id
