-- The traffic splits of a test sum to 1 (within 1e-6, for splits such as 1/3 written as decimals).
select ab_test_id, sum(traffic_split) as total_split
from {{ ref('stg_definitions__ab_test_variants') }}
group by ab_test_id
having abs(sum(traffic_split) - 1.0) > 1e-6
