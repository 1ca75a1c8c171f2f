-- The period each creator is observed in: from the earliest post snapshot, publish time,
-- subscription or revenue event to the latest post snapshot (views are only known up to the
-- latest export). Times in UTC, dates in the agency's time zone.
{{ config(materialized='table') }}

with creators as (
    select creator_id, agency_id, agency_timezone
    from {{ ref('stg_roster__creators') }}
),

snapshots as (
    select creator_id, min(least(snapshot_at, coalesce(published_at, snapshot_at))) as first_at,
        max(snapshot_at) as last_at
    from {{ ref('stg_social__post_snapshots') }}
    group by creator_id
),

subscriptions as (
    select creator_id, min(subscribed_at) as first_at
    from {{ ref('stg_fan_platform__subscribers') }}
    group by creator_id
),

revenue as (
    select creator_id, min(occurred_at) as first_at
    from {{ ref('stg_fan_platform__revenue_events') }}
    group by creator_id
),

periods as (
    select
        creators.creator_id,
        creators.agency_id,
        creators.agency_timezone,
        least(snapshots.first_at, coalesce(subscriptions.first_at, snapshots.first_at),
              coalesce(revenue.first_at, snapshots.first_at)) as observed_start,
        snapshots.last_at as observed_end
    from creators
    inner join snapshots using (creator_id)
    left join subscriptions using (creator_id)
    left join revenue using (creator_id)
)

select
    creator_id,
    agency_id,
    agency_timezone,
    observed_start,
    observed_end,
    cast(timezone(agency_timezone, timezone('UTC', observed_start)) as date) as observed_start_local_date,
    cast(timezone(agency_timezone, timezone('UTC', observed_end)) as date) as observed_end_local_date
from periods
