-- Campaign credit of every model (first, last, linear, position, markov, shapley) with
-- bootstrap intervals (issue 4.4), one row per period x transform x model x campaign.
-- Built empty (with a log line) before the Python asset has ever written analytics.campaign_credit.
{%- set credit = source('analytics', 'campaign_credit') -%}
{%- set ready = execute and adapter.get_relation(credit.database, credit.schema, credit.identifier) is not none -%}
{%- if execute and not ready %}{% do log("fct_campaign_credit: analytics.campaign_credit does not exist yet (run the attribution_models asset); building an empty table", info=true) %}{% endif %}

{% if ready or not execute -%}
select
    period, window_start, window_end, transform, model, model_params,
    channel as campaign,
    conversions, value, ci_low, ci_high, value_ci_low, value_ci_high, removal_effect, negative_credit,
    total_conversions, total_value, journeys, n_resamples, ci_level, computed_at,
    conversions / nullif(total_conversions, 0) as conversion_share
from {{ credit }}
where dimension = 'campaign'
{%- else -%}
select
    cast(null as varchar) as period, cast(null as timestamp) as window_start, cast(null as timestamp) as window_end,
    cast(null as varchar) as transform, cast(null as varchar) as model, cast(null as varchar) as model_params,
    cast(null as varchar) as campaign, cast(null as double) as conversions, cast(null as double) as value,
    cast(null as double) as ci_low, cast(null as double) as ci_high, cast(null as double) as value_ci_low,
    cast(null as double) as value_ci_high, cast(null as double) as removal_effect,
    cast(null as boolean) as negative_credit, cast(null as double) as total_conversions,
    cast(null as double) as total_value, cast(null as bigint) as journeys, cast(null as integer) as n_resamples,
    cast(null as double) as ci_level, cast(null as timestamp) as computed_at, cast(null as double) as conversion_share
where false
{%- endif %}
