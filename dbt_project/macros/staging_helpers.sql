{#- The raw load-metadata columns every staging model keeps for lineage. -#}
{% macro lineage_columns(relation_alias=none) -%}
    {%- set p = (relation_alias ~ '.') if relation_alias else '' -%}
    {{ p }}_source_file,
    cast({{ p }}_line as bigint) as _line,
    {{ p }}_load_id,
    cast({{ p }}_loaded_at as timestamp) as _loaded_at
{%- endmacro %}


{#-
    The rows of a raw table without the later duplicates of a natural key: for each key, the
    first loaded row wins (earliest _loaded_at, then file, then line, so the choice is
    deterministic). key_exprs are SQL expressions over the raw columns, normalised the way the
    model normalises them ('TikTok ' and 'tiktok' are one key); NULL keys compare equal.

    Raw ingest already drops rows that repeat a key loaded earlier, so duplicates are rare. A plain
    `qualify row_number() over (partition by key ...) = 1` over the whole table sorts every row
    with every column; here only the key columns are grouped to find duplicated keys, the window
    runs over those rows alone, and the losers are removed by rowid with an anti join. On 1M
    tracking events this costs about 1.5x a plain copy instead of 2.5x. Needs a raw *table* (rowid).
-#}
{% macro first_loaded_rows(relation, key_exprs) -%}
    {%- set n = key_exprs | length -%}
    with _keyed as (
        select
            rowid as _raw_rowid,
            {%- for expr in key_exprs %}
            {{ expr }} as _dedup_key_{{ loop.index }},
            {%- endfor %}
            _loaded_at,
            _source_file,
            _line
        from {{ relation }}
    ),

    _duplicated_keys as (
        select {% for i in range(1, n + 1) %}_dedup_key_{{ i }}{{ ", " if not loop.last }}{% endfor %}
        from _keyed
        group by all
        having count(*) > 1
    ),

    _later_duplicates as (
        select k._raw_rowid
        from _keyed as k
        semi join _duplicated_keys as d
            on {% for i in range(1, n + 1) -%}
            k._dedup_key_{{ i }} is not distinct from d._dedup_key_{{ i }}{{ " and " if not loop.last }}
            {%- endfor %}
        qualify row_number() over (
            partition by {% for i in range(1, n + 1) %}k._dedup_key_{{ i }}{{ ", " if not loop.last }}{% endfor %}
            order by k._loaded_at, k._source_file, k._line
        ) > 1
    )

    select raw_rows.*
    from {{ relation }} as raw_rows
    anti join _later_duplicates as later
        on raw_rows.rowid = later._raw_rowid
{%- endmacro %}
