-- A/B test definitions, one row per variant, from the ab_tests YAML.
-- The first loaded row of every natural key (see macros/staging_helpers.sql).
with source as (
    {{ first_loaded_rows(source('raw', 'ab_test_variants'), [
        clean_text('ab_test_id'),
        clean_text('variant_id'),
    ]) }}
),

renamed as (
    select
        {{ clean_text('ab_test_id') }} as ab_test_id,
        {{ clean_text('ab_test_name') }} as ab_test_name,
        {{ clean_text('funnel_id') }} as funnel_id,
        {{ clean_text('conversion_step_id') }} as conversion_step_id,
        cast(started_at as timestamp) as started_at,
        cast(ended_at as timestamp) as ended_at,
        -- contract: alpha is optional, default 0.05
        coalesce(cast(alpha as double), 0.05) as alpha,
        {{ clean_text('variant_id') }} as variant_id,
        {{ clean_text('variant_name') }} as variant_name,
        cast(is_control as boolean) as is_control,
        cast(traffic_split as double) as traffic_split,
        {{ lineage_columns() }}
    from source
)

select * from renamed
