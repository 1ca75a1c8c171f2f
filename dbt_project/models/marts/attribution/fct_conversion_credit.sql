-- Per-conversion credit (issue 4.3): one row per conversion x touch x model (first, last,
-- linear, position, time_decay), with the credit (sums to 1 per conversion and model) and the
-- value credit (sums to the conversion's value). Snowplow and Fractribution have these rows.
-- Built empty (with a log line) before the Python asset has ever written analytics.conversion_credit.
{%- set credit = source('analytics', 'conversion_credit') -%}
{%- set ready = execute and adapter.get_relation(credit.database, credit.schema, credit.identifier) is not none -%}
{%- if execute and not ready %}{% do log("fct_conversion_credit: analytics.conversion_credit does not exist yet (run the attribution_models asset); building an empty table", info=true) %}{% endif %}

{% if ready or not execute -%}
select
    period, conversion_id, touch_index, touchpoint_id, channel, campaign, touched_at, converted_at,
    date_diff('second', touched_at, converted_at) / 86400.0 as days_before_conversion,
    conversion_value, model, credit, value_credit, half_life_days, computed_at
from {{ credit }}
{%- else -%}
select
    cast(null as varchar) as period, cast(null as varchar) as conversion_id, cast(null as integer) as touch_index,
    cast(null as varchar) as touchpoint_id, cast(null as varchar) as channel, cast(null as varchar) as campaign,
    cast(null as timestamp) as touched_at, cast(null as timestamp) as converted_at,
    cast(null as double) as days_before_conversion, cast(null as double) as conversion_value,
    cast(null as varchar) as model, cast(null as double) as credit, cast(null as double) as value_credit,
    cast(null as double) as half_life_days, cast(null as timestamp) as computed_at
where false
{%- endif %}
