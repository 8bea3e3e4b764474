{#
    Fails on every row where any text column holds a PAN (ABCDE1234F) or an
    Aadhaar-like number (12 digits, optionally spaced 4-4-4, word-bounded).
    Put it on every mart: PII must be masked before anything leaves staging.
#}
{% test no_pii_in_text(model) %}

{%- set text_columns = [] -%}
{%- if execute -%}
    {%- for col in adapter.get_columns_in_relation(model) -%}
        {%- if col.is_string() -%}{%- do text_columns.append(adapter.quote(col.name)) -%}{%- endif -%}
    {%- endfor -%}
{%- endif %}

select *
from {{ model }}
where
{%- if text_columns | length == 0 %}
    false
{%- else %}
    {%- for col in text_columns %}
        coalesce({{ api_trust.has_pii(col) }}, false){% if not loop.last %} or{% endif %}
    {%- endfor %}
{%- endif %}

{% endtest %}
