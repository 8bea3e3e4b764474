{%- set present = api_trust.relation_column_names(source('logs', 'api_calls')) -%}

with

source as (
    select * from {{ source('logs', 'api_calls') }}
),

delivered as (
    -- one trimmed text value per contract column; a column a batch sent under a
    -- known alias (e.g. `latency`) is read under its contract name
    select
        batch_id,
        source_name,
        source_record_no,
        loaded_at,
        {{ api_trust.delivered_text_columns(present) }}
    from source
),

renamed as (
    select
        -- ids
        request_id_raw as request_id,
        verification_id_raw as verification_id,
        client_id_raw as client_id,
        batch_id,
        source_name,
        source_record_no,

        -- strings, normalised for lookup; canonical values come from seeds downstream
        {{ api_trust.normalise_api_name('api_name_raw') }} as api_name,
        lower(api_version_raw) as api_version,
        {{ api_trust.normalise_key('region_raw') }} as region_key,
        {{ api_trust.normalise_key('client_type_raw') }} as client_type_key,
        {{ api_trust.normalise_key('document_type_raw') }} as document_type_key,
        {{ api_trust.normalise_key('status_raw') }} as status_key,
        lower(error_reason_raw) as error_reason,
        {{ api_trust.mask_pii('error_message_raw') }} as error_message,

        -- numbers
        {{ api_trust.safe_cast('status_code_raw', 'bigint') }} as status_code,
        {{ api_trust.safe_cast('latency_ms_raw', 'double') }} as latency_ms,
        {{ api_trust.safe_cast('attempt_no_raw', 'bigint') }} as attempt_no,

        -- booleans
        coalesce({{ api_trust.has_pii('error_message_raw') }} or {{ api_trust.has_pii_token('error_message_raw') }}, false)
            as has_pii_in_message,

        -- timestamps
        {{ api_trust.parse_timestamp_utc('timestamp_raw') }} as called_at,
        loaded_at,

        -- as delivered (trimmed), for quarantine and audit
        timestamp_raw,
        api_name_raw,
        api_version_raw,
        region_raw,
        client_type_raw,
        document_type_raw,
        attempt_no_raw,
        status_raw,
        status_code_raw,
        latency_ms_raw,
        error_reason_raw
    from delivered
)

select * from renamed
