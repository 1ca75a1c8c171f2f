-- The cumulative view curve V(t) of every creator and content type, exact for linear spreading.
-- Each snapshot delta over (interval_start, interval_end] is spread linearly: it adds a constant
-- rate delta / length on that interval; a zero-length interval (a post first seen at its publish
-- time) adds a jump at interval_end. Summing the rate changes at every breakpoint gives a
-- piecewise-linear curve, stored at its breakpoints only:
--   V(t) = cum_views + views_per_hour * (t - breakpoint_at) / 1 h   for the last breakpoint_at <= t.
-- Views of any (a, b] are V(b) - V(a); windows and lags evaluate V with an ASOF join. The table
-- has one row per distinct snapshot or publish time of a creator and type, not one per post.
{{ config(materialized='table') }}

with deltas as (
    select
        types.creator_id,
        types.content_type,
        deltas.interval_start,
        deltas.interval_end,
        cast(deltas.views_delta as double) as views_delta,
        date_diff('microsecond', deltas.interval_start, deltas.interval_end) / 3600000000.0 as hours
    from {{ ref('int_post_view_deltas') }} as deltas
    inner join {{ ref('int_post_content_types') }} as types using (platform, post_id)
    where deltas.interval_start is not null
      and deltas.views_delta > 0
),

events as (
    select creator_id, content_type, interval_start as breakpoint_at, views_delta / hours as rate_change, 0.0 as jump
    from deltas where hours > 0
    union all
    select creator_id, content_type, interval_end as breakpoint_at, -views_delta / hours as rate_change, 0.0 as jump
    from deltas where hours > 0
    union all
    select creator_id, content_type, interval_end as breakpoint_at, 0.0 as rate_change, views_delta as jump
    from deltas where hours = 0
),

breakpoints as (
    select creator_id, content_type, breakpoint_at, sum(rate_change) as rate_change, sum(jump) as jump
    from events
    group by creator_id, content_type, breakpoint_at
),

rates as (
    select
        *,
        -- Rounding of the running sum must not leave a tiny negative rate after the last post.
        greatest(sum(rate_change) over curve, 0) as views_per_hour,
        lead(breakpoint_at) over (partition by creator_id, content_type order by breakpoint_at) as next_at
    from breakpoints
    window curve as (partition by creator_id, content_type order by breakpoint_at rows unbounded preceding)
),

segments as (
    select
        *,
        coalesce(views_per_hour * date_diff('microsecond', breakpoint_at, next_at) / 3600000000.0, 0) as segment_views
    from rates
)

select
    creator_id,
    content_type,
    breakpoint_at,
    views_per_hour,
    coalesce(sum(segment_views) over (
        partition by creator_id, content_type order by breakpoint_at rows between unbounded preceding and 1 preceding
    ), 0) + sum(jump) over (
        partition by creator_id, content_type order by breakpoint_at rows unbounded preceding
    ) as cum_views,
    jump
from segments
