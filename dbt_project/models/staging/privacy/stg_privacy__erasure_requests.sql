-- GDPR erasure requests, with the subject's id only as the hashed keys it has in staging. The
-- erasure job reads the clear subject_id from raw (raw still holds clear ids); downstream of
-- staging, rows are found by these keys.
-- The first loaded row of every natural key (see macros/staging_helpers.sql).
with source as (
    {{ first_loaded_rows(source('raw', 'erasure_requests'), [
        clean_text('request_id'),
    ]) }}
),

renamed as (
    select
        {{ clean_text('request_id') }} as request_id,
        {{ clean_vocab('subject_type') }} as subject_type,
        {{ clean_text('subject_id') }} as subject_id_clear,
        cast(requested_at as timestamp) as requested_at,
        {{ lineage_columns() }}
    from source
),

agencies as (
    select distinct agency_id
    from {{ ref('stg_roster__creators') }}
    where agency_id is not null
),

-- Fans are hashed per agency and the request does not say which one: take every agency, and
-- the id both as a fan_id and as a username (fan_username_key / counterparty_key).
fan_keys as (
    select
        r.request_id,
        list(distinct k.fan_key order by k.fan_key) as subject_keys
    from renamed as r
    cross join agencies as a
    cross join lateral (
        select {{ hash_id('r.subject_id_clear', 'a.agency_id') }} as fan_key
        union all
        select {{ hash_id(clean_handle('r.subject_id_clear'), 'a.agency_id') }}
    ) as k
    where r.subject_type = 'fan'
        and k.fan_key is not null
    group by r.request_id
),

keyed as (
    select
        r.*,
        case
            when r.subject_type = 'email' then {{ sha256_hex(normalize_email('r.subject_id_clear')) }}
            when r.subject_type in ('user', 'anonymous', 'visitor')
                then {{ hash_id('r.subject_id_clear', default_tenant_literal()) }}
        end as subject_key
    from renamed as r
)

select
    keyed.request_id,
    keyed.subject_type,
    keyed.subject_key,
    case
        when keyed.subject_type = 'fan' then coalesce(fan_keys.subject_keys, [])
        when keyed.subject_key is not null then [keyed.subject_key]
        else []
    end as subject_keys,
    keyed.requested_at,
    keyed._source_file,
    keyed._line,
    keyed._load_id,
    keyed._loaded_at
from keyed
left join fan_keys
    on fan_keys.request_id = keyed.request_id
