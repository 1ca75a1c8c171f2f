-- Manual content-type tags, one row per post. Rule-based suggestions are added in
-- intermediate; tag_source lets that union keep "a manual tag always wins".
-- The first loaded row of every natural key (see macros/staging_helpers.sql).
with source as (
    {{ first_loaded_rows(source('raw', 'content_tags'), [
        clean_vocab('platform'),
        clean_text('post_id'),
    ]) }}
),

renamed as (
    select
        {{ clean_vocab('platform') }} as platform,
        {{ clean_text('post_id') }} as post_id,
        {{ lower_snake('content_type') }} as content_type,
        {{ clean_text('creator_id') }} as creator_id,
        {{ clean_text('tagged_by') }} as tagged_by,
        cast(tagged_at as timestamp) as tagged_at,
        'manual' as tag_source,
        {{ lineage_columns() }}
    from source
)

select * from renamed
