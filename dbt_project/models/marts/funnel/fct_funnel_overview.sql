-- Funnel overview per grain (day, week, month) and period. A visitor counts for a funnel in a
-- period when they entered one of its steps then.
--   visitors_total      visits (sessions) with a step entry of the funnel in the period
--   visitors_unique     distinct visitors among them
--   visitors_new        those whose first visit to the site (any funnel) falls in the period
--   visitors_returning  visitors_unique - visitors_new (first visit before the period)
--   conversions         conversion events of the funnel (refunds excluded); conversion_value their value
--   conversion_rate     converting visitors / visitors_unique
--   revenue_per_visitor conversion_value / visitors_unique; revenue_per_conversion conversion_value / conversions
-- All distinct counts are computed at each grain.
with grains as (
    select * from (values ('day'), ('week'), ('month')) as g(grain)
),

visits as (
    select
        v.funnel_id,
        g.grain,
        cast(date_trunc(g.grain, v.entered_at) as date) as period_start,
        v.session_id,
        v.visitor_key,
        cast(date_trunc(g.grain, vis.first_seen_at) as date) as visitor_first_period
    from {{ ref('int_funnel_step_visits') }} v
    cross join grains g
    join {{ ref('int_tracking_visitors') }} vis on vis.visitor_key = v.visitor_key
),

traffic as (
    select
        funnel_id,
        grain,
        period_start,
        count(distinct session_id) as visitors_total,
        count(distinct visitor_key) as visitors_unique,
        count(distinct visitor_key) filter (where visitor_first_period = period_start) as visitors_new
    from visits
    group by all
),

conversions as (
    select
        c.funnel_id,
        g.grain,
        cast(date_trunc(g.grain, c.occurred_at) as date) as period_start,
        count(*) as conversions,
        count(distinct c.visitor_key) as converting_visitors,
        sum(c.value) as conversion_value
    from {{ ref('int_funnel_conversions') }} c
    cross join grains g
    where not c.is_refund and c.funnel_id is not null
    group by all
),

keys as (
    select funnel_id, grain, period_start from traffic
    union
    select funnel_id, grain, period_start from conversions
)

select
    k.funnel_id || ':' || k.grain || ':' || strftime(k.period_start, '%Y-%m-%d') as funnel_period_key,
    k.funnel_id,
    k.grain,
    k.period_start,
    coalesce(t.visitors_total, 0) as visitors_total,
    coalesce(t.visitors_unique, 0) as visitors_unique,
    coalesce(t.visitors_new, 0) as visitors_new,
    coalesce(t.visitors_unique, 0) - coalesce(t.visitors_new, 0) as visitors_returning,
    coalesce(c.conversions, 0) as conversions,
    coalesce(c.converting_visitors, 0) as converting_visitors,
    c.converting_visitors / nullif(t.visitors_unique, 0) as conversion_rate,
    coalesce(c.conversion_value, 0) as conversion_value,
    coalesce(c.conversion_value, 0) / nullif(t.visitors_unique, 0) as revenue_per_visitor,
    c.conversion_value / nullif(c.conversions, 0) as revenue_per_conversion
from keys k
left join traffic t using (funnel_id, grain, period_start)
left join conversions c using (funnel_id, grain, period_start)
