-- Website funnel tracking events (SPEC-FUN-004). Event scale: one pass of column expressions, a
-- dedup that only sorts duplicated keys, no joins. visitor_id and ip_address leave as salted hashes; session_id is
-- kept: it is a random per-session token of the tracker that identifies no one on its own, and
-- an erasure removes a visitor's rows (and with them the sessions) by visitor_key.
-- The first loaded row of every natural key (see macros/staging_helpers.sql).
with source as (
    {{ first_loaded_rows(source('raw', 'tracking_events'), [
        clean_text('event_id'),
    ]) }}
),

renamed as (
    select
        {{ clean_text('event_id') }} as event_id,
        {{ clean_vocab('event_type') }} as event_type,
        cast(occurred_at as timestamp) as occurred_at,
        {{ clean_text('funnel_id') }} as funnel_id,
        {{ clean_text('page_id') }} as page_id,
        {{ clean_text('funnel_step_id') }} as funnel_step_id,
        {{ clean_text('previous_step_id') }} as previous_step_id,
        {{ clean_text('next_step_id') }} as next_step_id,
        {{ clean_text('session_id') }} as session_id,
        {{ hash_id(clean_text('visitor_id'), default_tenant_literal()) }} as visitor_key,
        {{ hash_id(clean_vocab('ip_address'), default_tenant_literal()) }} as ip_key,
        {{ clean_text('url') }} as url,
        {{ clean_text('user_agent') }} as user_agent,
        {{ clean_text('referrer') }} as referrer,
        {{ clean_vocab('utm_source') }} as utm_source,
        {{ clean_vocab('utm_medium') }} as utm_medium,
        {{ clean_text('utm_campaign') }} as utm_campaign,
        {{ clean_vocab('conversion_type') }} as conversion_type,
        cast(value_cents as bigint) as value_cents,
        {{ clean_vocab('exit_outcome') }} as exit_outcome,
        cast(metadata as json) as metadata,
        {{ clean_text('ab_test_id') }} as ab_test_id,
        {{ clean_text('variant_id') }} as variant_id,
        {{ clean_text('product_id') }} as product_id,
        cast(quantity as bigint) as quantity,
        {{ lineage_columns() }}
    from source
)

select * from renamed
