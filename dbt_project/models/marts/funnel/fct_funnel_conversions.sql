-- Conversions by funnel, type (form_submit, purchase, signup, custom), step, grain and period.
-- Refunds are not conversions: they are in fct_funnel_revenue.
select
    c.funnel_id,
    c.conversion_type,
    coalesce(c.step_id, '(none)') as step_id,
    any_value(c.step_order) as step_order,
    g.grain,
    cast(date_trunc(g.grain, c.occurred_at) as date) as period_start,
    count(*) as conversions,
    count(distinct c.visitor_key) as converting_visitors,
    sum(c.value) as conversion_value
from {{ ref('int_funnel_conversions') }} c
cross join (values ('day'), ('week'), ('month')) as g(grain)
where not c.is_refund and c.funnel_id is not null
group by c.funnel_id, c.conversion_type, coalesce(c.step_id, '(none)'), g.grain, period_start
