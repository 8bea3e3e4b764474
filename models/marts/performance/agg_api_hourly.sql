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
        count(*) as calls,
        count(case when not is_success then 1 end) as failures,
        count(case when failure_class = 'client_input' then 1 end) as client_input_failures,
        count(case when failure_class = 'fraud_decision' then 1 end) as fraud_decision_failures,
        count(case when failure_class = 'auth' then 1 end) as auth_failures,
        count(case when failure_class = 'server' then 1 end) as server_failures,
        count(case when failure_class = 'timeout' then 1 end) as timeout_failures,
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
