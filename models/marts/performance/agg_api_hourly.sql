with

api_calls as (
    select * from {{ ref('fct_api_calls') }}
),

hourly_calls as (
    select
        {{ api_trust.truncate_to('hour', 'called_at') }} as called_hour_at,
        api_name,
        is_success,
        failure_class,
        latency_ms
    from api_calls
),

per_hour as (
    select
        called_hour_at,
        api_name,
        {{ api_trust.failure_counts_by_class() }},
        {{ api_trust.percentile('latency_ms', 0.95) }} as p95_latency_ms
    from hourly_calls
    group by
        called_hour_at,
        api_name
),

final as (
    select
        cast(called_hour_at as timestamp) as called_hour_at,
        api_name,
        cast(calls as bigint) as calls,
        cast(failures as bigint) as failures,
        cast(client_input_failures as bigint) as client_input_failures,
        cast(fraud_decision_failures as bigint) as fraud_decision_failures,
        cast(auth_failures as bigint) as auth_failures,
        cast(server_failures as bigint) as server_failures,
        cast(timeout_failures as bigint) as timeout_failures,
        cast(p95_latency_ms as double) as p95_latency_ms
    from per_hour
)

select * from final
