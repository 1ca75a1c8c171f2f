{#-
    Person-id pseudonymisation.

    hash_id(id_expr, tenant_expr) = lower-hex SHA-256 of  salt || '|' || tenant || '|' || id

    - salt: FUNNELLENS_ID_SALT. The Python side sets it from funnellens.config.id_salt() before it
      invokes dbt; outside production a fixed development salt is the default. With
      FUNNELLENS_ENV=production a missing salt fails the compilation.
    - tenant: the agency_id for creator-side data (fans), FUNNELLENS_TENANT (default_tenant()) for
      tracking, product and marketing data. The same person id in two tenants gets two keys.
    - A NULL id or tenant gives a NULL key (|| propagates NULL), never the hash of an empty string.

    The salt is a secret: dbt writes compiled SQL (and so the salt literal) to the target path and
    to its debug log, so keep both out of the repo and readable by the pipeline only.
-#}

{% macro id_salt() -%}
    {%- set salt = env_var('FUNNELLENS_ID_SALT', '') -%}
    {%- if not salt -%}
        {%- if env_var('FUNNELLENS_ENV', 'dev') == 'production' -%}
            {{ exceptions.raise_compiler_error(
                "FUNNELLENS_ENV=production but FUNNELLENS_ID_SALT is not set: person ids cannot be "
                ~ "hashed with the development salt. Set FUNNELLENS_ID_SALT (or FUNNELLENS_SALT_FILE, "
                ~ "read by funnellens.config.id_salt()) before running dbt."
            ) }}
        {%- endif -%}
        {%- set salt = 'funnellens-dev-salt-not-for-production' -%}
    {%- endif -%}
    {{ return(salt) }}
{%- endmacro %}


{% macro default_tenant() -%}
    {{ return(env_var('FUNNELLENS_TENANT', 'default')) }}
{%- endmacro %}


{% macro sql_string(value) -%}
    '{{ value | replace("'", "''") }}'
{%- endmacro %}


{#- SHA-256 of a text expression as 64 lower-case hex characters, identical on every adapter. -#}
{% macro sha256_hex(expr) -%}
    {{ return(adapter.dispatch('sha256_hex', 'funnellens')(expr)) }}
{%- endmacro %}

{% macro default__sha256_hex(expr) -%}
    encode(sha256(convert_to({{ expr }}, 'UTF8')), 'hex')
{%- endmacro %}

{% macro duckdb__sha256_hex(expr) -%}
    sha256({{ expr }})
{%- endmacro %}


{% macro hash_id(id_expr, tenant_expr) -%}
    {{ funnellens.sha256_hex(
        funnellens.sql_string(funnellens.id_salt() ~ '|') ~ " || cast(" ~ tenant_expr ~ " as varchar) || '|' || cast("
        ~ id_expr ~ " as varchar)"
    ) }}
{%- endmacro %}


{#- The tenant of tracking, product and marketing data, as a SQL literal. -#}
{% macro default_tenant_literal() -%}
    {{ funnellens.sql_string(funnellens.default_tenant()) }}
{%- endmacro %}
