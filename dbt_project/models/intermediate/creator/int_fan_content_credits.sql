-- The credit of every subscription per content type, by the method that applies:
--   referral_link    the subscription's link code is a tracking link of the same creator whose
--                    content type is known (the link's own, else its post's): credit 1 to it;
--   weighted_window  otherwise, the share of each type's view deltas in the lag
--                    (var('creator_lag_hours'), default 48 h) before the subscription;
--   no_data          no views at all in the lag: no credit row here (int_fan_attribution
--                    keeps the subscription and says 'no_data').
-- Credits of a subscription sum to 1 (or it has none). One row per subscription and type
-- with a credit > 0.
{{ config(materialized='table') }}

{%- set main_lag = var('creator_lag_hours', 48) | int %}

with links as (
    select * from {{ ref('int_subscription_links') }}
),

link_credits as (
    select
        links.subscription_id,
        links.link_content_type as content_type,
        1.0 as credit,
        cast(null as double) as lag_views,
        'referral_link' as method
    from links
    where links.link_status = 'ok'
),

window_credits as (
    select
        lag.subscription_id,
        lag.content_type,
        lag.credit,
        lag.lag_views,
        'weighted_window' as method
    from {{ ref('int_fan_lag_views') }} as lag
    where lag.lag_hours = {{ main_lag }}
      and lag.credit > 0
      and lag.subscription_id not in (select subscription_id from link_credits)
),

credits as (
    select * from link_credits
    union all
    select * from window_credits
)

select
    credits.subscription_id,
    subs.fan_key,
    subs.agency_id,
    subs.creator_id,
    subs.subscribed_at,
    credits.content_type,
    credits.method,
    credits.credit,
    credits.lag_views
from credits
inner join {{ ref('stg_fan_platform__subscribers') }} as subs using (subscription_id)
