{#- The raw load-metadata columns every staging model keeps for lineage. -#}
{% macro lineage_columns(relation_alias=none) -%}
    {%- set p = (relation_alias ~ '.') if relation_alias else '' -%}
    {{ p }}_source_file,
    cast({{ p }}_line as bigint) as _line,
    {{ p }}_load_id,
    cast({{ p }}_loaded_at as timestamp) as _loaded_at
{%- endmacro %}


{#- Keep one row per natural key: the first loaded (earliest _loaded_at, then file and line, so
    the choice is deterministic). Raw ingest already drops rows that repeat a key loaded earlier;
    this guards staging against anything that slipped through (re-loaded files, manual inserts). -#}
{% macro dedupe_first_loaded(key_columns) -%}
    qualify row_number() over (
        partition by {{ key_columns | join(', ') }}
        order by _loaded_at, _source_file, _line
    ) = 1
{%- endmacro %}
