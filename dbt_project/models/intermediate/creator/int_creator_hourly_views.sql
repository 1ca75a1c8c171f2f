-- View deltas spread over time, per creator, content type and UTC hour.
-- Each snapshot delta is spread linearly over its interval (interval_start, interval_end]: an
-- hour gets delta x (overlap of the hour with the interval) / (interval length). A delta with a
-- zero-length interval (a post first seen at its publish time) lands in the hour of the snapshot.
-- Deltas without a known interval (no publish time for the first snapshot) are not spread.
-- cum_views_before is the running total up to hour_start, so the views of any (t0, t1] are
-- V(t1) - V(t0) with V(t) = cum_views_before + views x (t - hour_start) / 1 h for the last hour
-- starting at or before t (views are taken as uniform within an hour): the window and lag
-- models evaluate V with an ASOF join, set-based, however many snapshots a window cuts.
{{ config(materialized='table') }}

with deltas as (
    select
        types.creator_id,
        types.content_type,
        deltas.interval_start,
        deltas.interval_end,
        deltas.views_delta,
        date_diff('microsecond', deltas.interval_start, deltas.interval_end) as interval_us
    from {{ ref('int_post_view_deltas') }} as deltas
    inner join {{ ref('int_post_content_types') }} as types using (platform, post_id)
    where deltas.interval_start is not null
      and deltas.views_delta > 0
),

spread as (
    select
        creator_id,
        content_type,
        hour_start,
        case
            when interval_us = 0 then views_delta
            else views_delta * date_diff(
                'microsecond',
                greatest(interval_start, hour_start),
                least(interval_end, hour_start + interval 1 hour)
            ) / interval_us
        end as views
    from deltas,
        lateral (
            select unnest(
                case
                    when interval_us = 0 then [date_trunc('hour', interval_end)]
                    else range(date_trunc('hour', interval_start), interval_end, interval 1 hour)
                end
            ) as hour_start
        )
),

hourly as (
    select creator_id, content_type, hour_start, sum(views) as views
    from spread
    group by creator_id, content_type, hour_start
)

select
    creator_id,
    content_type,
    hour_start,
    views,
    coalesce(sum(views) over (
        partition by creator_id, content_type order by hour_start
        rows between unbounded preceding and 1 preceding
    ), 0) as cum_views_before
from hourly
