{{ config(materialized='table') }}
-- One row per tracker session: first/last seen, counts, traffic source and device.
-- Event scale: one GROUP BY over the events, then joins at session grain only (the user-agent
-- lookup is joined per session, not per event). No IP address leaves staging (ip_key is not
-- even carried here).
with events as (
    select
        session_id,
        visitor_key,
        occurred_at,
        event_type,
        funnel_id,
        url,
        referrer,
        utm_source,
        utm_medium,
        utm_campaign,
        user_agent,
        ab_test_id,
        variant_id,
        conversion_type,
        value_cents
    from {{ ref('stg_tracking__events') }}
),

sessions as (
    select
        session_id,
        arg_min(visitor_key, occurred_at) as visitor_key,
        count(distinct visitor_key) as visitor_keys,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at,
        count(*) as events,
        count(*) filter (where event_type = 'page_view') as page_views,
        count(*) filter (where event_type = 'step_entry') as step_entries,
        count(*) filter (where event_type = 'conversion' and conversion_type is distinct from 'refund') as conversions,
        coalesce(sum(value_cents) filter (
            where event_type = 'conversion' and conversion_type is distinct from 'refund'
        ), 0) / 100.0 as conversion_value,
        arg_min(funnel_id, occurred_at) as funnel_id,
        -- The first page view's URL and referrer; a NULL referrer there means a direct visit.
        arg_min_null(url, occurred_at) filter (where event_type = 'page_view') as landing_url,
        arg_min_null(referrer, occurred_at) filter (where event_type = 'page_view') as referrer,
        arg_min(utm_source, occurred_at) as utm_source,
        arg_min(utm_medium, occurred_at) as utm_medium,
        arg_min(utm_campaign, occurred_at) as utm_campaign,
        arg_min(user_agent, occurred_at) as user_agent,
        arg_min(ab_test_id, occurred_at) as ab_test_id,
        arg_min(variant_id, occurred_at) filter (where ab_test_id is not null) as variant_id
    from events
    group by session_id
),

hosts as (
    select
        *,
        regexp_replace(
            lower(regexp_extract(referrer, '^[A-Za-z][A-Za-z0-9+.-]*://([^/:?#]+)', 1)),
            '^(www|m|l|lm|mobile)\.', ''
        ) as referrer_host,
        regexp_replace(
            lower(regexp_extract(landing_url, '^[A-Za-z][A-Za-z0-9+.-]*://([^/:?#]+)', 1)),
            '^(www|m|l|lm|mobile)\.', ''
        ) as landing_host
    from sessions
),

sourced as (
    select
        *,
        -- An external referrer: present and not the site itself (a self-referral is internal).
        nullif(referrer_host, '') is not null
            and referrer_host is distinct from nullif(landing_host, '') as has_external_referrer
    from hosts
),

classified as (
    select
        *,
        coalesce(
            utm_source,
            case when has_external_referrer then referrer_host end,
            '(direct)'
        ) as traffic_source,
        coalesce(
            utm_medium,
            case
                when not has_external_referrer then '(none)'
                when regexp_matches(referrer_host, '(^|\.)(google|bing|duckduckgo|yahoo|baidu|yandex|ecosia|search\.brave)\.')
                    then 'organic'
                when regexp_matches(referrer_host, '(^|\.)(facebook|instagram|tiktok|twitter|x|t|linkedin|youtube|pinterest|reddit|snapchat|threads)\.(com|co|net)$')
                    then 'social'
                else 'referral'
            end
        ) as traffic_medium
    from sourced
),

numbered as (
    select
        *,
        page_views > 0 or step_entries > 0 as is_visit,
        -- Visits of the visitor in time order; server-side sessions (a refund, say) are no visits.
        case when page_views > 0 or step_entries > 0 then
            row_number() over (
                partition by visitor_key, (page_views > 0 or step_entries > 0)
                order by first_seen_at, session_id
            )
        end as visit_number
    from classified
)

select
    s.session_id,
    s.visitor_key,
    s.visitor_keys,
    s.first_seen_at,
    s.last_seen_at,
    date_diff('millisecond', s.first_seen_at, s.last_seen_at) / 1000.0 as duration_s,
    s.events,
    s.page_views,
    s.step_entries,
    s.conversions,
    s.conversion_value,
    s.is_visit,
    s.visit_number,
    s.visit_number = 1 as is_first_visit,
    s.funnel_id,
    s.landing_url,
    s.referrer,
    nullif(s.referrer_host, '') as referrer_host,
    s.utm_source,
    s.utm_medium,
    s.utm_campaign,
    s.traffic_source,
    s.traffic_medium,
    coalesce(ua.device_type, 'other') as device_type,
    coalesce(ua.browser, 'Other') as browser,
    ua.browser_version,
    coalesce(ua.os, 'Other') as os,
    s.ab_test_id,
    s.variant_id
from numbered s
left join {{ source('analytics', 'user_agents') }} ua
    on ua.user_agent = coalesce(s.user_agent, '')
