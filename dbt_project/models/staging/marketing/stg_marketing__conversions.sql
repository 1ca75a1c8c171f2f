-- Conversions. user_id is hashed like in touchpoints; e-mail and phone are normalised and then
-- plain (unsalted) SHA-256 hashed, which is what offline-conversion APIs (Meta CAPI, GA4
-- Measurement Protocol) match on. The clear values never leave raw.
-- The first loaded row of every natural key (see macros/staging_helpers.sql).
with source as (
    {{ first_loaded_rows(source('raw', 'conversions'), [
        clean_text('conversion_id'),
    ]) }}
),

renamed as (
    select
        {{ clean_text('conversion_id') }} as conversion_id,
        {{ hash_id(clean_text('user_id'), default_tenant_literal()) }} as user_key,
        cast(converted_at as timestamp) as converted_at,
        {{ clean_vocab('conversion_type') }} as conversion_type,
        cast(value as double) as value,
        {{ clean_currency('currency') }} as currency,
        {{ sha256_hex(normalize_email('email')) }} as email_sha256,
        {{ sha256_hex(normalize_phone('phone')) }} as phone_sha256,
        {{ sha256_hex("'+' || " ~ normalize_phone('phone')) }} as phone_e164_sha256,
        {{ lineage_columns() }}
    from source
)

select * from renamed
