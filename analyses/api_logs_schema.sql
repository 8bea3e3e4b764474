-- The original design's `api_logs` table, as a view over the production dataset:
-- its ten columns plus request_id, with the types it promised. Run the compiled
-- SQL (target/compiled/api_trust/analyses/api_logs_schema.sql) wherever a tool
-- still expects `api_logs`; everything else in fct_api_calls is an addition.

with

api_calls as (
    select * from {{ ref('fct_api_calls') }}
),

api_logs as (
    select
        request_id,
        called_at as {{ adapter.quote('timestamp') }},
        api_name,
        api_version,
        region,
        client_type,
        document_type,
        status,
        status_code,
        latency_ms,
        error_reason
    from api_calls
)

select * from api_logs
