{#- Model-level: every row has a value in at least one of `columns`
    (contract: a product event has a user_id or an anonymous_id). -#}
{% test assert_at_least_one_not_null(model, columns) %}
    select *
    from {{ model }}
    where coalesce({{ columns | join(', ') }}) is null
{% endtest %}
