-- The top 20 products by revenue per funnel, grain and period: units, orders, revenue, refunds
-- (positive amounts, in the period of the refund), refund rate and net revenue.
with products as (
    select
        c.funnel_id,
        g.grain,
        cast(date_trunc(g.grain, c.occurred_at) as date) as period_start,
        c.product_id,
        coalesce(sum(c.quantity) filter (where not c.is_refund), 0) as units,
        count(*) filter (where not c.is_refund) as orders,
        sum(c.revenue) as revenue,
        sum(c.refund_amount) as refunds,
        count(*) filter (where c.is_refund) as refund_count
    from {{ ref('int_funnel_conversions') }} c
    cross join (values ('day'), ('week'), ('month')) as g(grain)
    where c.product_id is not null and c.funnel_id is not null
    group by all
),

ranked as (
    select
        *,
        row_number() over (partition by funnel_id, grain, period_start order by revenue desc, product_id) as rank
    from products
)

select
    funnel_id,
    grain,
    period_start,
    rank,
    product_id,
    units,
    orders,
    revenue,
    refunds,
    refund_count,
    refunds / nullif(revenue, 0) as refund_rate,
    revenue - refunds as net_revenue,
    revenue / sum(revenue) over (partition by funnel_id, grain, period_start) as revenue_share
from ranked
where rank <= 20
