{#- Column-level: every non-NULL value lies in [min_value, max_value] (either bound optional;
    inclusive unless inclusive=false). -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
    {%- set ge = '>=' if inclusive else '>' -%}
    {%- set le = '<=' if inclusive else '<' -%}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} is not null
      and not (
        true
        {%- if min_value is not none %} and {{ column_name }} {{ ge }} {{ min_value }}{% endif %}
        {%- if max_value is not none %} and {{ column_name }} {{ le }} {{ max_value }}{% endif %}
      )
{% endtest %}
