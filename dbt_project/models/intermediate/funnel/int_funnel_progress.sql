-- depends_on: {{ ref('stg_definitions__funnel_steps') }}
{{ config(materialized='table') }}
{#-
    How far each visitor gets through each funnel, under the funnel's order mode (as in PostHog)
    and within its conversion window. One row per (funnel, visitor, chain start, step reached):
    the visitor entered step 1 at started_at and reached step_order k at reached_at, no later
    than started_at + conversion_window_days. Counting distinct visitors per step and period of
    started_at gives the funnel (fct_funnel_steps); reached_at - previous_reached_at is the time
    to convert from step k-1 to k (fct_funnel_time_to_convert).

    Order modes, over the visitor's step entries of the funnel in time order (all sessions):
    - sequential: steps 1..k entered in this order; other entries may come between. Reaching k
      uses the latest start among the chains that reached k-1 before (a running max, then an
      ASOF join, one level per step), which is the best start for the window: a visitor reaches k
      exactly when some chain 1..k fits in the window. previous_reached_at is the latest arrival
      at step k-1 before reached_at.
    - strict: steps 1..k entered consecutively, with no other entry of the funnel between them.
    - any_order: the steps in any order; "step k" means k distinct steps entered within the window
      that starts at an entry (the anchor). reached_at is when the k-th distinct step was first
      entered after the anchor.
    A visitor who skips step j reaches at most j-1 in sequential and strict mode; in any_order
    they count for as many steps as they entered.
-#}
{%- set max_steps = 1 -%}
{%- if execute -%}
    {%- set result = run_query("select coalesce(max(step_order), 1) from " ~ ref('stg_definitions__funnel_steps')) -%}
    {%- set max_steps = result.columns[0].values()[0] | int -%}
{%- endif %}

with entries as (
    select
        funnel_id,
        order_mode,
        visitor_key,
        step_order,
        entered_at,
        entry_event_id,
        to_microseconds(cast(round(conversion_window_days * 86400e6) as bigint)) as conversion_window
    from {{ ref('int_funnel_step_visits') }}
),

-- sequential ------------------------------------------------------------------------------
seq_entries as (
    select * from entries where order_mode = 'sequential'
),

seq_1 as (
    select funnel_id, visitor_key, 1 as step_order, entered_at as started_at, entered_at as reached_at,
           cast(null as timestamp) as previous_reached_at
    from seq_entries
    where step_order = 1
),
{% for k in range(2, max_steps + 1) %}
seq_{{ k - 1 }}_best as (
    select
        funnel_id,
        visitor_key,
        reached_at,
        -- RANGE frame: rows with the same reached_at share the maximum.
        max(started_at) over (partition by funnel_id, visitor_key order by reached_at) as best_start
    from seq_{{ k - 1 }}
),

seq_{{ k }} as (
    select
        e.funnel_id,
        e.visitor_key,
        {{ k }} as step_order,
        b.best_start as started_at,
        e.entered_at as reached_at,
        b.reached_at as previous_reached_at
    from (select * from seq_entries where step_order = {{ k }}) e
    asof join seq_{{ k - 1 }}_best b
        on e.funnel_id = b.funnel_id
        and e.visitor_key = b.visitor_key
        and e.entered_at >= b.reached_at
    where e.entered_at <= b.best_start + e.conversion_window
),
{% endfor %}

sequential as (
    {% for k in range(1, max_steps + 1) -%}
    select * from seq_{{ k }}
    {% if not loop.last %}union all
    {% endif %}
    {%- endfor %}
),

-- strict ----------------------------------------------------------------------------------
strict_ordered as (
    select
        *,
        lag(step_order) over w as previous_step_order,
        lag(entered_at) over w as previous_entered_at
    from entries
    where order_mode = 'strict'
    window w as (partition by funnel_id, visitor_key order by entered_at, entry_event_id)
),

strict_runs as (
    select
        *,
        -- A run continues while each entry is the step after the one before it.
        sum(case when step_order = 1 or previous_step_order is distinct from step_order - 1 then 1 else 0 end)
            over (partition by funnel_id, visitor_key order by entered_at, entry_event_id) as run_id
    from strict_ordered
),

strict_chains as (
    select
        *,
        first_value(entered_at) over run as started_at,
        first_value(step_order) over run as first_step_order
    from strict_runs
    window run as (partition by funnel_id, visitor_key, run_id order by entered_at, entry_event_id)
),

strict as (
    select
        funnel_id,
        visitor_key,
        step_order,
        started_at,
        entered_at as reached_at,
        case when step_order > 1 then previous_entered_at end as previous_reached_at
    from strict_chains
    where first_step_order = 1 and entered_at <= started_at + conversion_window
),

-- any_order -------------------------------------------------------------------------------
any_entries as (
    select * from entries where order_mode = 'any_order'
),

any_first_in_window as (
    -- For each anchor entry, the first entry of each step within the anchor's window.
    select
        a.funnel_id,
        a.visitor_key,
        a.entered_at as started_at,
        a.entry_event_id as anchor_event_id,
        b.step_order as entered_step_order,
        min(b.entered_at) as first_entered_at
    from any_entries a
    join any_entries b
        on b.funnel_id = a.funnel_id
        and b.visitor_key = a.visitor_key
        and b.entered_at >= a.entered_at
        and b.entered_at <= a.entered_at + a.conversion_window
    group by all
),

any_order as (
    select
        funnel_id,
        visitor_key,
        cast(row_number() over w as bigint) as step_order,
        started_at,
        first_entered_at as reached_at,
        lag(first_entered_at) over w as previous_reached_at
    from any_first_in_window
    window w as (partition by funnel_id, visitor_key, anchor_event_id order by first_entered_at, entered_step_order)
),

all_modes as (
    select * from sequential
    union all
    select * from strict
    union all
    select * from any_order
)

select
    funnel_id,
    visitor_key,
    cast(step_order as bigint) as step_order,
    started_at,
    reached_at,
    previous_reached_at,
    date_diff('millisecond', previous_reached_at, reached_at) / 1000.0 as seconds_from_previous_step,
    date_diff('millisecond', started_at, reached_at) / 1000.0 as seconds_from_start
from all_modes
-- The earliest arrival per chain start and step (several entries can extend one chain).
qualify row_number() over (
    partition by funnel_id, visitor_key, step_order, started_at
    order by reached_at, previous_reached_at desc
) = 1
