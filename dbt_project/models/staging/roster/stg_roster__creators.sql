-- The roster: one row per creator, with the agency that is the tenant of the creator's fan data.
-- The first loaded row of every natural key (see macros/staging_helpers.sql).
with source as (
    {{ first_loaded_rows(source('raw', 'creators'), [
        clean_text('creator_id'),
    ]) }}
),

renamed as (
    select
        {{ clean_text('creator_id') }} as creator_id,
        {{ clean_text('creator_name') }} as creator_name,
        {{ clean_text('agency_id') }} as agency_id,
        {{ clean_text('agency_name') }} as agency_name,
        coalesce({{ clean_text('agency_timezone') }}, 'UTC') as agency_timezone,
        {{ clean_handle('tiktok_handle') }} as tiktok_handle,
        {{ clean_handle('instagram_handle') }} as instagram_handle,
        {{ lineage_columns() }}
    from source
)

select * from renamed
