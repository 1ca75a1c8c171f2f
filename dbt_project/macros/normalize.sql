{#- Light normalisation used by the staging models. Each macro maps '' and blanks to NULL. -#}

{#- Trimmed text, '' -> NULL. -#}
{% macro clean_text(expr) -%}
    nullif(trim(cast({{ expr }} as varchar)), '')
{%- endmacro %}


{#- A vocabulary value: trimmed and lower-cased ('Instagram ' -> 'instagram'). -#}
{% macro clean_vocab(expr) -%}
    nullif(lower(trim(cast({{ expr }} as varchar))), '')
{%- endmacro %}


{#- Lower snake case ('Behind Scenes' / 'behind-scenes' -> 'behind_scenes'). -#}
{% macro lower_snake(expr) -%}
    nullif(trim(regexp_replace(lower(trim(cast({{ expr }} as varchar))), '[\s\-]+', '_', 'g'), '_'), '')
{%- endmacro %}


{#- An ISO 4217 currency code: trimmed and upper-cased. -#}
{% macro clean_currency(expr) -%}
    nullif(upper(trim(cast({{ expr }} as varchar))), '')
{%- endmacro %}


{#- A social handle or platform username: trimmed, lower-cased, without a leading '@'.
    Platforms treat handles case-insensitively, so 'Anna_B' and '@anna_b' are one account. -#}
{% macro clean_handle(expr) -%}
    nullif(ltrim(lower(trim(cast({{ expr }} as varchar))), '@'), '')
{%- endmacro %}


{#- A referral / tracking link code. A full tracking URL carries the code in its ?c= parameter
    (contract: subscribers.link_code); a URL without one is kept whole so that the
    relationships test to stg_social__tracking_links shows it instead of losing it. -#}
{% macro link_code_from_url(expr) -%}
    coalesce(
        nullif(regexp_extract(trim(cast({{ expr }} as varchar)), '[?&]c=([^&#]+)', 1), ''),
        nullif(trim(cast({{ expr }} as varchar)), '')
    )
{%- endmacro %}


{#- E-mail as ad platforms' offline-conversion APIs expect it before hashing: trimmed and
    lower-cased; a value that is not shaped like an address gives NULL. -#}
{% macro normalize_email(expr) -%}
    case
        when regexp_full_match(lower(trim(cast({{ expr }} as varchar))), '[^@\s]+@[^@\s]+\.[^@\s]+')
            then lower(trim(cast({{ expr }} as varchar)))
    end
{%- endmacro %}


{#- Phone as digits with the country code and no '+' (E.164 without the plus; Meta's format):
    - symbols, spaces and letters are removed;
    - an international prefix '00' is dropped ('0044 20 ...' -> '4420...');
    - a number written without '+' or '00' is taken to carry its country code already, unless the
      dbt var phone_default_country_code is set: then one national trunk '0' is dropped and the
      code is prefixed ('020 7946 0018' with code 44 -> '442079460018');
    - the result must be 8 to 15 digits not starting with 0 (E.164), otherwise NULL. -#}
{% macro normalize_phone(expr) -%}
    {%- set raw = "trim(cast(" ~ expr ~ " as varchar))" -%}
    {%- set digits = "regexp_replace(" ~ raw ~ ", '[^0-9]', '', 'g')" -%}
    {%- set country = var('phone_default_country_code', none) -%}
    {%- if country -%}
        {%- set national = "'" ~ (country | string | replace('+', '') | trim) ~ "' || regexp_replace(" ~ digits ~ ", '^0', '')" -%}
    {%- else -%}
        {%- set national = digits -%}
    {%- endif -%}
    {%- set international = "case when " ~ raw ~ " like '+%' then " ~ digits
        ~ " when " ~ digits ~ " like '00%' then substr(" ~ digits ~ ", 3) else " ~ national ~ " end" -%}
    case when regexp_full_match({{ international }}, '[1-9][0-9]{7,14}') then {{ international }} end
{%- endmacro %}
