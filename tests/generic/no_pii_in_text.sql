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
    in a row), never text that came from a log.
#}
{% test no_pii_in_text(model, exclude=[]) %}

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
    from {{ model }}
) as scanned
where coalesce({{ api_trust.has_pii('no_pii_scanned_text') }}, false)
{%- endif %}

{% endtest %}
