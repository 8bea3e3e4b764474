{#
    A view over int_api_calls_validated's facts: nothing is copied. The
    validated table is incremental by batch (a new batch is checked once, a
    batch that left the landing zone is deleted), so the facts follow it.
    Storing them again cost a full write of every call (25 s of 35 columns at
    12M rows, `make profile MODEL=fct_api_calls`), and reading through the view
    costs its readers about 0.3 s each at that size.
#}
{{ config(materialized='view') }}

with

validated_calls as (
    select * from {{ ref('int_api_calls_validated') }}
    where route = 'fact'
),

apis as (
    select * from {{ ref('dim_apis') }}
),

facts as (
    select
        -- ids
        validated_calls.call_id as request_id,
        coalesce(validated_calls.verification_id, validated_calls.call_id) as verification_id,
        coalesce(validated_calls.client_id, 'unknown') as client_id,
        validated_calls.batch_id,
        validated_calls.source_record_no,

        -- strings
        validated_calls.api_name,
        validated_calls.api_version,
        coalesce(apis.api_family, 'UNKNOWN') as api_family,
        coalesce(apis.owner_team, '{{ var("default_owner_team") }}') as owner_team,
        validated_calls.region,
        validated_calls.client_type,
        validated_calls.document_type,
        validated_calls.status,
        validated_calls.error_reason,
        validated_calls.failure_class,
        validated_calls.error_message,
        validated_calls.http_method,
        validated_calls.http_route,
        validated_calls.service_name,
        validated_calls.span_kind,
        validated_calls.client_ip,
        validated_calls.user_agent_family,
        validated_calls.traffic_class,
        validated_calls.classified_by,

        -- numbers
        cast(validated_calls.status_code as integer) as status_code,
        cast(coalesce(validated_calls.attempt_no, 1) as integer) as attempt_no,
        cast(validated_calls.latency_ms as double) as latency_ms,
        cast(validated_calls.upstream_latency_ms as double) as upstream_latency_ms,
        -- calls one record stands for: a sample rate of N (>= 1) is "1 in N kept"
        -- (Honeycomb's SampleRate); one in (0, 1) is a keep probability p, so 1 / p;
        -- none, zero or negative: the log is not sampled
        cast(case
            when validated_calls.sample_rate >= 1 then validated_calls.sample_rate
            when validated_calls.sample_rate > 0 then 1.0 / validated_calls.sample_rate
            else 1
        end as double) as sample_weight,

        -- booleans
        validated_calls.status = 'success' as is_success,
        validated_calls.is_known_api,
        validated_calls.has_unlisted_value,
        validated_calls.traffic_class = 'api' as is_api_traffic,
        validated_calls.is_api_from_route,
        validated_calls.is_error_reason_derived,
        validated_calls.is_request_id_derived,
        validated_calls.has_pii_in_message as is_message_masked,

        -- delivered fields outside the contract, as landed (name -> value)
        validated_calls.extra_fields,

        -- timestamps
        validated_calls.called_at,
        validated_calls.loaded_at
    from validated_calls
    left join apis
        on validated_calls.api_name = apis.api_name
)

select * from facts
