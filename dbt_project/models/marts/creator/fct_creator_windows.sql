-- One row per creator and window: subscribers and revenue against the baseline, with the
-- baseline's days and method, the attribution methods' counts and the confounders named
-- (the window headline of the Monday digest).
{%- set main_lag = var('creator_lag_hours', 48) | int %}

with windows as (
    select * from {{ ref('int_creator_windows') }}
),

methods as (
    select
        windows.creator_id,
        windows.window_start,
        count(*) filter (where attribution.method = 'referral_link') as link_subscribers,
        count(*) filter (where attribution.method = 'weighted_window') as weighted_subscribers,
        count(*) filter (where attribution.method = 'no_data') as no_data_subscribers
    from windows
    inner join {{ ref('fct_fan_attribution') }} as attribution
        on attribution.creator_id = windows.creator_id
        and attribution.subscribed_at >= windows.window_start
        and attribution.subscribed_at < windows.window_end
    group by windows.creator_id, windows.window_start
),

confounders as (
    select
        windows.creator_id,
        windows.window_start,
        count(*) as confounder_count,
        string_agg(
            conf.confounder_type || ': ' || coalesce(nullif(trim(conf.description), ''), 'no description'),
            '; ' order by conf.starts_at, conf.confounder_type
        ) as confounders
    from windows
    inner join {{ ref('stg_agency__confounders') }} as conf
        on conf.creator_id = windows.creator_id
        and conf.starts_at < windows.window_end
        and conf.ends_at > windows.window_start - to_hours({{ main_lag }})
    group by windows.creator_id, windows.window_start
)

select
    windows.creator_id,
    windows.agency_id,
    windows.agency_timezone,
    windows.window_start,
    windows.window_end,
    windows.window_start_local,
    windows.window_end_local,
    windows.window_hours,
    windows.subscribers,
    windows.expected_subscribers,
    case when windows.expected_subscribers > 0
        then (windows.subscribers / windows.expected_subscribers - 1) * 100 end as subscribers_lift_pct,
    windows.revenue,
    windows.expected_revenue,
    windows.baseline_days,
    windows.baseline_first_date,
    windows.baseline_last_date,
    windows.baseline_method,
    windows.insufficient_baseline,
    coalesce(methods.link_subscribers, 0) as link_subscribers,
    coalesce(methods.weighted_subscribers, 0) as weighted_subscribers,
    coalesce(methods.no_data_subscribers, 0) as no_data_subscribers,
    coalesce(confounders.confounder_count, 0) as confounder_count,
    coalesce(confounders.confounders, '') as confounders
from windows
left join methods using (creator_id, window_start)
left join confounders using (creator_id, window_start)
