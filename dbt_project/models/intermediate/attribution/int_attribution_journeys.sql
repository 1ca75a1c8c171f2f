{{ config(materialized="table") }}
-- One row per journey x dimension, with the journey's path under each transform (issue 4.1):
--   exposure   consecutive repeats collapsed (the default):  a > a > b > a  ->  a > b > a
--   unique     every touch kept as it is (Fractribution's name for the identity transform)
--   first      each label only at its first touch:            a > a > b > a  ->  a > b
--   frequency  first touches, each with its count:            a > a > b > a  ->  a(3) > b(1)
-- Dimensions: channel (default), campaign, source_medium, platform. Paths join labels by ' > '.
with touches as (
    select * from {{ ref('int_attribution_journey_touches') }}
),

long as (
    {%- for dimension in ['channel', 'campaign', 'source_medium', 'platform'] %}
    select
        journey_id, user_key, is_conversion, conversion_id, journey_end_at, value, touch_index,
        '{{ dimension }}' as dimension,
        {{ dimension }} as label
    from touches
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

marked as (
    select
        *,
        label is distinct from lag(label) over (
            partition by journey_id, dimension order by touch_index
        ) as starts_run,
        row_number() over (partition by journey_id, dimension, label order by touch_index) as occurrence,
        count(*) over (partition by journey_id, dimension, label) as frequency
    from long
)

select
    journey_id,
    dimension,
    any_value(user_key) as user_key,
    any_value(is_conversion) as is_conversion,
    any_value(conversion_id) as conversion_id,
    any_value(journey_end_at) as journey_end_at,
    any_value(value) as value,
    cast(count(*) as integer) as n_touches,
    string_agg(label, ' > ' order by touch_index) filter (where starts_run) as path_exposure,
    string_agg(label, ' > ' order by touch_index) as path_unique,
    string_agg(label, ' > ' order by touch_index) filter (where occurrence = 1) as path_first,
    string_agg(label || '(' || frequency || ')', ' > ' order by touch_index)
        filter (where occurrence = 1) as path_frequency
from marked
group by journey_id, dimension
