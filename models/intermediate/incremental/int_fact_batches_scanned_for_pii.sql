{#
    The personal-data scan of fct_api_calls, one row per landed batch (doc
    pii_batch_scans). A batch's facts change when the batch is validated again
    (int_api_calls_validated's validated_at) or when the API catalogue changes
    the family or owner of one of the batch's APIs, so both are its generation.
    Beside the facts' text columns it reads each extra dimension's value as
    fct_call_dimensions decodes it from extra_fields (a JSON escape can spell
    what the raw text does not show), so that view is scanned here, once per
    batch, not whole on every run.
#}
{{ config(materialized='table') }}

{%- set generations -%}
    select
        apis_called.batch_id,
        -- '' for a batch validated before validated_at existed, so that its APIs' part still counts
        coalesce(cast(max(apis_called.validated_at) as string), '')
        || '|' || coalesce(cast(sum(hash(apis_called.api_name, apis.api_family, apis.owner_team)) as string), '')
            as generation
    from (
        select
            batch_id,
            api_name,
            max(validated_at) as validated_at
        from {{ ref('int_api_calls_validated') }}
        where route = 'fact'
        group by batch_id, api_name
    ) as apis_called
    left join {{ ref('dim_apis') }} as apis
        on apis_called.api_name = apis.api_name
    group by apis_called.batch_id
{%- endset %}

{%- set extra_texts = [] -%}
{%- for dim in api_trust.listed_extra_dimensions() -%}
    {%- do extra_texts.append(api_trust.extra_dimension_value('extra_fields', dim)) -%}
{%- endfor %}

{{ api_trust.pii_batch_scans(ref('fct_api_calls'), generations, extra_texts) }}
