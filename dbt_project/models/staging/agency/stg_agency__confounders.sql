-- Promos, price changes, collabs and shout-outs that can explain a lift on their own.
with source as (
    select * from {{ source('raw', 'confounders') }}
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
),

deduplicated as (
    select * from renamed
    {{ dedupe_first_loaded(['creator_id', 'confounder_type', 'starts_at']) }}
)

select
    md5(concat_ws('|', creator_id, confounder_type, strftime(starts_at, '%Y-%m-%dT%H:%M:%S.%f')))
        as confounder_id,
    *
from deduplicated
