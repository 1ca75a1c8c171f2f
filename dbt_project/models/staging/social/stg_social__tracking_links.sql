-- Referral / tracking link codes: ground truth for the source of a fan who used one.
-- The first loaded row of every natural key (see macros/staging_helpers.sql).
with source as (
    {{ first_loaded_rows(source('raw', 'tracking_links'), [
        link_code_from_url('link_code'),
    ]) }}
),

renamed as (
    select
        {{ link_code_from_url('link_code') }} as link_code,
        {{ clean_text('creator_id') }} as creator_id,
        {{ clean_vocab('platform') }} as platform,
        {{ clean_text('post_id') }} as post_id,
        {{ lower_snake('content_type') }} as content_type,
        cast(created_at as timestamp) as created_at,
        {{ lineage_columns() }}
    from source
)

select * from renamed
