with

api_calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
),

failed_calls as (
    select * from api_calls
    where not is_success
),

per_reason as (
    select
        api_name,
        error_reason,
        failure_class,
        {{ api_trust.weighted_count() }} as failures
    from failed_calls
    group by
        api_name,
        error_reason,
        failure_class
),

with_api_totals as (
    select
        api_name,
        error_reason,
        failure_class,
        failures,
        sum(failures) over (partition by api_name) as api_failures,
        -- row_number, not rank: ties go to the reason name so rank 1 is always one row
        row_number() over (
            partition by api_name
            order by failures desc, error_reason asc
        ) as reason_rank
    from per_reason
),

final as (
    select
        api_name,
        error_reason,
        failure_class,
        cast(failures as bigint) as failures,
        cast(api_failures as bigint) as api_failures,
        {{ api_trust.safe_rate('failures', 'api_failures') }} as share_of_api_failures,
        cast(reason_rank as integer) as reason_rank
    from with_api_totals
)

select * from final
