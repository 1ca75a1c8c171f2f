-- A test's conversion step, when given, is a step of the test's funnel.
select v.ab_test_id, v.funnel_id, v.conversion_step_id
from {{ ref('stg_definitions__ab_test_variants') }} as v
left join {{ ref('stg_definitions__funnel_steps') }} as s
    on s.funnel_id = v.funnel_id
    and s.step_id = v.conversion_step_id
where v.conversion_step_id is not null
    and s.step_id is null
