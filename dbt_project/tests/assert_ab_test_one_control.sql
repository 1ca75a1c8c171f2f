-- Every A/B test has exactly one control variant.
select ab_test_id, count(*) filter (where is_control) as n_controls
from {{ ref('stg_definitions__ab_test_variants') }}
group by ab_test_id
having count(*) filter (where is_control) <> 1
