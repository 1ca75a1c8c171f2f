{{ config(materialized="table") }}
-- Journeys of the multi-touch attribution, one row per journey x touch (issue 4.1).
--
-- A converting journey is a conversion with the user's touchpoints strictly before the
-- conversion time and within the lookback (var attribution_lookback_days, default 30), keeping
-- only the last N of them when var attribution_max_touches is set.
-- A null journey is a user's touches that no conversion follows: the touches at or after the
-- user's last conversion (all touches of a user who never converted), within the lookback
-- before the last of them. A conversion without any touch in its lookback has no journey; it is
-- counted in int_attribution_conversion_coverage.
-- Dimension labels never contain the path separator ' > ' (a '>' becomes a space) and a missing
-- value is '(none)', so every path parses in funnellens.attribution.
{%- set lookback_days = var('attribution_lookback_days', 30) -%}
{%- set max_touches = var('attribution_max_touches', none) -%}
{%- if lookback_days is not number or lookback_days <= 0 or lookback_days != lookback_days | int -%}
    {{ exceptions.raise_compiler_error("var attribution_lookback_days must be a positive whole number of days, got " ~ lookback_days) }}
{%- endif -%}
{%- if max_touches is not none and (max_touches is not number or max_touches < 1 or max_touches != max_touches | int) -%}
    {{ exceptions.raise_compiler_error("var attribution_max_touches must be empty or a whole number >= 1, got " ~ max_touches) }}
{%- endif -%}
{%- set label = "coalesce(nullif(trim(regexp_replace(cast(@ as varchar), '[>\\s]+', ' ', 'g')), ''), '(none)')" -%}
{%- set lookback = "to_days(" ~ (lookback_days | int) ~ ")" %}

with touchpoints as (
    select
        touchpoint_id,
        user_key,
        touched_at,
        {{ label | replace('@', 'channel') }} as channel,
        {{ label | replace('@', 'campaign') }} as campaign,
        {{ label | replace('@', 'coalesce(source, utm_source)') }} || ' / '
            || {{ label | replace('@', 'coalesce(medium, utm_medium)') }} as source_medium,
        {{ label | replace('@', 'platform') }} as platform,
        cost
    from {{ ref('stg_marketing__touchpoints') }}
),

conversions as (
    select conversion_id, user_key, converted_at, conversion_type, coalesce(value, 0) as value, currency
    from {{ ref('stg_marketing__conversions') }}
),

converting_touches as (
    select
        'conversion:' || c.conversion_id as journey_id,
        c.user_key,
        true as is_conversion,
        c.conversion_id,
        c.conversion_type,
        c.converted_at as journey_end_at,
        c.value,
        c.currency,
        t.touchpoint_id, t.touched_at, t.channel, t.campaign, t.source_medium, t.platform, t.cost
    from conversions as c
    inner join touchpoints as t
        on t.user_key = c.user_key
        and t.touched_at < c.converted_at
        and t.touched_at >= c.converted_at - {{ lookback }}
),

last_conversions as (
    select user_key, max(converted_at) as last_converted_at
    from conversions
    group by user_key
),

unconverted_tail as (
    -- Touches that no conversion follows; the journey ends at the last of them.
    select t.*, max(t.touched_at) over (partition by t.user_key) as last_touched_at
    from touchpoints as t
    left join last_conversions as l on l.user_key = t.user_key
    where l.last_converted_at is null or t.touched_at >= l.last_converted_at
),

null_touches as (
    select
        'null:' || user_key as journey_id,
        user_key,
        false as is_conversion,
        cast(null as varchar) as conversion_id,
        cast(null as varchar) as conversion_type,
        last_touched_at as journey_end_at,
        cast(0 as double) as value,
        cast(null as varchar) as currency,
        touchpoint_id, touched_at, channel, campaign, source_medium, platform, cost
    from unconverted_tail
    where touched_at >= last_touched_at - {{ lookback }}
),

journeys as (
    select * from converting_touches
    union all
    select * from null_touches
),

ranked as (
    select
        *,
        -- ties in time are broken by the touchpoint id, so the order is deterministic
        row_number() over (partition by journey_id order by touched_at desc, touchpoint_id desc) as steps_from_end
    from journeys
    {%- if max_touches is not none %}
    qualify steps_from_end <= {{ max_touches | int }}
    {%- endif %}
)

select
    journey_id,
    user_key,
    is_conversion,
    conversion_id,
    conversion_type,
    journey_end_at,
    value,
    currency,
    cast(row_number() over (partition by journey_id order by touched_at, touchpoint_id) as integer) as touch_index,
    cast(count(*) over (partition by journey_id) as integer) as n_touches,
    touchpoint_id,
    touched_at,
    channel,
    campaign,
    source_medium,
    platform,
    cost
from ranked
