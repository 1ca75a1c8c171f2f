-- Per creator, content type and window: the inputs of the content-type performance test.
--   view_delta            views the type's posts gained in [window_start, window_end), from the
--                         spread deltas (V(end) - V(start), see int_creator_view_curve);
--   view_share            view_delta over all of the creator's view deltas in the window;
--   credited_subscribers  sum of the type's credits of the window's subscriptions (referral
--                         links count 1, weighted-window credits their share), with
--                         credit_sumsq = sum(credit^2) for the Fay-Feuer test and the
--                         referral/weighted split;
--   dominant_fans         subscriptions whose largest credit is this type (ties: type name);
--   expected_subscribers  the window's baseline expectation x view_share (NULL without a
--                         baseline or without views);
--   confounders           every confounder overlapping [window_start - lag, window_end), named.
-- Rows: every type that gained views, earned credit or published a post in the window.
{{ config(materialized='table') }}

{%- set main_lag = var('creator_lag_hours', 48) | int %}

with windows as (
    select * from {{ ref('int_creator_windows') }}
),

creator_types as (
    select distinct creator_id, content_type from {{ ref('int_creator_view_curve') }}
    union
    select distinct creator_id, content_type from {{ ref('int_fan_content_credits') }}
    union
    select distinct creator_id, content_type from {{ ref('int_post_content_types') }}
),

points as (
    select windows.creator_id, windows.window_start, windows.window_end, creator_types.content_type
    from windows
    inner join creator_types using (creator_id)
),

views_at_end as (
    select
        points.*,
        coalesce(
            curve.cum_views + curve.views_per_hour * date_diff('microsecond', curve.breakpoint_at, points.window_end) / 3600000000.0,
            0
        ) as views_to_end
    from points
    asof left join {{ ref('int_creator_view_curve') }} as curve
        on curve.creator_id = points.creator_id
        and curve.content_type = points.content_type
        and points.window_end >= curve.breakpoint_at
),

views as (
    select
        views_at_end.creator_id,
        views_at_end.window_start,
        views_at_end.content_type,
        greatest(
            views_at_end.views_to_end - coalesce(
                curve.cum_views + curve.views_per_hour * date_diff('microsecond', curve.breakpoint_at, views_at_end.window_start) / 3600000000.0,
                0
            ),
            0
        ) as view_delta
    from views_at_end
    asof left join {{ ref('int_creator_view_curve') }} as curve
        on curve.creator_id = views_at_end.creator_id
        and curve.content_type = views_at_end.content_type
        and views_at_end.window_start >= curve.breakpoint_at
),

credits_in_window as (
    select
        windows.creator_id,
        windows.window_start,
        credits.subscription_id,
        credits.content_type,
        credits.credit,
        credits.method
    from windows
    inner join {{ ref('int_fan_content_credits') }} as credits
        on credits.creator_id = windows.creator_id
        and credits.subscribed_at >= windows.window_start
        and credits.subscribed_at < windows.window_end
),

dominant as (
    select creator_id, window_start, subscription_id, content_type
    from credits_in_window
    qualify row_number() over (partition by subscription_id order by credit desc, content_type) = 1
),

credit_totals as (
    select
        creator_id,
        window_start,
        content_type,
        sum(credit) as credited_subscribers,
        sum(credit * credit) as credit_sumsq,
        sum(credit) filter (where method = 'referral_link') as link_subscribers,
        sum(credit) filter (where method = 'weighted_window') as weighted_subscribers
    from credits_in_window
    group by creator_id, window_start, content_type
),

dominant_totals as (
    select creator_id, window_start, content_type, count(*) as dominant_fans
    from dominant
    group by creator_id, window_start, content_type
),

posts as (
    select windows.creator_id, windows.window_start, posts.content_type, count(*) as posts_in_window
    from windows
    inner join {{ ref('int_post_content_types') }} as posts
        on posts.creator_id = windows.creator_id
        and posts.published_at >= windows.window_start
        and posts.published_at < windows.window_end
    group by windows.creator_id, windows.window_start, posts.content_type
),

no_data as (
    select
        windows.creator_id,
        windows.window_start,
        count(*) filter (
            where subs.subscription_id not in (select subscription_id from {{ ref('int_fan_content_credits') }})
        ) as no_data_subscribers
    from windows
    inner join {{ ref('stg_fan_platform__subscribers') }} as subs
        on subs.creator_id = windows.creator_id
        and subs.subscribed_at >= windows.window_start
        and subs.subscribed_at < windows.window_end
    group by windows.creator_id, windows.window_start
),

confounders as (
    select
        windows.creator_id,
        windows.window_start,
        count(*) as confounder_count,
        string_agg(
            conf.confounder_type || ': ' || coalesce(nullif(trim(conf.description), ''), 'no description')
                || ' (' || strftime(conf.starts_at, '%Y-%m-%d %H:%M') || ' to '
                || strftime(conf.ends_at, '%Y-%m-%d %H:%M') || ' UTC)',
            '; ' order by conf.starts_at, conf.confounder_type
        ) as confounders
    from windows
    inner join {{ ref('stg_agency__confounders') }} as conf
        on conf.creator_id = windows.creator_id
        and conf.starts_at < windows.window_end
        and conf.ends_at > windows.window_start - to_hours({{ main_lag }})
    group by windows.creator_id, windows.window_start
),

combined as (
    select
        points.creator_id,
        points.window_start,
        points.content_type,
        coalesce(views.view_delta, 0) as view_delta,
        sum(coalesce(views.view_delta, 0)) over (partition by points.creator_id, points.window_start)
            as window_view_delta,
        coalesce(credit_totals.credited_subscribers, 0) as credited_subscribers,
        coalesce(credit_totals.credit_sumsq, 0) as credit_sumsq,
        coalesce(credit_totals.link_subscribers, 0) as link_subscribers,
        coalesce(credit_totals.weighted_subscribers, 0) as weighted_subscribers,
        coalesce(dominant_totals.dominant_fans, 0) as dominant_fans,
        coalesce(posts.posts_in_window, 0) as posts_in_window
    from points
    left join views using (creator_id, window_start, content_type)
    left join credit_totals using (creator_id, window_start, content_type)
    left join dominant_totals using (creator_id, window_start, content_type)
    left join posts using (creator_id, window_start, content_type)
)

select
    combined.creator_id,
    windows.agency_id,
    windows.agency_timezone,
    combined.window_start,
    windows.window_end,
    windows.window_start_local,
    windows.window_end_local,
    windows.window_hours,
    {{ main_lag }} as lag_hours,
    combined.content_type,
    combined.view_delta,
    case when combined.window_view_delta > 0 then combined.view_delta / combined.window_view_delta end
        as view_share,
    combined.credited_subscribers,
    combined.credit_sumsq,
    combined.link_subscribers,
    combined.weighted_subscribers,
    combined.dominant_fans,
    windows.subscribers as subscribers_total,
    coalesce(no_data.no_data_subscribers, 0) as no_data_subscribers,
    windows.expected_subscribers as window_expected_subscribers,
    case when combined.window_view_delta > 0
        then windows.expected_subscribers * combined.view_delta / combined.window_view_delta
    end as expected_subscribers,
    windows.baseline_days,
    windows.baseline_method,
    windows.insufficient_baseline,
    combined.posts_in_window,
    coalesce(confounders.confounder_count, 0) as confounder_count,
    coalesce(confounders.confounders, '') as confounders
from combined
inner join windows using (creator_id, window_start)
left join no_data using (creator_id, window_start)
left join confounders using (creator_id, window_start)
where combined.view_delta > 0 or combined.credited_subscribers > 0 or combined.posts_in_window > 0
