-- depends_on: {{ source('analytics', 'pilot_validation') }}
-- Pilot validation results (issue 3.10): calibration backtest, placebo, lag sensitivity.
-- passed is NULL where a test could not be evaluated; detail says why.
-- Until analytics.pilot_validation exists (a dbt-only build) the mart is empty, typed.
{%- set pilot = adapter.get_relation(this.database, 'analytics', 'pilot_validation') if execute else none %}
{%- if pilot is none %}
select
    cast(null as varchar) as test,
    cast(null as varchar) as scope,
    cast(null as varchar) as metric,
    cast(null as double) as value,
    cast(null as double) as threshold,
    cast(null as varchar) as comparison,
    cast(null as boolean) as passed,
    cast(null as bigint) as n,
    cast(null as varchar) as detail
where false
{%- else %}
select test, scope, metric, value, threshold, comparison, passed, n, detail
from {{ source('analytics', 'pilot_validation') }}
{%- endif %}
