-- Subscriptions. Fans are people: fan_id and fan_username leave as salted hashes keyed by the
-- agency (the tenant), joined from the roster through creator_id. A creator missing from the
-- roster gives NULL keys and fails the not_null / relationships tests rather than being hashed
-- under a made-up tenant.
-- The first loaded row of every natural key (see macros/staging_helpers.sql).
with source as (
    {{ first_loaded_rows(source('raw', 'subscribers'), [
        clean_text('creator_id'),
        clean_text('fan_id'),
        'cast(subscribed_at as timestamp)',
    ]) }}
),

creators as (
    select creator_id, agency_id from {{ ref('stg_roster__creators') }}
),

renamed as (
    select
        {{ clean_text('s.creator_id') }} as creator_id,
        c.agency_id,
        {{ clean_text('s.fan_id') }} as fan_id_clear,
        {{ clean_handle('s.fan_username') }} as fan_username_clear,
        cast(s.subscribed_at as timestamp) as subscribed_at,
        cast(s.price as double) as price,
        {{ clean_currency('s.currency') }} as currency,
        {{ link_code_from_url('s.link_code') }} as link_code,
        {{ lineage_columns('s') }}
    from source as s
    left join creators as c
        on c.creator_id = {{ clean_text('s.creator_id') }}
)

select
    {{ hash_id("creator_id || '|' || fan_id_clear || '|' || strftime(subscribed_at, '%Y-%m-%dT%H:%M:%S.%f')", 'agency_id') }}
        as subscription_id,
    agency_id,
    creator_id,
    {{ hash_id('fan_id_clear', 'agency_id') }} as fan_key,
    {{ hash_id('fan_username_clear', 'agency_id') }} as fan_username_key,
    subscribed_at,
    price,
    currency,
    link_code,
    _source_file,
    _line,
    _load_id,
    _loaded_at
from renamed
