-- Funnel revenue per grain (day, week, month) and period; by source and by step in
-- fct_funnel_revenue_breakdown.
--   revenue       conversion values of the funnel (refunds excluded), in the period of the conversion
--   refunds       refunded amounts as a positive number, in the period of the refund
--   net_revenue   revenue - refunds;  refund_rate = refunds / revenue
--   visitors      distinct visitors with a step entry of the funnel in the period
--   revenue_per_visitor = revenue / visitors;  revenue_per_conversion = revenue / conversions
with grains as (
    select * from (values ('day'), ('week'), ('month')) as g(grain)
),

money as (
    select
        c.funnel_id,
        g.grain,
        cast(date_trunc(g.grain, c.occurred_at) as date) as period_start,
        sum(c.revenue) as revenue,
        sum(c.refund_amount) as refunds,
        count(*) filter (where not c.is_refund) as conversions,
        count(*) filter (where c.is_refund) as refund_count
    from {{ ref('int_funnel_conversions') }} c
    cross join grains g
    where c.funnel_id is not null
    group by all
),

traffic as (
    select
        v.funnel_id,
        g.grain,
        cast(date_trunc(g.grain, v.entered_at) as date) as period_start,
        count(distinct v.visitor_key) as visitors
    from {{ ref('int_funnel_step_visits') }} v
    cross join grains g
    group by all
),

keys as (
    select funnel_id, grain, period_start from money
    union
    select funnel_id, grain, period_start from traffic
)

select
    k.funnel_id || ':' || k.grain || ':' || strftime(k.period_start, '%Y-%m-%d') as funnel_period_key,
    k.funnel_id,
    k.grain,
    k.period_start,
    coalesce(m.revenue, 0) as revenue,
    coalesce(m.refunds, 0) as refunds,
    coalesce(m.revenue, 0) - coalesce(m.refunds, 0) as net_revenue,
    m.refunds / nullif(m.revenue, 0) as refund_rate,
    coalesce(m.conversions, 0) as conversions,
    coalesce(m.refund_count, 0) as refund_count,
    coalesce(t.visitors, 0) as visitors,
    m.revenue / nullif(t.visitors, 0) as revenue_per_visitor,
    m.revenue / nullif(m.conversions, 0) as revenue_per_conversion
from keys k
left join money m using (funnel_id, grain, period_start)
left join traffic t using (funnel_id, grain, period_start)
