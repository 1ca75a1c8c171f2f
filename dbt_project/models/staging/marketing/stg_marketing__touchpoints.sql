-- Marketing touchpoints. user_id and journey_id are person-linked ids: salted hashes keyed by
-- the deployment tenant (FUNNELLENS_TENANT), the same keys as in conversions and product events.
-- The first loaded row of every natural key (see macros/staging_helpers.sql).
with source as (
    {{ first_loaded_rows(source('raw', 'touchpoints'), [
        clean_text('touchpoint_id'),
    ]) }}
),

renamed as (
    select
        {{ clean_text('touchpoint_id') }} as touchpoint_id,
        {{ hash_id(clean_text('user_id'), default_tenant_literal()) }} as user_key,
        {{ hash_id(clean_text('journey_id'), default_tenant_literal()) }} as journey_key,
        cast(touched_at as timestamp) as touched_at,
        {{ clean_vocab('channel') }} as channel,
        {{ clean_text('campaign') }} as campaign,
        {{ clean_vocab('source') }} as source,
        {{ clean_vocab('medium') }} as medium,
        {{ clean_vocab('utm_source') }} as utm_source,
        {{ clean_vocab('utm_medium') }} as utm_medium,
        {{ clean_text('utm_campaign') }} as utm_campaign,
        {{ clean_vocab('platform') }} as platform,
        cast(cost as double) as cost,
        {{ lineage_columns() }}
    from source
)

select * from renamed
