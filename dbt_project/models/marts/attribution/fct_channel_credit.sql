-- Channel credit of every model, with bootstrap intervals (issue 4.4), one row per
-- period x dimension x transform x model x channel. first / last / linear / position / markov /
-- shapley come from analytics.channel_credit; time_decay is the sum of the per-conversion
-- credits (analytics.conversion_credit, every touch, channel dimension), without an interval.
-- Before the Python asset has ever run (a dbt-only build), the analytics tables do not exist:
-- the mart is then built empty with a log line, and its GX gate (min 1 row) fails in Dagster.
{%- set credit = source('analytics', 'channel_credit') -%}
{%- set touches = source('analytics', 'conversion_credit') -%}
{%- set ready = execute and adapter.get_relation(credit.database, credit.schema, credit.identifier) is not none
    and adapter.get_relation(touches.database, touches.schema, touches.identifier) is not none -%}
{%- if execute and not ready %}{% do log("fct_channel_credit: analytics.channel_credit / conversion_credit do not exist yet (run the attribution_models asset); building an empty table", info=true) %}{% endif %}

{% if ready or not execute -%}
with model_credit as (
    select
        period, window_start, window_end, dimension, transform, model, model_params, channel,
        conversions, value, ci_low, ci_high, value_ci_low, value_ci_high, removal_effect, negative_credit,
        total_conversions, total_value, journeys, n_resamples, ci_level, computed_at
    from {{ credit }}
),

conversions as (
    select period, conversion_id, any_value(conversion_value) as conversion_value,
           any_value(converted_at) as converted_at
    from {{ touches }}
    where model = 'time_decay'
    group by period, conversion_id
),

period_totals as (
    select period, count(*) as total_conversions, sum(conversion_value) as total_value,
           min(converted_at) as window_start, max(converted_at) as window_end
    from conversions
    group by period
),

time_decay as (
    select
        t.period,
        p.window_start,
        p.window_end,
        'channel' as dimension,
        'unique' as transform,
        'time_decay' as model,
        '{"half_life_days": ' || any_value(t.half_life_days) || '}' as model_params,
        t.channel,
        sum(t.credit) as conversions,
        sum(t.value_credit) as value,
        cast(null as double) as ci_low,
        cast(null as double) as ci_high,
        cast(null as double) as value_ci_low,
        cast(null as double) as value_ci_high,
        cast(null as double) as removal_effect,
        false as negative_credit,
        cast(p.total_conversions as double) as total_conversions,
        p.total_value,
        cast(p.total_conversions as bigint) as journeys,
        cast(null as integer) as n_resamples,
        cast(null as double) as ci_level,
        max(t.computed_at) as computed_at
    from {{ touches }} as t
    inner join period_totals as p on p.period = t.period
    where t.model = 'time_decay'
    group by t.period, p.window_start, p.window_end, t.channel, p.total_conversions, p.total_value
),

unioned as (
    select * from model_credit
    union all by name
    select * from time_decay
)

select
    *,
    conversions / nullif(total_conversions, 0) as conversion_share
from unioned
{%- else -%}
select
    cast(null as varchar) as period, cast(null as timestamp) as window_start, cast(null as timestamp) as window_end,
    cast(null as varchar) as dimension, cast(null as varchar) as transform, cast(null as varchar) as model,
    cast(null as varchar) as model_params, cast(null as varchar) as channel, cast(null as double) as conversions,
    cast(null as double) as value, cast(null as double) as ci_low, cast(null as double) as ci_high,
    cast(null as double) as value_ci_low, cast(null as double) as value_ci_high,
    cast(null as double) as removal_effect, cast(null as boolean) as negative_credit,
    cast(null as double) as total_conversions, cast(null as double) as total_value, cast(null as bigint) as journeys,
    cast(null as integer) as n_resamples, cast(null as double) as ci_level, cast(null as timestamp) as computed_at,
    cast(null as double) as conversion_share
where false
{%- endif %}
