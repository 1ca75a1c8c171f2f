{#- Column-level: every non-NULL value matches `pattern` in full (DuckDB regexp_full_match). -#}
{% test matches_regex(model, column_name, pattern) %}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} is not null
      and not regexp_full_match(cast({{ column_name }} as varchar), '{{ pattern | replace("'", "''") }}')
{% endtest %}
