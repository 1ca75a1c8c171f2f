-- The top 10 values of traffic_source per funnel step, grain and period of entry, with their shares of
-- the step's entries (shares of the top 10 add up to at most 1; the rest is not listed).
with visits as (
    select v.*, g.grain, cast(date_trunc(g.grain, v.entered_at) as date) as period_start
    from {{ ref('int_funnel_step_visits') }} v
    cross join (values ('day'), ('week'), ('month')) as g(grain)
),

counted as (
    select
        funnel_id,
        step_id,
        any_value(step_order) as step_order,
        grain,
        period_start,
        traffic_source,
        count(*) as entries,
        count(distinct visitor_key) as visitors,
        count(*) filter (where is_dropoff) as dropoffs
    from visits
    group by funnel_id, step_id, grain, period_start, traffic_source
),

ranked as (
    select
        *,
        entries / sum(entries) over step_period as share,
        dropoffs / entries as dropoff_rate,
        row_number() over (partition by funnel_id, step_id, grain, period_start order by entries desc, traffic_source) as rank
    from counted
    window step_period as (partition by funnel_id, step_id, grain, period_start)
)

select funnel_id, step_id, step_order, grain, period_start, rank, traffic_source, entries, visitors, share, dropoffs, dropoff_rate
from ranked
where rank <= 10
