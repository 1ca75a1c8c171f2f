-- Funnel revenue per grain and period, by traffic source (dimension = 'source') and by step
-- (dimension = 'step'); the totals are in fct_funnel_revenue. Money is attributed to the source
-- of the visit it came from (a refund: the visitor's last visit before it) and to the step of
-- the conversion event. Definitions as in fct_funnel_revenue; visitors: distinct visitors with a
-- step entry from that source, or of that step, in the period.
with grains as (
    select * from (values ('day'), ('week'), ('month')) as g(grain)
),

money as (
    select
        c.funnel_id,
        g.grain,
        cast(date_trunc(g.grain, c.occurred_at) as date) as period_start,
        c.traffic_source,
        coalesce(c.step_id, '(none)') as step_id,
        c.is_refund,
        c.revenue,
        c.refund_amount
    from {{ ref('int_funnel_conversions') }} c
    cross join grains g
    where c.funnel_id is not null
),

traffic as (
    select
        v.funnel_id,
        g.grain,
        cast(date_trunc(g.grain, v.entered_at) as date) as period_start,
        v.traffic_source,
        v.step_id,
        v.visitor_key
    from {{ ref('int_funnel_step_visits') }} v
    cross join grains g
),

money_by as (
    select funnel_id, grain, period_start, 'source' as dimension, traffic_source as dimension_value,
           sum(revenue) as revenue, sum(refund_amount) as refunds,
           count(*) filter (where not is_refund) as conversions, count(*) filter (where is_refund) as refund_count
    from money group by all
    union all
    select funnel_id, grain, period_start, 'step', step_id,
           sum(revenue), sum(refund_amount), count(*) filter (where not is_refund), count(*) filter (where is_refund)
    from money group by all
),

traffic_by as (
    select funnel_id, grain, period_start, 'source' as dimension, traffic_source as dimension_value,
           count(distinct visitor_key) as visitors
    from traffic group by all
    union all
    select funnel_id, grain, period_start, 'step', step_id, count(distinct visitor_key)
    from traffic group by all
)

select
    m.funnel_id,
    m.grain,
    m.period_start,
    m.dimension,
    m.dimension_value,
    m.revenue,
    m.refunds,
    m.revenue - m.refunds as net_revenue,
    m.refunds / nullif(m.revenue, 0) as refund_rate,
    m.conversions,
    m.refund_count,
    coalesce(t.visitors, 0) as visitors,
    m.revenue / nullif(t.visitors, 0) as revenue_per_visitor,
    m.revenue / nullif(m.conversions, 0) as revenue_per_conversion
from money_by m
left join traffic_by t using (funnel_id, grain, period_start, dimension, dimension_value)
