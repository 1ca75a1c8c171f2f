-- Promos, price changes, collabs and shout-outs that can explain a lift on their own.
-- The first loaded row of every natural key (see macros/staging_helpers.sql).
with source as (
    {{ first_loaded_rows(source('raw', 'confounders'), [
        clean_text('creator_id'),
        clean_vocab('confounder_type'),
        'cast(starts_at as timestamp)',
    ]) }}
),

renamed as (
    select
        {{ clean_text('creator_id') }} as creator_id,
        {{ clean_vocab('confounder_type') }} as confounder_type,
        cast(starts_at as timestamp) as starts_at,
        cast(ends_at as timestamp) as ends_at,
        {{ clean_text('description') }} as description,
        {{ lineage_columns() }}
    from source
)

select
    md5(concat_ws('|', creator_id, confounder_type, strftime(starts_at, '%Y-%m-%dT%H:%M:%S.%f')))
        as confounder_id,
    *
from renamed
