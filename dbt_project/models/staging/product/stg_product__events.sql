-- App product events. user_id and anonymous_id leave as salted hashes. properties and context
-- are kept as loaded for now: PII scrubbing of their contents is issue 6 and belongs here.
-- The first loaded row of every natural key (see macros/staging_helpers.sql).
with source as (
    {{ first_loaded_rows(source('raw', 'product_events'), [
        clean_text('event_id'),
    ]) }}
),

renamed as (
    select
        {{ clean_text('event_id') }} as event_id,
        {{ clean_text('event_name') }} as event_name,
        cast(occurred_at as timestamp) as occurred_at,
        {{ hash_id(clean_text('user_id'), default_tenant_literal()) }} as user_key,
        {{ hash_id(clean_text('anonymous_id'), default_tenant_literal()) }} as anonymous_key,
        cast(properties as json) as properties,
        cast(context as json) as context,
        {{ lineage_columns() }}
    from source
)

select * from renamed
