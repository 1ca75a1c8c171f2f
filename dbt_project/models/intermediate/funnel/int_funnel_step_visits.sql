{{ config(materialized='table') }}
-- One row per step visit: a step_entry event of a defined funnel step, paired with the exit
-- that closes it. An exit belongs to the latest entry of the same session, funnel and step at or
-- before it (an ASOF join), and an entry keeps its earliest exit, so a lost event shifts no
-- other pair. An entry without an exit has exit_outcome NULL (unknown, never a drop-off).
with steps as (
    select funnel_id, funnel_name, order_mode, conversion_window_days, step_id, step_name, step_order
    from {{ ref('stg_definitions__funnel_steps') }}
),

entries as (
    select
        e.event_id as entry_event_id,
        e.session_id,
        e.visitor_key,
        e.funnel_id,
        e.funnel_step_id as step_id,
        e.occurred_at as entered_at,
        e.previous_step_id
    from {{ ref('stg_tracking__events') }} e
    where e.event_type = 'step_entry' and e.funnel_id is not null and e.funnel_step_id is not null
),

exits as (
    select
        e.event_id as exit_event_id,
        e.session_id,
        e.funnel_id,
        e.funnel_step_id as step_id,
        e.occurred_at as exited_at,
        e.exit_outcome,
        e.next_step_id,
        nullif(trim(json_extract_string(e.metadata, '$.exit_reason')), '') as exit_reason
    from {{ ref('stg_tracking__events') }} e
    where e.event_type = 'step_exit' and e.funnel_id is not null and e.funnel_step_id is not null
),

matched_exits as (
    select
        n.entry_event_id,
        min(x.exited_at) as exited_at,
        arg_min_null(x.exit_outcome, x.exited_at) as exit_outcome,
        arg_min_null(x.next_step_id, x.exited_at) as next_step_id,
        arg_min_null(x.exit_reason, x.exited_at) as exit_reason
    from exits x
    asof join entries n
        on x.session_id = n.session_id
        and x.funnel_id = n.funnel_id
        and x.step_id = n.step_id
        and x.exited_at >= n.entered_at
    group by n.entry_event_id
),

visits as (
    select
        n.*,
        x.exited_at,
        -- An exit that names the next step but no outcome moved on to it.
        coalesce(x.exit_outcome, case when x.next_step_id is not null then 'next_step' end) as exit_outcome,
        x.next_step_id,
        x.exit_reason
    from entries n
    left join matched_exits x using (entry_event_id)
)

select
    v.entry_event_id,
    v.funnel_id,
    s.funnel_name,
    s.order_mode,
    s.conversion_window_days,
    v.step_id,
    s.step_name,
    s.step_order,
    v.session_id,
    v.visitor_key,
    v.entered_at,
    v.exited_at,
    date_diff('millisecond', v.entered_at, v.exited_at) / 1000.0 as time_in_step_s,
    v.exit_outcome,
    coalesce(v.exit_outcome in ('bounce', 'close'), false) as is_dropoff,
    v.previous_step_id,
    coalesce(v.previous_step_id, '(direct)') as entry_path,
    v.next_step_id,
    case v.exit_outcome
        when 'next_step' then coalesce(v.next_step_id, '(unknown)')
        when 'conversion' then '(conversion)'
        when 'bounce' then '(exit)'
        when 'close' then '(exit)'
        else '(unknown)'
    end as exit_path,
    v.exit_reason,
    ss.traffic_source,
    ss.traffic_medium,
    ss.device_type,
    ss.browser,
    ss.os,
    ss.ab_test_id,
    ss.variant_id
from visits v
join steps s on s.funnel_id = v.funnel_id and s.step_id = v.step_id
left join {{ ref('int_tracking_sessions') }} ss on ss.session_id = v.session_id
