{#
    Fails on every row where any text column, or any map/struct/list column read
    as text, holds personal data by the rules of macros/pii.sql (PAN, Aadhaar,
    phone, email, IP), the same rules the loaders mask with at landing. Put it
    on every mart and raw table: a leak fails the build. The landed records
    and the facts, the largest, are scanned batch by batch instead
    (int_landed_batches_scanned_for_pii, int_fact_batches_scanned_for_pii),
    and fct_verifications, whose text values are the facts' and dim_apis's as
    they are, through them.
    `exclude` names columns that hold digests (a sha256 may show twelve digits
    in a row), never text that came from a log, or values that a scan of the
    relation they come from, unchanged, already reads.
    `distinct`: scan each distinct combination of the text columns once (a failing
    row is that combination), for a relation whose text takes few values over
    many rows (fct_call_dimensions: 3.4 s -> 1.8 s at 10M rows).
#}
{% test no_pii_in_text(model, exclude=[], distinct=false) %}

{%- set text_columns = api_trust.pii_text_columns(model, exclude) -%}

{%- if text_columns | length == 0 %}
select *
from {{ model }}
where false
{%- else %}
select *
from (
    -- the columns joined once, here (why: macro pii_joined_text)
    select
        *,
        {{ api_trust.pii_joined_text(text_columns) }} as no_pii_scanned_text
    {%- if distinct %}
    from (
        select distinct {{ api_trust.pii_text_columns(model, exclude, named=true) | join(', ') }}
        from {{ model }}
    ) as distinct_text
    {%- else %}
    from {{ model }}
    {%- endif %}
) as scanned
where coalesce({{ api_trust.has_pii('no_pii_scanned_text') }}, false)
{%- endif %}

{% endtest %}
