-- Subscribers and revenue per creator and local day (the agency's time zone), dense from the
-- creator's first observed day to the last, zeros included: the input of the baselines.
-- A creator's observed period starts at the earliest post snapshot, publish time,
-- subscription or revenue event, and ends at the latest post snapshot.
{{ config(materialized='table') }}

with creators as (
    select creator_id, agency_id, agency_timezone
    from {{ ref('stg_roster__creators') }}
),

subscriptions as (
    select
        subs.creator_id,
        cast(timezone(creators.agency_timezone, timezone('UTC', subs.subscribed_at)) as date) as local_date,
        count(*) as subscribers
    from {{ ref('stg_fan_platform__subscribers') }} as subs
    inner join creators using (creator_id)
    group by all
),

revenue as (
    select
        rev.creator_id,
        cast(timezone(creators.agency_timezone, timezone('UTC', rev.occurred_at)) as date) as local_date,
        sum(rev.amount) as revenue
    from {{ ref('stg_fan_platform__revenue_events') }} as rev
    inner join creators using (creator_id)
    group by all
),

periods as (
    select * from {{ ref('int_creator_observed_periods') }}
)

select
    periods.creator_id,
    periods.agency_id,
    periods.agency_timezone,
    cast(day.local_date as date) as local_date,
    isodow(day.local_date) as iso_day_of_week,
    coalesce(subscriptions.subscribers, 0) as subscribers,
    coalesce(revenue.revenue, 0) as revenue
from periods,
    lateral (
        select unnest(range(periods.observed_start_local_date, periods.observed_end_local_date + 1, interval 1 day))
            as local_date
    ) as day
left join subscriptions
    on subscriptions.creator_id = periods.creator_id and subscriptions.local_date = cast(day.local_date as date)
left join revenue
    on revenue.creator_id = periods.creator_id and revenue.local_date = cast(day.local_date as date)
