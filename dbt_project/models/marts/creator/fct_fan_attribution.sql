-- One row per subscription (a fan joining a creator): the method, the credit per content type
-- (JSON), the dominant type, its credit and a confidence level for it (issue 3.4).
--   referral_link: high (ground truth); weighted_window: high when the dominant credit is
--   >= 0.7, medium >= 0.4, else low; no_data: no type, confidence 'none'.
with credits as (
    select * from {{ ref('int_fan_content_credits') }}
),

per_subscription as (
    select
        subscription_id,
        any_value(method) as method,
        count(*) as credited_types,
        first(content_type order by credit desc, content_type) as dominant_content_type,
        max(credit) as dominant_credit,
        to_json(map(list(content_type order by content_type), list(credit order by content_type)))
            as content_type_credits
    from credits
    group by subscription_id
)

select
    subs.subscription_id,
    subs.fan_key,
    subs.agency_id,
    subs.creator_id,
    subs.subscribed_at,
    subs.price,
    coalesce(per_subscription.method, 'no_data') as method,
    subs.link_code is not null as has_link_code,
    per_subscription.content_type_credits,
    per_subscription.credited_types,
    per_subscription.dominant_content_type,
    per_subscription.dominant_credit,
    case
        when per_subscription.method = 'referral_link' then 'high'
        when per_subscription.method is null then 'none'
        when per_subscription.dominant_credit >= 0.7 then 'high'
        when per_subscription.dominant_credit >= 0.4 then 'medium'
        else 'low'
    end as dominant_confidence,
    {{ var('creator_lag_hours', 48) | int }} as lag_hours
from {{ ref('stg_fan_platform__subscribers') }} as subs
left join per_subscription using (subscription_id)
