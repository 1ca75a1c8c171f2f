{#- Model-level: no two rows share the same values of `combination` (a composite natural key).
    Rows with a NULL in the key count as values (NULL = NULL here), as in the dedup window. -#}
{% test unique_combination_of_columns(model, combination) %}
    select
        {{ combination | join(', ') }},
        count(*) as n_rows
    from {{ model }}
    group by {{ combination | join(', ') }}
    having count(*) > 1
{% endtest %}
