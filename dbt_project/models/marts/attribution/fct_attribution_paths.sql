-- Distinct paths per dimension and transform, with their converting and null journeys and the
-- converting journeys' value: the input of every funnellens.attribution model (issue 4.1).
with journeys as (
    select * from {{ ref('int_attribution_journeys') }}
),

long as (
    {%- for transform in ['exposure', 'unique', 'first', 'frequency'] %}
    select dimension, '{{ transform }}' as transform, path_{{ transform }} as path, is_conversion, value
    from journeys
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select
    dimension,
    transform,
    path,
    cast(len(string_split(path, ' > ')) as integer) as path_length,
    count(*) filter (where is_conversion) as conversions,
    count(*) filter (where not is_conversion) as nulls,
    coalesce(sum(value) filter (where is_conversion), 0) as value
from long
group by dimension, transform, path
