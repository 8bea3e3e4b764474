{#
    Fails on every row where any text column, or any map/struct/list column read
    as text, holds personal data by the rules of macros/pii.sql (PAN, Aadhaar,
    phone, email, IP), the same rules the loaders mask with at landing. Put it
    on every mart and on the raw landing tables: a leak fails the build.
    `exclude` names columns that hold digests (a sha256 may show twelve digits
    in a row), never text that came from a log.
#}
{% test no_pii_in_text(model, exclude=[]) %}

{%- set text_columns = [] -%}
{%- if execute -%}
    {%- for col in adapter.get_columns_in_relation(model) if col.name | lower not in exclude -%}
        {%- if col.is_string() -%}
            {%- do text_columns.append(adapter.quote(col.name)) -%}
        {%- elif col.dtype.upper().startswith(('MAP', 'STRUCT', 'LIST')) or col.dtype.endswith('[]') -%}
            {%- do text_columns.append('cast(' ~ adapter.quote(col.name) ~ ' as string)') -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif %}

{%- if text_columns | length == 0 %}
select *
from {{ model }}
where false
{%- else %}
select *
from (
    -- the columns joined by a line feed, which no rule matches inside a value (each rule's
    -- boundary takes it as it takes the start or end of a value): one match a row instead
    -- of one a column, half the time on a wide table. Joined once, here: has_pii reads its
    -- argument three times (10M facts: 12.4-14.5 s with the join inline, 9.0 s so)
    select
        *,
        concat_ws(chr(10), {{ text_columns | join(', ') }}) as no_pii_scanned_text
    from {{ model }}
) as scanned
where coalesce({{ api_trust.has_pii('no_pii_scanned_text') }}, false)
{%- endif %}

{% endtest %}
