{#- One row per quarantined record and reason, so reasons can be counted exactly. -#}
{%- set issue_columns = api_trust.validation_issue_columns() -%}

with

validated_calls as (
    select * from {{ ref('int_api_calls_validated') }}
),

quarantined as (
    select * from validated_calls
    where route = 'quarantine'
),

reasons as (
    {%- for issue in issue_columns %}
        select
            call_id as request_id,
            batch_id,
            source_record_no,
            '{{ issue | replace("_issue", "") }}' as column_name,
            {{ issue }} as reason
        from quarantined
        where {{ issue }} is not null
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select * from reasons
