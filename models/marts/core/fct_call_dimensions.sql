{#
    The extra dimensions of every fact, in long form: one row per call and
    delivered field named in vars.analysis_dimensions.extra (an `sdk_version`,
    a `country`, a `merchant_id`), so that any field a team's logs carry can
    be sliced by without a column, and contracts stay enforced.
    A view over fct_api_calls.extra_fields, with each value as
    extra_dimension_value reads it (the root-cause leaves read the same values
    inline): stored, it cost a full write of every call's id (10.6 s at 10M
    rows, 257 s at 100M) for a table no model reads.
#}
{{ config(materialized='view') }}

with

api_calls as (
    select
        request_id,
        batch_id,
        extra_fields
    from {{ ref('fct_api_calls') }}
    where extra_fields is not null
),

extra_values as (
    {%- set extras = var('analysis_dimensions')['extra'] %}
    {%- for dim in extras %}
        select
            request_id,
            batch_id,
            '{{ dim }}' as dimension,
            {{ api_trust.extra_dimension_value('extra_fields', dim) }} as dimension_value
        from api_calls
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
    {%- if extras | length == 0 %}
        select
            cast(null as varchar) as request_id,
            cast(null as varchar) as batch_id,
            cast(null as varchar) as dimension,
            cast(null as varchar) as dimension_value
        where false
    {%- endif %}
),

final as (
    select
        -- ids
        request_id,
        batch_id,

        -- strings
        dimension,
        dimension_value
    from extra_values
    where dimension_value is not null
)

select * from final
