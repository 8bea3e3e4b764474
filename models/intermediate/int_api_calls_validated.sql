{#
    Every landed record, checked against the contract and routed to exactly one
    place: `fact` (fct_api_calls), `quarantine` (dq_quarantine, with every
    reason) or `duplicate` (a later delivery of a request_id already seen).
    One issue column per input column; `reasons` joins them in a fixed order.

    Incremental by batch: a run checks only batches it has not seen, and a
    later delivery of a call_id counts the deliveries already stored. Batches
    that left the landing zone (a regenerated demo) are deleted first.
#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='batch_id',
    on_schema_change='append_new_columns',
    pre_hook="{{ api_trust.delete_batches_no_longer_landed() }}",
) }}
{%- set required = api_trust.required_log_columns() -%}
{%- set issue_columns = api_trust.validation_issue_columns() -%}
{%- set min_called_at = "cast('" ~ var('min_timestamp') ~ "' as timestamp)" -%}
{%- set max_called_at = api_trust.add_hours('loaded_at', var('future_tolerance_hours')) -%}

-- depends_on: {{ ref('stg_logs__load_batches') }}

with

api_calls as (
    select * from {{ ref('stg_logs__api_calls') }}
    {%- if is_incremental() %}
        where batch_id not in (select already_checked.batch_id from {{ this }} as already_checked)
    {%- endif %}
),

batch_columns as (
    select * from {{ ref('stg_logs__load_batch_columns') }}
),

value_aliases as (
    select * from {{ ref('value_aliases') }}
),

error_reasons as (
    select * from {{ ref('error_reasons') }}
),

api_catalogue as (
    select * from {{ ref('api_catalogue') }}
),

batch_shape as (
    -- which required columns each batch delivered, under any known name
    select
        batch_id,
        {{ api_trust.batch_has_required_columns() }}
    from batch_columns
    group by batch_id
),

normalised as (
    select
        api_calls.*,
        region_alias.canonical_value as region,
        client_type_alias.canonical_value as client_type,
        document_type_alias.canonical_value as document_type,
        status_alias.canonical_value as status,
        error_reasons.failure_class,
        api_catalogue.api_name is not null as is_known_api,
        {{ api_trust.has_required_column_flags('batch_shape') }}
    from api_calls
    left join batch_shape
        on api_calls.batch_id = batch_shape.batch_id
    left join value_aliases as region_alias
        on
            region_alias.dimension = 'region'
            and api_calls.region_key = region_alias.alias_key
    left join value_aliases as client_type_alias
        on
            client_type_alias.dimension = 'client_type'
            and api_calls.client_type_key = client_type_alias.alias_key
    left join value_aliases as document_type_alias
        on
            document_type_alias.dimension = 'document_type'
            and api_calls.document_type_key = document_type_alias.alias_key
    left join value_aliases as status_alias
        on
            status_alias.dimension = 'status'
            and api_calls.status_key = status_alias.alias_key
    left join error_reasons
        on api_calls.error_reason = error_reasons.error_reason
    left join api_catalogue
        on api_calls.api_name = api_catalogue.api_name
),

checked as (
    select
        *,
        case
            when not has_timestamp_column then 'missing_column_timestamp'
            when timestamp_raw is null then 'missing_timestamp'
            when called_at_local is null then 'unparseable_timestamp'
            -- a wall-clock time far outside the window was never converted (called_at null)
            when called_at is null and called_at_local < {{ min_called_at }} then 'timestamp_out_of_range'
            when called_at is null and called_at_local > {{ max_called_at }} then 'future_timestamp'
            when not is_time_zone_known then 'unknown_time_zone'
            when local_time_matches = 0 then 'nonexistent_local_time'
            when local_time_matches > 1 then 'ambiguous_local_time'
            when called_at is null then 'unparseable_timestamp'
            when called_at < {{ min_called_at }} then 'timestamp_out_of_range'
            when called_at > {{ max_called_at }} then 'future_timestamp'
        end as timestamp_issue,
        case
            when not has_api_name_column then 'missing_column_api_name'
            when api_name is null then 'missing_api_name'
            when not {{ api_trust.full_match('api_name', '[A-Z][A-Z0-9_]*') }} then 'invalid_api_name'
        end as api_name_issue,
        case
            when not has_api_version_column then 'missing_column_api_version'
            when api_version is null then 'missing_api_version'
            when not {{ api_trust.full_match('api_version', 'v[0-9]+(\.[0-9]+)*') }}
                then 'invalid_api_version'
        end as api_version_issue,
        {%- for dim in ['region', 'client_type', 'document_type', 'status'] %}
            case
                when not has_{{ dim }}_column then 'missing_column_{{ dim }}'
                when {{ dim }}_raw is null then 'missing_{{ dim }}'
                when {{ dim }} is null then 'unknown_{{ dim }}'
            end as {{ dim }}_issue,
        {%- endfor %}
        case
            when not has_status_code_column then 'missing_column_status_code'
            when status_code_raw is null then 'missing_status_code'
            -- three digits as written: 200.5, 2e2, 0x0C8, +200 and 0200 are refused, not coerced
            when status_code is null or not {{ api_trust.full_match('status_code_raw', '[1-5][0-9]{2}') }}
                then 'invalid_status_code'
        end as status_code_issue,
        case
            when not has_latency_ms_column then 'missing_column_latency_ms'
            when latency_ms_raw is null then 'missing_latency_ms'
            when latency_ms is null then 'invalid_latency_ms'
            when latency_ms <= 0 then 'nonpositive_latency_ms'
            when latency_ms > {{ var('max_latency_ms') }} then 'absurd_latency_ms'
        end as latency_ms_issue,
        case
            when not has_error_reason_column then 'missing_column_error_reason'
            when status = 'fail' and error_reason is null then 'missing_error_reason'
            when error_reason is not null and failure_class is null then 'unknown_error_reason'
            when status = 'success' and error_reason is not null then 'error_reason_on_success'
        end as error_reason_issue,
        case
            when attempt_no_raw is not null and (attempt_no is null or attempt_no < 1)
                then 'invalid_attempt_no'
        end as attempt_no_issue,
        case
            when status = 'success' and status_code not between 200 and 299 then 'status_code_mismatch'
            when status = 'fail' and status_code between 200 and 299 then 'status_code_mismatch'
        end as consistency_issue
    from normalised
),

reasoned as (
    select
        *,
        nullif(concat_ws(';', {{ issue_columns | join(', ') }}), '') as reasons,
        coalesce(request_id, batch_id || '#' || cast(source_record_no as varchar)) as call_id,
        request_id is null as is_request_id_derived
    from checked
),

{%- if is_incremental() %}

earlier_deliveries as (
    -- deliveries of the same call_ids stored by earlier runs
    select
        stored.call_id,
        count(*) as delivery_count
    from {{ this }} as stored
    where stored.call_id in (select reasoned.call_id from reasoned)
    group by stored.call_id
),
{%- endif %}

repeated_calls as (
    -- the few call_ids delivered more than once (here or in earlier runs): only
    -- these need ordering, which is far cheaper than a window over every row
    select reasoned.call_id
    from reasoned
    group by reasoned.call_id
    having count(*) > 1
    {%- if is_incremental() %}
        union
        select earlier_deliveries.call_id
        from earlier_deliveries
    {%- endif %}
),

redelivery_order as (
    select
        reasoned.batch_id,
        reasoned.source_record_no,
        reasoned.call_id,
        row_number() over (
            partition by reasoned.call_id
            order by reasoned.loaded_at, reasoned.batch_id, reasoned.source_record_no
        ) as delivery_no_in_run
    from reasoned
    inner join repeated_calls
        on reasoned.call_id = repeated_calls.call_id
),

redelivered as (
    select
        redelivery_order.batch_id,
        redelivery_order.source_record_no,
        {%- if is_incremental() %}
            redelivery_order.delivery_no_in_run
            + coalesce(earlier_deliveries.delivery_count, 0) as delivery_no
        from redelivery_order
        left join earlier_deliveries
            on redelivery_order.call_id = earlier_deliveries.call_id
        {%- else %}
            redelivery_order.delivery_no_in_run as delivery_no
        from redelivery_order
        {%- endif %}
),

sequenced as (
    select
        reasoned.*,
        coalesce(redelivered.delivery_no, 1) as delivery_no
    from reasoned
    left join redelivered
        on
            reasoned.batch_id = redelivered.batch_id
            and reasoned.source_record_no = redelivered.source_record_no
),

routed as (
    select
        *,
        case
            when delivery_no > 1 then 'duplicate'
            when reasons is not null then 'quarantine'
            else 'fact'
        end as route
    from sequenced
),

final as (
    select
        -- ids
        call_id,
        request_id,
        verification_id,
        client_id,
        batch_id,
        source_name,
        source_record_no,

        -- strings
        api_name,
        api_version,
        region,
        client_type,
        document_type,
        status,
        error_reason,
        failure_class,
        error_message,
        route,
        reasons,
        {{ issue_columns | join(',\n        ') }},
        timestamp_raw,
        api_name_raw,
        api_version_raw,
        region_raw,
        client_type_raw,
        document_type_raw,
        status_raw,
        status_code_raw,
        latency_ms_raw,
        error_reason_raw,
        timestamp_zone,

        -- numbers
        status_code,
        latency_ms,
        attempt_no,
        delivery_no,
        local_time_matches,

        -- booleans
        is_known_api,
        is_request_id_derived,
        has_pii_in_message,
        is_time_zone_known,

        -- timestamps
        called_at,
        called_at_local,
        loaded_at
    from routed
)

select * from final
