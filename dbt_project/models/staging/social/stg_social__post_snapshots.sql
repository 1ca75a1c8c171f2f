-- Cumulative post metrics per export snapshot. Deltas between snapshots are computed in
-- intermediate (int_post_view_deltas), never here: staging keeps the exported totals.
-- The first loaded row of every natural key (see macros/staging_helpers.sql).
with source as (
    {{ first_loaded_rows(source('raw', 'social_post_snapshots'), [
        clean_vocab('platform'),
        clean_text('post_id'),
        'cast(snapshot_at as timestamp)',
    ]) }}
),

renamed as (
    select
        {{ clean_vocab('platform') }} as platform,
        {{ clean_text('post_id') }} as post_id,
        cast(snapshot_at as timestamp) as snapshot_at,
        {{ clean_text('creator_id') }} as creator_id,
        {{ clean_text('post_url') }} as post_url,
        {{ clean_text('caption') }} as caption,
        {{ clean_vocab('post_type') }} as post_type,
        cast(published_at as timestamp) as published_at,
        cast(duration_sec as double) as duration_sec,
        cast(views as bigint) as views,
        cast(reach as bigint) as reach,
        cast(likes as bigint) as likes,
        cast(comments as bigint) as comments,
        cast(shares as bigint) as shares,
        cast(saves as bigint) as saves,
        cast(follows as bigint) as follows,
        cast(clicks as bigint) as clicks,
        {{ clean_text('account_id') }} as account_id,
        {{ clean_handle('account_username') }} as account_username,
        {{ clean_vocab('export_format') }} as export_format,
        {{ clean_vocab('views_metric') }} as views_metric,
        {{ lineage_columns() }}
    from source
)

select * from renamed
