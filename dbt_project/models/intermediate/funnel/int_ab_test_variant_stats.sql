-- Per-variant aggregates of each A/B test, the input of funnellens.experiments.evaluate_ab_test.
-- The unit is the visitor: exposed when a session of theirs carries the test (ab_test_id) and
-- starts inside the test's window [started_at, ended_at); assigned to the variant of their first
-- exposed session; converted when they entered the test's conversion step (conversion_step_id,
-- else the funnel's last step) in an exposed session; their revenue is the conversion value
-- (refunds excluded) of their exposed sessions. Sums of squares give the revenue variance.
with variants as (
    select
        v.ab_test_id,
        v.ab_test_name,
        v.funnel_id,
        coalesce(v.conversion_step_id, last_step.step_id) as conversion_step_id,
        v.started_at,
        v.ended_at,
        v.alpha,
        v.variant_id,
        v.variant_name,
        v.is_control,
        v.traffic_split
    from {{ ref('stg_definitions__ab_test_variants') }} v
    left join (
        select funnel_id, arg_max(step_id, step_order) as step_id
        from {{ ref('stg_definitions__funnel_steps') }}
        group by funnel_id
    ) last_step on last_step.funnel_id = v.funnel_id
),

tests as (
    select distinct ab_test_id, funnel_id, conversion_step_id, started_at, ended_at from variants
),

exposed_sessions as (
    select s.session_id, s.visitor_key, s.ab_test_id, s.variant_id, s.first_seen_at, s.conversion_value
    from {{ ref('int_tracking_sessions') }} s
    join tests t on t.ab_test_id = s.ab_test_id
    where s.variant_id is not null
        and (t.started_at is null or s.first_seen_at >= t.started_at)
        and (t.ended_at is null or s.first_seen_at < t.ended_at)
),

converted_sessions as (
    select distinct v.session_id
    from {{ ref('int_funnel_step_visits') }} v
    join exposed_sessions e on e.session_id = v.session_id
    join tests t on t.ab_test_id = e.ab_test_id and t.conversion_step_id = v.step_id and t.funnel_id = v.funnel_id
),

visitors as (
    select
        e.ab_test_id,
        e.visitor_key,
        arg_min(e.variant_id, e.first_seen_at) as variant_id,
        count(distinct e.variant_id) as variants_seen,
        bool_or(c.session_id is not null) as converted,
        sum(e.conversion_value) as revenue
    from exposed_sessions e
    left join converted_sessions c using (session_id)
    group by e.ab_test_id, e.visitor_key
),

stats as (
    select
        ab_test_id,
        variant_id,
        count(*) as visitors,
        count(*) filter (where converted) as conversions,
        coalesce(sum(revenue), 0) as revenue_sum,
        coalesce(sum(revenue * revenue), 0) as revenue_sumsq,
        count(*) filter (where variants_seen > 1) as visitors_in_several_variants
    from visitors
    group by ab_test_id, variant_id
)

select
    v.ab_test_id,
    v.ab_test_name,
    v.funnel_id,
    v.conversion_step_id,
    v.started_at,
    v.ended_at,
    v.alpha,
    v.variant_id,
    v.variant_name,
    v.is_control,
    v.traffic_split,
    coalesce(s.visitors, 0) as visitors,
    coalesce(s.conversions, 0) as conversions,
    coalesce(s.revenue_sum, 0) as revenue_sum,
    coalesce(s.revenue_sumsq, 0) as revenue_sumsq,
    coalesce(s.visitors_in_several_variants, 0) as visitors_in_several_variants
from variants v
left join stats s using (ab_test_id, variant_id)
