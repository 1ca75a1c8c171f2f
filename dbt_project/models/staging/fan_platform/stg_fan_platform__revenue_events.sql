-- Typed revenue statement rows. The fan named in a description ("Tip from X") is PII: it
-- leaves as counterparty_key (hashed exactly like stg_fan_platform__subscribers.fan_username_key,
-- so the two join) and is redacted from the description.
-- The first loaded row of every natural key (see macros/staging_helpers.sql).
with source as (
    {{ first_loaded_rows(source('raw', 'revenue_events'), [
        clean_text('creator_id'),
        'cast(occurred_at as timestamp)',
        'cast(amount as double)',
        clean_text('description'),
    ]) }}
),

creators as (
    select creator_id, agency_id from {{ ref('stg_roster__creators') }}
),

renamed as (
    select
        {{ clean_text('r.creator_id') }} as creator_id,
        c.agency_id,
        cast(r.occurred_at as timestamp) as occurred_at,
        cast(r.amount as double) as amount,
        cast(r.fee as double) as fee,
        cast(r.net as double) as net,
        {{ clean_currency('r.currency') }} as currency,
        {{ clean_vocab('r.revenue_type') }} as revenue_type,
        {{ clean_text('r.description') }} as description_clear,
        {{ clean_text('r.counterparty') }} as counterparty_clear,
        {{ lineage_columns('r') }}
    from source as r
    left join creators as c
        on c.creator_id = {{ clean_text('r.creator_id') }}
)

select
    {{ hash_id(
        "concat_ws('|', creator_id, strftime(occurred_at, '%Y-%m-%dT%H:%M:%S.%f'), cast(amount as varchar), coalesce(description_clear, ''))",
        'agency_id'
    ) }} as revenue_event_id,
    agency_id,
    creator_id,
    occurred_at,
    revenue_type,
    amount,
    fee,
    net,
    currency,
    -- "Tip from X": swap the trailing name; a name elsewhere in the text is replaced wherever it is.
    case
        when counterparty_clear is null then description_clear
        when ends_with(description_clear, counterparty_clear)
            then left(description_clear, length(description_clear) - length(counterparty_clear)) || '[fan]'
        else replace(description_clear, counterparty_clear, '[fan]')
    end as description,
    {{ hash_id(clean_handle('counterparty_clear'), 'agency_id') }} as counterparty_key,
    _source_file,
    _line,
    _load_id,
    _loaded_at
from renamed
