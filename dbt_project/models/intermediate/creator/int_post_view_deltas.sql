-- Deltas between consecutive snapshots of the same post: one row per snapshot, holding what the
-- post gained over the interval (interval_start, interval_end] before it.
--   * The first snapshot of a post starts from 0 at its publish time (a publish time after the
--     snapshot, clock skew, makes it a point mass at the snapshot). Without any publish time the
--     first interval is unknown: interval_start is NULL and the delta is kept but not spread
--     over time (int_creator_view_curve skips it), because lifetime views must never land in
--     one window.
--   * A post missing from an export simply has no row there: the next snapshot that has it
--     covers the longer interval. A missing post is never a drop to zero.
--   * Counters are compared with their running maximum (high-water mark) so far: a decrease
--     (platform correction) gives a delta of 0 and a flag, and the later recovery is not
--     counted twice. The deltas of a post therefore sum to its highest total ever exported.
--   * A NULL counter (the export has no such column) gives a NULL delta, not a zero.
{{ config(materialized='table') }}

with snapshots as (
    select
        platform,
        post_id,
        creator_id,
        snapshot_at,
        views,
        likes,
        comments,
        shares,
        min(published_at) over (partition by platform, post_id) as published_at,
        row_number() over (partition by platform, post_id order by snapshot_at) as snapshot_number,
        lag(snapshot_at) over (partition by platform, post_id order by snapshot_at) as previous_snapshot_at,
        max(views) over high_water as views_high_water,
        max(likes) over high_water as likes_high_water,
        max(comments) over high_water as comments_high_water,
        max(shares) over high_water as shares_high_water
    from {{ ref('stg_social__post_snapshots') }}
    window high_water as (
        partition by platform, post_id order by snapshot_at
        rows between unbounded preceding and 1 preceding
    )
),

deltas as (
    select
        platform,
        post_id,
        creator_id,
        published_at,
        snapshot_number,
        snapshot_at as interval_end,
        case
            when previous_snapshot_at is not null then previous_snapshot_at
            when published_at is null then null
            else least(published_at, snapshot_at)
        end as interval_start,
        views,
        views - coalesce(views_high_water, 0) as views_raw_delta,
        likes - coalesce(likes_high_water, 0) as likes_raw_delta,
        comments - coalesce(comments_high_water, 0) as comments_raw_delta,
        shares - coalesce(shares_high_water, 0) as shares_raw_delta
    from snapshots
)

select
    platform,
    post_id,
    creator_id,
    published_at,
    snapshot_number,
    snapshot_number = 1 as is_first_snapshot,
    interval_start,
    interval_end,
    date_diff('second', interval_start, interval_end) / 3600.0 as interval_hours,
    views as views_total,
    greatest(views_raw_delta, 0) as views_delta,
    greatest(likes_raw_delta, 0) as likes_delta,
    greatest(comments_raw_delta, 0) as comments_delta,
    greatest(shares_raw_delta, 0) as shares_delta,
    views_raw_delta < 0 as views_decreased,
    coalesce(views_raw_delta < 0, false)
        or coalesce(likes_raw_delta < 0, false)
        or coalesce(comments_raw_delta < 0, false)
        or coalesce(shares_raw_delta < 0, false) as counter_decreased,
    least(views_raw_delta, 0) as views_correction
from deltas
