with

validated_calls as (
    select * from {{ ref('int_api_calls_validated') }}
),

quarantined as (
    select
        -- ids
        call_id as request_id,
        batch_id,
        source_record_no,

        -- strings
        source_name,
        reasons,
        {{ api_trust.first_reason('reasons') }} as primary_reason,
        {{ api_trust.mask_pii('timestamp_raw') }} as timestamp_raw,
        {{ api_trust.mask_pii('api_name_raw') }} as api_name_raw,
        {{ api_trust.mask_pii('api_version_raw') }} as api_version_raw,
        {{ api_trust.mask_pii('region_raw') }} as region_raw,
        {{ api_trust.mask_pii('client_type_raw') }} as client_type_raw,
        {{ api_trust.mask_pii('document_type_raw') }} as document_type_raw,
        {{ api_trust.mask_pii('status_raw') }} as status_raw,
        {{ api_trust.mask_pii('status_code_raw') }} as status_code_raw,
        {{ api_trust.mask_pii('latency_ms_raw') }} as latency_ms_raw,
        {{ api_trust.mask_pii('error_reason_raw') }} as error_reason_raw,

        -- numbers
        cast(
            length(reasons) - length(replace(reasons, ';', '')) + 1 as integer
        ) as reason_count,

        -- timestamps
        loaded_at
    from validated_calls
    where route = 'quarantine'
)

select * from quarantined
