-- Funnel definitions, one row per step, from the funnels YAML.
-- The first loaded row of every natural key (see macros/staging_helpers.sql).
with source as (
    {{ first_loaded_rows(source('raw', 'funnel_steps'), [
        clean_text('funnel_id'),
        clean_text('step_id'),
    ]) }}
),

renamed as (
    select
        {{ clean_text('funnel_id') }} as funnel_id,
        {{ clean_text('funnel_name') }} as funnel_name,
        {{ clean_vocab('order_mode') }} as order_mode,
        cast(conversion_window_days as double) as conversion_window_days,
        {{ clean_text('step_id') }} as step_id,
        {{ clean_text('step_name') }} as step_name,
        cast(step_order as bigint) as step_order,
        {{ lineage_columns() }}
    from source
)

select * from renamed
